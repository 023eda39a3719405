"""Numerical core of the ``knnxkde`` imputer: donor weights, expectations and draws.

Everything here works in the min-max scaled space on plain float64 arrays; the adapter in
``knnxkde.py`` does the scaling, the pattern grouping and the mapping back to a table.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

# A block of receivers whose (block x donors) float64 matrices fit in about this many bytes:
# the half-dozen elementwise passes over the distance matrix then stay in cache.
_CACHE_BYTES = 1 << 21
# Bytes per (receiver, donor) pair in flight: the distance / weight matrix and the cumulative
# weights or the matrix-product temporaries made from it.
_BYTES_PER_PAIR = 24


@dataclass
class Pattern:
    """One missing pattern of the table being imputed and what it needs.

    ``rows``: receiver positions; ``miss`` / ``obs``: column indices missing / observed;
    ``x_obs``: the receivers' scaled observed values (rows x len(obs)).
    """

    rows: np.ndarray
    miss: np.ndarray
    obs: np.ndarray
    x_obs: np.ndarray


@dataclass
class Donors:
    """Fitted rows that observe every column of ``Pattern.miss``, prepared for the distance.

    ``b``: (2 * len(obs)) x n_donors right-hand side of the distance product; ``s``: per-donor
    constant of the squared distance; ``scale``: per-donor factor of the squared distance
    (``nan_eucl`` only, NaN where the donor shares no coordinate); ``values``: the donors'
    scaled values in the missing columns (n_donors x len(miss)).
    """

    b: np.ndarray
    s: np.ndarray
    scale: np.ndarray | None
    values: np.ndarray


def pack_rows(observed: np.ndarray) -> np.ndarray:
    """Each row's observed flags as bits: n x ceil(d / 64) ``uint64`` words."""
    n, d = observed.shape
    padded = np.zeros((n, -(-d // 64) * 64), dtype=bool)
    padded[:, :d] = observed
    return np.packbits(padded, axis=1, bitorder="little").view(np.uint64)


def donor_rows(bits: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Rows (of ``pack_rows``' table) that observe every column in ``miss``: a word test per row.

    One pass over n words per pattern instead of gathering n x len(miss) flags: with about as
    many patterns as rows this is the cost that grows with n^2.
    """
    want = np.zeros((1, bits.shape[1] * 64), dtype=bool)
    want[0, miss] = True
    want = np.packbits(want, axis=1, bitorder="little").view(np.uint64)[0]
    ok = None
    for w in np.flatnonzero(want):
        hit = (bits[:, w] & want[w]) == want[w]
        ok = hit if ok is None else ok & hit
    return np.arange(bits.shape[0]) if ok is None else np.flatnonzero(ok)


def prepare_donors(z: np.ndarray, observed: np.ndarray, sigma2: np.ndarray, pat: Pattern,
                   metric: str, donor_rows: np.ndarray) -> Donors | None:
    """Donors of ``pat`` among the fitted scaled rows ``z`` (NaN = missing); None if none.

    With ``x`` the receiver's observed values and ``y`` the donor's, the squared distance is
    ``sum_k obs_k * (x_k - y_k)**2 + const`` over the pattern's observed columns, where
    ``obs_k`` says the donor observes ``k``: expanded, ``x**2 @ obs - 2 x @ y0 + s`` (``y0``:
    the donor with NaN as 0). For ``nan_std_eucl`` (the reference's ``nan_std_euclidean_
    distances``) every coordinate missing on either side adds that column's variance, so
    ``s = sum y0**2 + sum_{donor misses k} sigma2_k + sum_{k in miss} sigma2_k``. For
    ``nan_eucl`` (scikit-learn's ``nan_euclidean_distances``) the sum over common coordinates is
    multiplied by ``d / n_common``.
    """
    if donor_rows.size == 0:
        return None
    zo = z[np.ix_(donor_rows, pat.obs)]
    obs = observed[np.ix_(donor_rows, pat.obs)]
    y0 = np.where(obs, zo, 0.0)
    b = np.concatenate([obs.T.astype(np.float64), -2.0 * y0.T], axis=0)
    s = np.einsum("ij,ij->i", y0, y0)
    scale = None
    if metric == "nan_std_eucl":
        s += (~obs).astype(np.float64) @ sigma2[pat.obs]
        s += sigma2[pat.miss].sum()
    else:
        n_common = obs.sum(axis=1).astype(np.float64)
        scale = np.full(donor_rows.size, np.nan)
        has = n_common > 0
        scale[has] = z.shape[1] / n_common[has]
    values = z[np.ix_(donor_rows, pat.miss)]
    return Donors(np.ascontiguousarray(b), s, scale, np.ascontiguousarray(values))


def weights(x_obs: np.ndarray, don: Donors, tau: float) -> np.ndarray:
    """Unnormalized donor weights ``exp(-(d - d_min) / tau)`` for a block of receivers.

    Equal, after normalization, to ``scipy.special.softmax(-d / tau, axis=1)`` as in the
    reference. A receiver with no donor at a finite distance gets an all-zero row.
    """
    a = np.concatenate([x_obs * x_obs, x_obs], axis=1)
    d = a @ don.b if a.shape[1] else np.zeros((x_obs.shape[0], don.s.size))
    d += don.s
    np.maximum(d, 0.0, out=d)
    if don.scale is not None:
        d *= don.scale  # NaN for donors sharing no coordinate
        np.nan_to_num(d, copy=False, nan=np.inf)
    np.sqrt(d, out=d)
    d_min = d.min(axis=1, keepdims=True)
    finite = np.isfinite(d_min[:, 0])
    d -= np.where(finite[:, None], d_min, 0.0)
    d *= -1.0 / tau
    np.exp(d, out=d)
    d[~finite] = 0.0
    return d


def expectation(w: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sum_j w_ij values_j / sum_j w_ij`` and the mask of receivers that had any weight."""
    tot = w.sum(axis=1)
    ok = tot > 0
    out = np.zeros((w.shape[0], values.shape[1]))
    out[ok] = (w[ok] @ values) / tot[ok, None]
    return out, ok


def pick_donors(w: np.ndarray, n_draws: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` donor indices per receiver, each donor with probability ``w_ij / sum_j``.

    Inverse-CDF sampling: sorted uniforms are looked up in the receiver's cumulative weights
    (sorted keys keep the binary searches in cache), then each row of picks is shuffled, which
    leaves ``n_draws`` independent draws in random order. The loop is over receivers, not cells
    or draws.
    """
    r, nd = w.shape
    cum = np.cumsum(w, axis=1)
    tot = cum[:, -1].copy()
    ok = tot > 0
    u = rng.random((r, n_draws))
    u.sort(axis=1)
    u *= tot[:, None]
    pos = np.empty((r, n_draws), dtype=np.intp)
    for i in range(r):
        pos[i] = np.searchsorted(cum[i], u[i], side="right")
    # u * tot can round up to tot: keep such a draw on the row's last donor with positive weight.
    last = nd - 1 - np.argmax(w[:, ::-1] > 0, axis=1)
    np.minimum(pos, last[:, None], out=pos)
    return rng.permuted(pos, axis=1), ok


def block_rows(n_donors: int, n_draws: int, n_miss: int, working_memory: float,
               n_threads: int) -> int:
    """Receivers per block: cache-sized, and within ``working_memory`` MB over all threads."""
    per_row = n_donors * _BYTES_PER_PAIR + n_draws * (8 * 3 + 16 * n_miss)
    budget = working_memory * 2**20 / max(n_threads, 1)
    cache = max(_CACHE_BYTES // max(n_donors * 8, 1), 8)
    return int(max(1, min(budget // per_row, cache)))


def n_threads() -> int:
    """Worker threads: as many as BLAS may use (so its limits apply), at most the usable CPUs."""
    from threadpoolctl import threadpool_info

    blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(min(blas) if blas else 1, cpus or 1))


def run_tasks(fn, tasks: list, threads: int) -> list:
    """``[fn(t) for t in tasks]``, on a thread pool when there is more than one task."""
    if threads <= 1 or len(tasks) <= 1:
        return [fn(t) for t in tasks]
    from threadpoolctl import threadpool_limits

    # Threads share the work; BLAS inside each stays single-threaded to avoid oversubscription.
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, tasks))
