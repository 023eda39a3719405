"""The latent picture of a trained ``vae``: encoded means of training rows over the prior's
density, in two dimensions, for the report's "Latent space" figures.

* **Plane.** With a 2-D latent the picture is the latent plane itself and the contours are the
  prior's exact density. With more dimensions the plane is spanned by the first two principal
  axes of the encoded means (centred on their mean); the prior's density there is the density
  of its projected samples, estimated by a Gaussian kernel density with Scott's bandwidth per
  axis (``n_prior`` samples). A 1-D latent gets no picture.
* **Extent.** The grid covers the 1st to 99th percentiles of both the means and the prior
  samples, widened by 15 % on each side.
* **Size.** At most ``n_points`` means (the first rows of the diagnostics' random subset), the
  grid ``grid`` x ``grid``; log densities are floored at 30 nats below their maximum so the
  record stays finite JSON.

Imports torch at module level: only the adapter's ``_fit`` imports it.
"""

from __future__ import annotations

import math

import torch

FLOOR = 30.0


def _kde_log_density(points: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
    """log of a Gaussian product-kernel density of ``samples`` (n, 2) at ``points`` (m, 2)."""
    n = samples.shape[0]
    h = samples.std(0).clamp(min=1e-6) * n ** (-1.0 / 6.0)      # Scott, d = 2
    out = []
    for s in range(0, points.shape[0], 256):
        r = (points[s:s + 256, None, :] - samples[None]) / h
        lk = -0.5 * (r * r).sum(-1) - torch.log(h).sum() - math.log(2 * math.pi)
        out.append(torch.logsumexp(lk, 1) - math.log(n))
    return torch.cat(out)


def latent_map(model, mu: torch.Tensor, generator, labels: torch.Tensor | None = None,
               n_points: int = 400, grid: int = 40, n_prior: int = 4000) -> dict | None:
    """The picture's data (see the module docstring) from encoded means ``mu`` (n, d) and,
    optionally, class codes per row (-1 = missing); ``None`` for a 1-D latent."""
    d = mu.shape[1]
    if d < 2 or mu.shape[0] == 0:
        return None
    mu = mu.float()
    zp = model.prior.sample(n_prior, generator=generator, encoder=model.encode).to(mu.device)
    zp = zp.float()
    if d == 2:
        axes, centre = torch.eye(2, device=mu.device), torch.zeros(2, device=mu.device)
        explained = 1.0
    else:
        centre = mu.mean(0)
        _, s, vh = torch.linalg.svd(mu - centre, full_matrices=False)
        axes = vh[:2].T
        explained = float((s[:2] ** 2).sum() / (s ** 2).sum().clamp(min=1e-12))
    pts, prior_pts = (mu - centre) @ axes, (zp - centre) @ axes
    both = torch.cat([pts, prior_pts])
    lo, hi = torch.quantile(both, 0.01, dim=0), torch.quantile(both, 0.99, dim=0)
    pad = 0.15 * (hi - lo).clamp(min=1e-3)
    gx = torch.linspace(float(lo[0] - pad[0]), float(hi[0] + pad[0]), grid, device=mu.device)
    gy = torch.linspace(float(lo[1] - pad[1]), float(hi[1] + pad[1]), grid, device=mu.device)
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    plane = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    if d == 2:
        logp = model.prior.log_prob(plane, encoder=model.encode).float()
    else:
        logp = _kde_log_density(plane, prior_pts)
    logp = torch.maximum(logp, logp.max() - FLOOR).reshape(grid, grid)
    keep = pts[:n_points]
    out = {"projection": "identity" if d == 2 else "pca", "explained": round(explained, 4),
           "points": [[round(float(a), 3), round(float(b), 3)] for a, b in keep.cpu()],
           "labels": None,
           "grid_x": [round(float(v), 4) for v in gx.cpu()],
           "grid_y": [round(float(v), 4) for v in gy.cpu()],
           "log_density": [[round(float(v), 2) for v in row] for row in logp.cpu()],
           "density": "exact" if d == 2 else "kde"}
    if labels is not None:
        out["labels"] = [int(v) for v in labels[:n_points].cpu()]
    return out
