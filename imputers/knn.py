"""k-nearest-neighbour imputation for mixed tables, numerically equal to scikit-learn's on
numeric data."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import NUMERIC
from imputebench.imputers._nan_distance import BLOCK as _BLOCK
from imputebench.imputers._nan_distance import Parts as _Parts
from imputebench.imputers._nan_distance import nan_distances as _nan_distances
from imputebench.imputers.base import Capabilities, Imputer, register_imputer

# Bytes per (receiver, fitted row) pair of a chunk: the distance matrix and the per-column
# copies (rows, donors, argpartition indices) made from it.
_BYTES_PER_PAIR = 32
# Below this many (receiver, fitted row) pairs one thread does everything, with BLAS as set.
_PARALLEL_PAIRS = 2_000_000


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

    With ``scale=None`` on an all-numeric table this computes what
    ``sklearn.impute.KNNImputer`` computes: the same distance formula evaluated in the same
    order of floating-point operations, the same donor ordering and the same ``argpartition``
    selection, hence the same neighbours even among tied distances on integer data. The output
    is bit for bit the same on integer-valued data, and on small tables (under two million
    receiver x fitted-row pairs, done in one chunk as scikit-learn does). Larger tables are
    done in blocks of rows spread over threads (as many as BLAS may use), where the BLAS
    products can round the last bit differently from scikit-learn's one large product; the
    dot-product expansion can amplify that for very close rows, so distance-weighted values
    may differ in the last few digits (about 1e-12 relative on scaled breast_cancer copies).
    ``scale="minmax"`` maps each numeric column to [0, 1] with the min and max of its observed
    cells (the kNNxKDE paper ran ``KNNImputer`` on such data). With ``scale="std"`` (or
    ``"minmax"``) it equals ``KNNImputer`` run on the scaled table and mapped back,
    to rounding. Weighted means are taken on the original values. ``weights="distance"`` uses
    1 / dist, and a donor at distance 0 takes all the weight, as in scikit-learn.

    Draws. ``sample`` draws each missing cell independently from its neighbours' values: one
    of the same donors that ``transform`` averages (or votes over), picked with probability
    proportional to its weight (``uniform``: 1 / k each; ``distance``: proportional to
    1 / dist), so the predictive distribution of a cell is the weighted empirical distribution
    of its donors' values, whose mean is the ``transform`` value of a numeric cell. A cell with
    no donor at a finite distance is drawn from all the column's observed (fitted) values.

    Parameters
    ----------
    n_neighbors : int
        Number of donors (``min(n_neighbors, donors available)``).
    weights : {"uniform", "distance"}
    scale : {"std", "minmax", None}
        Standardize numeric columns for the distance.
    cat_weight : float
        Contribution of one categorical mismatch to the squared distance.
    working_memory : int
        Megabytes for the chunks of receivers in flight (one a thread): their receiver x
        fitted-row distance matrices and the per-column copies taken from them, so memory
        stays bounded whatever the table size (a chunk holds at least 64 receivers).

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
    capabilities = Capabilities(categorical=True, stochastic=True)
    fast_params = {"n_neighbors": 3}

    def __init__(self, n_neighbors: int = 5, weights: str = "uniform", scale: str | None = "std",
                 cat_weight: float = 1.0, working_memory: int = 512) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.scale = scale
        self.cat_weight = cat_weight
        self.working_memory = working_memory

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        k = self.n_neighbors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ImputebenchError(f"knn: n_neighbors must be a positive integer, got "
                                   f"{self.n_neighbors!r}")
        if not isinstance(self.weights, str) or self.weights not in ("uniform", "distance"):
            raise ImputebenchError(f"knn: weights must be 'uniform' or 'distance', got "
                                   f"{self.weights!r}")
        if self.scale is not None and self.scale not in ("std", "minmax"):
            raise ImputebenchError(f"knn: scale must be 'std', 'minmax' or None, got "
                                   f"{self.scale!r}")
        if isinstance(self.cat_weight, bool) or not isinstance(
                self.cat_weight, (int, float, np.integer, np.floating)) \
                or not self.cat_weight >= 0 or not np.isfinite(self.cat_weight):
            raise ImputebenchError(f"knn: cat_weight must be a finite number >= 0, got "
                                   f"{self.cat_weight!r}")
        if isinstance(self.working_memory, bool) or not isinstance(
                self.working_memory, (int, float, np.integer, np.floating)) \
                or not self.working_memory > 0:
            raise ImputebenchError(f"knn: working_memory must be a positive number of "
                                   f"megabytes, got {self.working_memory!r}")

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        self.num_cols_ = [c for c, k in kinds.items() if k == NUMERIC]
        self.cat_cols_ = [c for c, k in kinds.items() if k != NUMERIC]
        num = X[self.num_cols_].to_numpy(dtype=np.float64, na_value=np.nan)
        if self.scale == "std" and num.size:
            mu = np.nanmean(num, axis=0)
            sd = np.nanstd(num, axis=0)
            sd = np.where(sd > 0, sd, 1.0)
        elif self.scale == "minmax" and num.size:
            mu = np.nanmin(num, axis=0)
            sd = np.nanmax(num, axis=0) - mu
            sd = np.where(sd > 0, sd, 1.0)
        else:
            mu, sd = np.zeros(num.shape[1]), np.ones(num.shape[1])
        self.center_, self.scale_ = mu, sd
        self.fit_raw_ = num
        self.fit_num_ = (num - mu) / sd if self.scale is not None else num
        self.fit_codes_ = _codes(X, self.cat_cols_)
        self.n_levels_ = [len(X[c].cat.categories) for c in self.cat_cols_]
        self.num_mean_ = np.array([_masked_mean(num[:, j]) for j in range(num.shape[1])])
        self.cat_mode_ = [int(np.argmax(np.bincount(self.fit_codes_[:, j][self.fit_codes_[:, j]
                                                                        >= 0], minlength=L)))
                          for j, L in enumerate(self.n_levels_)]
        self._fit_parts_ = _Parts.build(self.fit_num_, self.fit_codes_, self.n_levels_)

    # ------------------------------------------------------------------ impute
    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        num_raw, num, codes, miss, columns = self._prepare(X)
        out_num = num_raw.copy()
        out_codes = codes.astype(np.int64, copy=True)
        p = num.shape[1]

        def fill(d: np.ndarray, cells: np.ndarray, local: np.ndarray, j: int) -> None:
            value = self._column(d, local, columns[j])
            if j < p:
                out_num[cells, j] = value
            else:
                out_codes[cells, j - p] = value

        self._search(num, codes, miss, fill)
        return self._frame(X, out_num, out_codes)

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        num_raw, num, codes, miss, columns = self._prepare(X)
        p = num.shape[1]
        # Every uniform is drawn up front, column by column, so the draws depend on neither
        # chunking nor threads.
        miss_rows = [np.flatnonzero(miss[:, j]) for j in range(miss.shape[1])]
        uniforms = [rng.random((n_draws, r.size)) for r in miss_rows]
        out_num = np.repeat(num_raw[None], n_draws, axis=0)
        out_codes = np.repeat(codes.astype(np.int64)[None], n_draws, axis=0)

        def fill(d: np.ndarray, cells: np.ndarray, local: np.ndarray, j: int) -> None:
            u = uniforms[j][:, np.searchsorted(miss_rows[j], cells)]
            value = self._draw(d, local, columns[j], u)
            if j < p:
                out_num[:, cells, j] = value
            else:
                out_codes[:, cells, j - p] = value

        self._search(num, codes, miss, fill)
        return [self._frame(X, out_num[s], out_codes[s]) for s in range(n_draws)]

    def _prepare(self, X: pd.DataFrame):
        num_raw = X[self.num_cols_].to_numpy(dtype=np.float64, na_value=np.nan)
        num = (num_raw - self.center_) / self.scale_ if self.scale is not None else num_raw
        codes = _codes(X, self.cat_cols_)
        miss = np.concatenate([np.isnan(num_raw), codes < 0], axis=1)
        p = num.shape[1]
        columns = []
        for j in range(miss.shape[1]):
            fit_col = self.fit_raw_[:, j] if j < p else self.fit_codes_[:, j - p]
            donor_idx = np.flatnonzero(~np.isnan(fit_col) if j < p else fit_col >= 0)
            columns.append(_Column(donor_idx, fit_col[donor_idx],
                                   None if j < p else self.n_levels_[j - p],
                                   self.num_mean_[j] if j < p else self.cat_mode_[j - p]))
        return num_raw, num, codes, miss, columns

    def _search(self, num: np.ndarray, codes: np.ndarray, miss: np.ndarray, fill) -> None:
        """Distances from every receiver to the fitted rows, chunk by chunk; calls
        ``fill(dist, cells, local, j)`` for each column ``j`` with the chunk's receivers
        ``cells = rows[local]`` missing it (``local``: their rows in ``dist``)."""
        receivers = np.flatnonzero(miss.any(axis=1))
        n_fit = self.fit_num_.shape[0]

        # Small problems: each chunk's distances in one piece, BLAS threads as configured: the
        # very products scikit-learn computes (bit for bit when it also takes one chunk).
        # Large ones: fixed blocks of _BLOCK rows with single-threaded BLAS, chunks spread
        # over our own threads; the bits then depend on neither working_memory nor threads.
        big = len(receivers) * n_fit >= _PARALLEL_PAIRS
        n_threads = _n_threads() if big else 1
        chunk = int(self.working_memory * 2**20 / (_BYTES_PER_PAIR * n_fit * n_threads))
        chunk = max(_BLOCK, chunk // _BLOCK * _BLOCK)
        chunks = [receivers[s:s + chunk] for s in range(0, len(receivers), chunk)]

        def run(group: list[np.ndarray]) -> None:
            # Chunks hold disjoint receivers, so threads write disjoint cells of the outputs.
            dist = np.empty((max(len(r) for r in group), n_fit))
            for rows in group:
                d = _nan_distances(_Parts.build(num[rows], codes[rows], self.n_levels_),
                                   self._fit_parts_, self.cat_weight, out=dist[:len(rows)],
                                   block=_BLOCK if big else len(rows))
                for j in range(miss.shape[1]):
                    local = np.flatnonzero(miss[rows, j])
                    if local.size:
                        fill(d, rows[local], local, j)

        if not big:
            if chunks:
                run(chunks)
        else:
            from threadpoolctl import threadpool_limits

            n_threads = min(n_threads, len(chunks))
            with threadpool_limits(1, user_api="blas"):
                if n_threads == 1:
                    run(chunks)
                else:
                    with ThreadPoolExecutor(n_threads) as pool:
                        list(pool.map(run, [chunks[i::n_threads] for i in range(n_threads)]))

    def _frame(self, X: pd.DataFrame, out_num: np.ndarray, out_codes: np.ndarray
               ) -> pd.DataFrame:
        result = {}
        for j, col in enumerate(self.num_cols_):
            result[col] = out_num[:, j]
        for c, col in enumerate(self.cat_cols_):
            cats = X[col].cat.categories
            result[col] = pd.Categorical.from_codes(out_codes[:, c], categories=cats)
        return pd.DataFrame(result, index=X.index)[list(X.columns)]

    def _donors(self, dist: np.ndarray, local: np.ndarray, col: _Column):
        """``(has, values, weights)`` of the k nearest donors of the receivers ``local`` (row
        positions in ``dist``) that have one at a finite distance (``has``); None if none."""
        # Same array, row by row, as scikit-learn hands to argpartition: the receivers'
        # distances to this column's donors in donor order (tie picks depend on it).
        sub = dist if local.size == dist.shape[0] else dist.take(local, axis=0)
        if col.donor_idx.size != dist.shape[1]:
            sub = sub.take(col.donor_idx, axis=1)
        k = min(int(self.n_neighbors), col.donor_idx.size)
        nn = np.argpartition(sub, k - 1, axis=1)[:, :k]
        nd = np.take_along_axis(sub, nn, axis=1)
        # NaN sorts last, so a row whose k nearest are all NaN has no finite donor at all.
        has = ~np.isnan(nd).all(axis=1)
        if not has.any():
            return None
        if not has.all():
            nn, nd = nn[has], nd[has]
        return has, col.values[nn], _weights(nd, self.weights)

    def _column(self, dist: np.ndarray, local: np.ndarray, col: _Column) -> np.ndarray:
        """Impute one column for the receivers ``local`` (row positions in ``dist``)."""
        numeric = col.n_levels is None
        out = np.full(local.size, col.fallback, dtype=np.float64 if numeric else np.int64)
        found = self._donors(dist, local, col)
        if found is None:
            return out
        has, vals, w = found
        if numeric:
            out[has] = (w * vals).sum(axis=1) / w.sum(axis=1)
        else:
            votes = np.zeros((vals.shape[0], col.n_levels))
            r = np.arange(vals.shape[0])
            for t in range(vals.shape[1]):
                votes[r, vals[:, t]] += w[:, t]
            out[has] = votes.argmax(axis=1)
        return out

    def _draw(self, dist: np.ndarray, local: np.ndarray, col: _Column, u: np.ndarray
              ) -> np.ndarray:
        """Draws (one row per draw) for the receivers ``local``, from the uniforms ``u``: a
        donor picked with probability proportional to its weight (inverse CDF), or, with no
        finite donor, any observed value of the column with equal probability."""
        n = col.values.size
        out = col.values[np.minimum((u * n).astype(np.int64), n - 1)]
        found = self._donors(dist, local, col)
        if found is not None:
            has, vals, w = found
            cdf = np.cumsum(w, axis=1)
            cdf /= cdf[:, -1:]
            uh = u[:, has]
            pick = np.zeros(uh.shape, dtype=np.int64)
            for t in range(vals.shape[1] - 1):
                pick += uh >= cdf[:, t]
            out[:, has] = np.take_along_axis(vals, pick.T, axis=1).T
        return out


class _Column:
    """Donors of one column: their row indices, their values, the level count, the fallback."""

    __slots__ = ("donor_idx", "values", "n_levels", "fallback")

    def __init__(self, donor_idx, values, n_levels, fallback):
        self.donor_idx, self.values = donor_idx, values
        self.n_levels, self.fallback = n_levels, fallback


def _n_threads() -> int:
    """Threads for the chunk loop: as many as BLAS may use (so ``threadpoolctl`` limits and
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` apply here too), at most the usable CPUs."""
    from threadpoolctl import threadpool_info

    blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(min(blas) if blas else 1, cpus or 1))


def _codes(X: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if not cols:
        return np.zeros((len(X), 0), dtype=np.int64)
    return np.column_stack([X[c].cat.codes.to_numpy().astype(np.int64) for c in cols])


def _masked_mean(col: np.ndarray) -> float:
    """Mean of the observed cells, summed as ``np.ma`` does in scikit-learn's fallback (a
    pairwise sum over the zero-filled 1-D column), so the two agree to the last bit."""
    obs = ~np.isnan(col)
    filled = np.where(obs, col, 0.0)
    return float(filled.sum() * 1.0 / obs.sum())


def _weights(d: np.ndarray, kind: str) -> np.ndarray:
    if kind == "uniform":
        return np.where(np.isnan(d), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        w = 1.0 / d
    zero = d == 0
    rows_with_zero = zero.any(axis=1)
    w[rows_with_zero] = zero[rows_with_zero].astype(np.float64)
    return np.where(np.isnan(w), 0.0, w)
