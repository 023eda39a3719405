"""The torch path of ``knnxkde``: the same weights, expectations and draws as
``_knnxkde_core``, as batched tensor operations on a device (a GPU in practice).

Donors are prepared on the host by ``_knnxkde_core.prepare_donors`` and moved once per pattern;
each block of receivers is then a handful of kernels with no host synchronisation until its
result is copied back. Arithmetic is float64, as on the numpy path, so ``transform`` agrees with
it to rounding. Draws use inverse-CDF sampling (``torch.searchsorted`` over each receiver's
cumulative weights) with a ``torch.Generator`` seeded from the caller's numpy Generator: the same
law as the numpy path, a different random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imputebench.imputers import _knnxkde_core as core
from imputebench.imputers._torch import import_torch


@dataclass
class DeviceDonors:
    b: object
    s: object
    scale: object
    values: object


def to_device(don: core.Donors, device: str) -> DeviceDonors:
    torch = import_torch("knnxkde")

    def t(a):
        return None if a is None else torch.as_tensor(a, dtype=torch.float64, device=device)

    return DeviceDonors(t(don.b), t(don.s), t(don.scale), t(don.values))


def weights(x_obs: np.ndarray, don: DeviceDonors, tau: float):
    """Unnormalized weights ``exp(-(d - d_min) / tau)`` (receivers x donors), as
    ``_knnxkde_core.weights``; a receiver with no donor at a finite distance gets zeros."""
    torch = import_torch("knnxkde")
    x = torch.as_tensor(x_obs, dtype=torch.float64, device=don.s.device)
    if x.shape[1]:
        d = torch.addmm(don.s.unsqueeze(0), torch.cat([x * x, x], dim=1), don.b)
    else:
        d = don.s.unsqueeze(0).expand(x.shape[0], -1).clone()
    d.clamp_(min=0.0)
    if don.scale is not None:
        d.mul_(don.scale)
        d.nan_to_num_(nan=float("inf"))
    d.sqrt_()
    d_min = d.min(dim=1, keepdim=True).values
    finite = torch.isfinite(d_min)
    d.sub_(torch.where(finite, d_min, torch.zeros_like(d_min))).mul_(-1.0 / tau).exp_()
    return d.mul_(finite)


def expectation(w, values) -> tuple[np.ndarray, np.ndarray]:
    """``sum_j w_ij values_j / sum_j w_ij`` and the receivers with any weight, on the host."""
    tot = w.sum(dim=1, keepdim=True)
    ok = tot[:, 0] > 0
    out = (w @ values) / tot.clamp(min=1e-300)
    return out.cpu().numpy(), ok.cpu().numpy()


def draws(w, values, n_draws: int, h: float, g) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` draws per receiver (receivers x draws x missing columns) and the mask of
    receivers with any weight: a donor picked with probability ``w_ij / sum_j w_ij`` plus
    ``N(0, h**2)`` noise."""
    torch = import_torch("knnxkde")
    cum = torch.cumsum(w, dim=1)
    tot = cum[:, -1:]
    ok = tot[:, 0] > 0
    u = torch.rand((w.shape[0], n_draws), generator=g, device=w.device, dtype=torch.float64)
    pos = torch.searchsorted(cum, u * tot, right=True)
    # u * tot can round up to tot: keep such a draw on the row's last donor with positive weight.
    nd = w.shape[1]
    last = nd - 1 - torch.argmax((w.flip(1) > 0).to(torch.int8), dim=1, keepdim=True)
    pos = torch.minimum(pos, last)
    vals = values[pos]
    if h:
        vals.add_(torch.randn(vals.shape, generator=g, device=w.device,
                              dtype=torch.float64), alpha=h)
    return vals.cpu().numpy(), ok.cpu().numpy()


def block_rows(n_donors: int, n_draws: int, n_miss: int, working_memory: float) -> int:
    """Receivers per block on the device: within ``working_memory`` MB (no cache cap: a GPU
    wants large blocks to stay busy)."""
    per_row = n_donors * core._BYTES_PER_PAIR + n_draws * (8 * 3 + 16 * n_miss)
    return int(max(1, working_memory * 2**20 // per_row))
