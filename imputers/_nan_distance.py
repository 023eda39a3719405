"""The nan-Euclidean distance kernel of the ``knn`` imputer (private core).

The same formula as scikit-learn's ``nan_euclidean_distances`` (squared Euclidean distance by the
dot-product expansion, corrected for missing coordinates, rescaled by d / m), evaluated block by
block with preallocated buffers, plus a mismatch term for categorical columns.
"""

from __future__ import annotations

import numpy as np

# Receiver rows per distance block on large tables: a block's dozen elementwise passes then
# stay in cache instead of streaming the whole chunk through memory once per pass. Chunks are
# multiples of it, so every row meets the same BLAS kernel whatever the chunk size.
BLOCK = 64


class Parts:
    """Pieces of the nan-Euclidean distance for one block of rows."""

    __slots__ = ("x0", "xx", "sq", "miss", "bits", "present", "onehot", "cat_present",
                 "n_coords")

    @classmethod
    def build(cls, num: np.ndarray, codes: np.ndarray, n_levels: list[int]) -> Parts:
        self = cls()
        miss = np.isnan(num)
        self.x0 = np.where(miss, 0.0, num)
        self.xx = self.x0 * self.x0
        self.sq = np.einsum("ij,ij->i", self.x0, self.x0)
        self.miss = miss.astype(np.float64)
        present = np.concatenate([~miss, codes >= 0], axis=1)
        self.n_coords = present.shape[1]
        self.bits = self.present = None
        if self.n_coords <= 64 and hasattr(np, "bitwise_count"):
            # Presence as a bit field: the common-coordinate count is a popcount of an AND,
            # far cheaper than a (rows x d) @ (d x rows) product with tiny d.
            weights = np.left_shift(np.uint64(1), np.arange(self.n_coords, dtype=np.uint64))
            self.bits = np.bitwise_or.reduce(np.where(present, weights, np.uint64(0)), axis=1,
                                             initial=np.uint64(0))
        else:
            self.present = present.astype(np.float64)
        if codes.shape[1]:
            offsets = np.concatenate([[0], np.cumsum(n_levels)[:-1]]).astype(np.int64)
            onehot = np.zeros((codes.shape[0], int(sum(n_levels))))
            rows, cols = np.nonzero(codes >= 0)
            onehot[rows, offsets[cols] + codes[rows, cols]] = 1.0
            self.onehot = onehot
            self.cat_present = (codes >= 0).astype(np.float64)
        else:
            self.onehot = self.cat_present = None
        return self


def nan_distances(a: Parts, b: Parts, cat_weight: float, out: np.ndarray | None = None,
                   block: int = BLOCK) -> np.ndarray:
    """Pairwise nan-aware distances from the rows of ``a`` to those of ``b``.

    Computed as scikit-learn's ``nan_euclidean_distances``, operation for operation: squared
    Euclidean by the dot-product expansion, clipped at 0, corrected for the coordinates missing
    on either side, clipped again, divided by the common-coordinate count and multiplied by the
    number of coordinates. Works through blocks of ``block`` rows of ``a`` into ``out``.
    """
    n_a, n_b = a.x0.shape[0], b.x0.shape[0]
    if out is None:
        out = np.empty((n_a, n_b))
    block = max(1, min(block, n_a))
    tmp = np.empty((block, n_b))
    count = np.empty((block, n_b))
    if b.bits is not None:
        anded = np.empty((block, n_b), dtype=np.uint64)
        small = np.empty((block, n_b), dtype=np.uint8)
    for s in range(0, n_a, block):
        e = min(s + block, n_a)
        m = e - s
        d2, t, c = out[s:e], tmp[:m], count[:m]
        np.matmul(a.x0[s:e], b.x0.T, out=d2)
        d2 *= -2.0
        d2 += a.sq[s:e, None]
        d2 += b.sq[None, :]
        np.maximum(d2, 0, out=d2)
        np.matmul(a.xx[s:e], b.miss.T, out=t)
        d2 -= t
        np.matmul(a.miss[s:e], b.xx.T, out=t)
        d2 -= t
        np.clip(d2, 0, None, out=d2)
        if a.onehot is not None:
            np.matmul(a.cat_present[s:e], b.cat_present.T, out=t)
            t -= a.onehot[s:e] @ b.onehot.T
            t *= cat_weight
            d2 += t
        if b.bits is not None:
            np.bitwise_and(a.bits[s:e, None], b.bits[None, :], out=anded[:m])
            np.bitwise_count(anded[:m], out=small[:m])
            d2[small[:m] == 0] = np.nan
            np.copyto(c, small[:m])
        else:
            np.matmul(a.present[s:e], b.present.T, out=c)
            d2[c == 0] = np.nan
        # scikit-learn divides by max(count, 1); where the count is 0, d2 is already NaN and
        # NaN / 0 is NaN (quietly), so the max is not needed.
        with np.errstate(divide="ignore", invalid="ignore"):
            d2 /= c
        d2 *= a.n_coords
        np.sqrt(d2, out=d2)
    return out
