"""k-nearest-neighbour imputation for mixed tables, numerically equal to scikit-learn's on
numeric data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import NUMERIC
from imputebench.imputers.base import Capabilities, Imputer, register_imputer


@register_imputer
class KNNImputer(Imputer):
    """kNN imputation with a nan-aware distance over numeric and categorical columns.

    For a row missing column ``j``, the donors are the fitted rows that observe ``j``; the
    ``n_neighbors`` nearest donors give a weighted mean (numeric) or a weighted vote
    (categorical, ties to the first level in category order).

    Distance. Numeric columns are z-scored with the mean and standard deviation of their
    observed cells (``scale="std"``; a constant column gets scale 1) or used raw
    (``scale=None``); a categorical column contributes ``cat_weight`` when the two levels differ
    and 0 when they agree. Over the ``m`` coordinates both rows observe, of ``d`` in all,
    ``dist = sqrt(d / m * sum of contributions)``: the nan-Euclidean distance of Dixon (1979)
    that scikit-learn's ``KNNImputer`` uses, extended by the mismatch (Hamming) term. Rows with
    no common coordinate are at distance NaN and never donate; a receiver with no donor at a
    finite distance takes the column's observed mean or mode (as scikit-learn does).

    With ``scale=None`` on an all-numeric table this computes exactly what
    ``sklearn.impute.KNNImputer`` computes (same distance formula, same donor ordering, same
    ``argpartition`` selection, hence the same neighbours even among tied distances on integer
    data); with ``scale="std"`` it equals ``KNNImputer`` run on the z-scored table and mapped
    back. Weighted means are taken on the original values. ``weights="distance"`` uses 1 / dist,
    and a donor at distance 0 takes all the weight, as in scikit-learn.

    Parameters
    ----------
    n_neighbors : int
        Number of donors (``min(n_neighbors, donors available)``).
    weights : {"uniform", "distance"}
    scale : {"std", None}
        Standardize numeric columns for the distance.
    cat_weight : float
        Contribution of one categorical mismatch to the squared distance.
    working_memory : int
        Megabytes for one chunk of the receiver x donor distance matrix (memory stays bounded).

    References
    ----------
    Troyanskaya, O. et al. (2001). Missing value estimation methods for DNA microarrays.
    Bioinformatics 17(6), 520-525. Dixon, J. K. (1979). Pattern recognition with partly missing
    data. IEEE Trans. SMC 9(10), 617-621.

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("penguins")
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> KNNImputer(n_neighbors=5).fit(hidden).transform(hidden).isna().any().any()
    np.False_
    """

    name = "knn"
    capabilities = Capabilities(categorical=True, stochastic=False)
    fast_params = {"n_neighbors": 3}

    def __init__(self, n_neighbors: int = 5, weights: str = "uniform", scale: str | None = "std",
                 cat_weight: float = 1.0, working_memory: int = 512) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.scale = scale
        self.cat_weight = cat_weight
        self.working_memory = working_memory

    # ------------------------------------------------------------------ fit
    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        if isinstance(self.n_neighbors, bool) or not isinstance(self.n_neighbors, (int, np.integer)) \
                or self.n_neighbors < 1:
            raise ImputebenchError(f"knn: n_neighbors must be a positive integer, got "
                                   f"{self.n_neighbors!r}")
        if self.weights not in ("uniform", "distance"):
            raise ImputebenchError(f"knn: weights must be 'uniform' or 'distance', got "
                                   f"{self.weights!r}")
        if self.scale not in ("std", None):
            raise ImputebenchError(f"knn: scale must be 'std' or None, got {self.scale!r}")
        if not self.cat_weight >= 0:
            raise ImputebenchError(f"knn: cat_weight must be >= 0, got {self.cat_weight!r}")
        self.num_cols_ = [c for c, k in kinds.items() if k == NUMERIC]
        self.cat_cols_ = [c for c, k in kinds.items() if k != NUMERIC]
        num = X[self.num_cols_].to_numpy(dtype=np.float64, na_value=np.nan)
        if self.scale == "std" and num.size:
            mu = np.nanmean(num, axis=0)
            sd = np.nanstd(num, axis=0)
            sd = np.where(sd > 0, sd, 1.0)
        else:
            mu, sd = np.zeros(num.shape[1]), np.ones(num.shape[1])
        self.center_, self.scale_ = mu, sd
        self.fit_raw_ = num
        self.fit_num_ = (num - mu) / sd if self.scale == "std" else num
        self.fit_codes_ = np.column_stack(
            [X[c].cat.codes.to_numpy() for c in self.cat_cols_]
        ) if self.cat_cols_ else np.zeros((len(X), 0), dtype=np.int8)
        self.n_levels_ = [len(X[c].cat.categories) for c in self.cat_cols_]
        self.num_mean_ = np.nanmean(num, axis=0) if num.size else np.zeros(0)
        self.cat_mode_ = [int(np.argmax(np.bincount(self.fit_codes_[:, j][self.fit_codes_[:, j]
                                                                        >= 0], minlength=L)))
                          for j, L in enumerate(self.n_levels_)]
        self._fit_parts_ = _Parts.build(self.fit_num_, self.fit_codes_, self.n_levels_)

    # ------------------------------------------------------------------ impute
    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        num_raw = X[self.num_cols_].to_numpy(dtype=np.float64, na_value=np.nan)
        num = (num_raw - self.center_) / self.scale_ if self.scale == "std" else num_raw
        codes = np.column_stack([X[c].cat.codes.to_numpy() for c in self.cat_cols_]) \
            if self.cat_cols_ else np.zeros((len(X), 0), dtype=np.int8)
        out_num = num_raw.copy()
        out_codes = codes.astype(np.int64, copy=True)
        miss = np.concatenate([np.isnan(num_raw), codes < 0], axis=1)
        receivers = np.flatnonzero(miss.any(axis=1))
        n_fit = self.fit_num_.shape[0]
        chunk = max(1, int(self.working_memory * 2**20 // (8 * 3 * max(n_fit, 1))))
        donors = [np.flatnonzero(~np.isnan(self.fit_num_[:, j])) for j in range(num.shape[1])]
        donors += [np.flatnonzero(self.fit_codes_[:, j] >= 0) for j in range(codes.shape[1])]
        p = num.shape[1]
        for start in range(0, len(receivers), chunk):
            rows = receivers[start:start + chunk]
            dist = _nan_distances(_Parts.build(num[rows], codes[rows], self.n_levels_),
                                  self._fit_parts_, self.cat_weight)
            for j in range(miss.shape[1]):
                local = np.flatnonzero(miss[rows, j])
                if local.size == 0:
                    continue
                if j < p:
                    out_num[rows[local], j] = self._column(dist, local, donors[j],
                                                           self.fit_raw_[:, j], None,
                                                           self.num_mean_[j])
                else:
                    c = j - p
                    out_codes[rows[local], c] = self._column(
                        dist, local, donors[j], self.fit_codes_[:, c], self.n_levels_[c],
                        self.cat_mode_[c])
        result = {}
        for j, col in enumerate(self.num_cols_):
            result[col] = out_num[:, j]
        for c, col in enumerate(self.cat_cols_):
            cats = X[col].cat.categories
            result[col] = pd.Categorical.from_codes(out_codes[:, c], categories=cats)
        return pd.DataFrame(result, index=X.index)[list(X.columns)]

    def _column(self, dist, local, donor_idx, fit_values, n_levels, fallback):
        """Impute one column for the receivers ``local`` of a chunk."""
        out = np.full(local.size, fallback, dtype=np.float64 if n_levels is None else np.int64)
        if donor_idx.size == 0:
            return out
        sub = dist[np.ix_(local, donor_idx)]
        has = ~np.isnan(sub).all(axis=1)
        if not has.any():
            return out
        sub = sub[has] if not has.all() else sub
        k = min(int(self.n_neighbors), donor_idx.size)
        nn = np.argpartition(sub, k - 1, axis=1)[:, :k]
        nd = np.take_along_axis(sub, nn, axis=1)
        w = _weights(nd, self.weights)
        vals = fit_values[donor_idx][nn]
        if n_levels is None:
            out[has] = (w * vals).sum(axis=1) / w.sum(axis=1)
        else:
            votes = np.zeros((vals.shape[0], n_levels))
            np.add.at(votes, (np.repeat(np.arange(vals.shape[0]), k), vals.ravel()), w.ravel())
            out[has] = votes.argmax(axis=1)
        return out


def _weights(d: np.ndarray, kind: str) -> np.ndarray:
    if kind == "uniform":
        return np.where(np.isnan(d), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        w = 1.0 / d
    zero = d == 0
    rows_with_zero = zero.any(axis=1)
    w[rows_with_zero] = zero[rows_with_zero].astype(np.float64)
    return np.where(np.isnan(w), 0.0, w)


class _Parts:
    """Pieces of the nan-Euclidean distance for one block of rows."""

    __slots__ = ("x0", "xx", "miss", "present", "onehot", "cat_present", "n_coords")

    @classmethod
    def build(cls, num: np.ndarray, codes: np.ndarray, n_levels: list[int]) -> _Parts:
        self = cls()
        miss = np.isnan(num)
        self.x0 = np.where(miss, 0.0, num)
        self.xx = self.x0 * self.x0
        self.miss = miss.astype(np.float64)
        self.present = 1.0 - self.miss
        if codes.shape[1]:
            offsets = np.concatenate([[0], np.cumsum(n_levels)[:-1]])
            onehot = np.zeros((codes.shape[0], int(sum(n_levels))))
            rows, cols = np.nonzero(codes >= 0)
            onehot[rows, offsets[cols] + codes[rows, cols]] = 1.0
            self.onehot = onehot
            self.cat_present = (codes >= 0).astype(np.float64)
        else:
            self.onehot = self.cat_present = None
        self.n_coords = num.shape[1] + codes.shape[1]
        return self


def _nan_distances(a: _Parts, b: _Parts, cat_weight: float) -> np.ndarray:
    """Pairwise nan-aware distances, computed as scikit-learn's ``nan_euclidean_distances``
    (squared Euclidean by the dot-product expansion, corrected for missing coordinates)."""
    d2 = -2.0 * (a.x0 @ b.x0.T)
    d2 += np.einsum("ij,ij->i", a.x0, a.x0)[:, None]
    d2 += np.einsum("ij,ij->i", b.x0, b.x0)[None, :]
    np.maximum(d2, 0, out=d2)
    d2 -= a.xx @ b.miss.T
    d2 -= a.miss @ b.xx.T
    np.clip(d2, 0, None, out=d2)
    count = a.present @ b.present.T
    if a.onehot is not None:
        common = a.cat_present @ b.cat_present.T
        d2 += cat_weight * (common - a.onehot @ b.onehot.T)
        count += common
    d2[count == 0] = np.nan
    np.maximum(count, 1, out=count)
    d2 /= count
    d2 *= a.n_coords
    return np.sqrt(d2, out=d2)
