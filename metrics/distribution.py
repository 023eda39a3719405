"""Distribution metrics: do the imputed values keep the data's distribution? (DESIGN.md §5)

``wasserstein`` and ``total_variation`` compare, column by column, the imputed values at the
hidden cells with the true hidden values as two samples (not cell by cell: a permutation of
the true values scores perfectly). ``corr_diff`` compares the pairwise associations of the
rows that had hidden cells, true against imputed (a table-level metric, see metrics/tables.py).
All three average over the draws of an imputer that samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.datasets.schema import column_kinds
from imputebench.metrics.base import ALL, Goal, Metric, hidden_draws, register_metric
from imputebench.metrics.rmse import _minmax
from imputebench.metrics.tables import TableMetric


def _as_draws(imputed) -> list[pd.DataFrame]:
    draws = [imputed] if isinstance(imputed, pd.DataFrame) else list(imputed)
    if not draws:
        raise ValueError("no draws to score")
    return draws


def _mean_over_columns(out: dict[str, float]) -> dict[str, float]:
    if out:
        out[ALL] = float(np.mean(list(out.values())))
    return out


@register_metric
class Wasserstein(Metric):
    """Wasserstein-1 distance between imputed and true hidden values, per numeric column.

    For each numeric column with hidden cells (cells missing in the source are never scored),
    the hidden cells' true values and one draw's imputed values at the same cells are two
    empirical distributions of ``n`` points each; their distance is
    ``W1 = integral |F_imp(x) - F_true(x)| dx``, which for two samples of equal size is
    ``mean |sort(imp) - sort(true)|``, computed so (equal to
    ``scipy.stats.wasserstein_distance``, as the tests check). Values are first min-max
    scaled by the range of the column's *observed* cells (``rmse_minmax``'s scaling; a constant
    column, or one with no observed cell, gets scale 1), so ``W1`` is in units of that range.
    With several draws the column's value is the mean of ``W1`` over the draws (each draw
    compared with the truth on its own, not the draws pooled); one table counts as one draw.
    ``__all__`` is the unweighted mean over columns (not pooled over cells). 0 is perfect, and
    any reordering of the true values among the hidden cells also scores 0: this scores the
    marginal distribution, not the cells; read it beside ``rmse_minmax``. Normalized as
    ``1 / (1 + w1)``.

    References
    ----------
    Villani, C. (2009). Optimal Transport: Old and New. Springer (W1 between distributions).
    Muzellec, B., Josse, J., Boyer, C., Cuturi, M. (2020). Missing data imputation using
    optimal transport. ICML (the optimal-transport view of imputation).

    Examples
    --------
    >>> get_metric("wasserstein").compute(truth, [draw_1, draw_2], mask)["__all__"]
    """

    name = "wasserstein"
    goal = Goal.MINIMIZE
    min_value = 0.0
    uses = "draws"
    level = "cell"
    kinds = frozenset({"numeric"})
    definition = ("mean over numeric columns of the Wasserstein-1 distance between the imputed "
                  "and the true values of the column's hidden cells, min-max scaled by the range "
                  "of its observed cells; mean over draws")
    reference = "Villani 2009 (optimal transport); Muzellec et al. 2020 (OT for imputation)"

    def compute(self, truth: pd.DataFrame, imputed, mask: np.ndarray) -> dict[str, float]:
        out = {}
        for col, t, d, obs in hidden_draws(truth, imputed, np.asarray(mask, dtype=bool)):
            _, scale = _minmax(obs)
            # Equal-size samples: W1 is the mean gap of the sorted values, exactly what
            # scipy.stats.wasserstein_distance returns, vectorized over draws (10x faster).
            gaps = np.abs(np.sort(d, axis=1) - np.sort(t)[None, :]) / scale
            out[col] = float(gaps.mean(axis=1).mean())
        return _mean_over_columns(out)


def _level_codes(imputed: pd.Series, levels: pd.Index) -> np.ndarray:
    """Codes of ``imputed`` in the truth's ``levels``, by value; -1 for a value outside them."""
    if isinstance(imputed.dtype, pd.CategoricalDtype) and imputed.cat.categories.equals(levels):
        return imputed.cat.codes.to_numpy()
    return levels.get_indexer(np.asarray(imputed, dtype=object))


@register_metric
class TotalVariation(Metric):
    """Total variation distance between the imputed and the true category frequencies.

    For each categorical or ordinal column with hidden cells (cells missing in the source are
    never scored; the order of ordinal levels is ignored), ``p`` and ``q`` are the shares of
    each level among the imputed and among the true values of those cells, and
    ``TV = 1/2 sum over levels |p - q|``, in [0, 1]. An imputed value outside the truth's levels
    (or NaN) counts as one extra level that the truth never has. This equals
    ``1 - TVComplement`` of sdmetrics (Synthetic Data Vault) applied to the hidden cells; it is
    computed here to avoid the dependency. With several draws the column's value is the mean of
    ``TV`` over the draws; one table counts as one draw. ``__all__`` is the unweighted mean over
    columns. 0 is perfect (any reordering of the true levels among the hidden cells also scores
    0: this scores frequencies, not cells; read it beside ``accuracy``); normalized linearly on
    [0, 1]. Returns nothing when no categorical column has a hidden cell.

    References
    ----------
    Levin, D. A., Peres, Y., Wilmer, E. L. (2017). Markov Chains and Mixing Times, 2nd ed.,
    AMS, section 4.1 (total variation distance).
    DataCebo (2023). SDMetrics: TVComplement (its score is ``1 - TV``).

    Examples
    --------
    >>> get_metric("total_variation").compute(truth, imputed, mask)["__all__"]
    """

    name = "total_variation"
    goal = Goal.MINIMIZE
    min_value = 0.0
    max_value = 1.0
    uses = "draws"
    level = "cell"
    kinds = frozenset({"categorical", "ordinal"})
    definition = ("mean over categorical columns of 1/2 sum over levels |p - q|, p and q the "
                  "level shares of the imputed and the true values of the column's hidden "
                  "cells; mean over draws (= 1 - sdmetrics' TVComplement on the hidden cells)")
    reference = "total variation distance (Levin, Peres & Wilmer 2017); sdmetrics TVComplement"

    def compute(self, truth: pd.DataFrame, imputed, mask: np.ndarray) -> dict[str, float]:
        draws = _as_draws(imputed)
        mask = np.asarray(mask, dtype=bool)
        out = {}
        for j, col in enumerate(truth.columns):
            if not isinstance(truth[col].dtype, pd.CategoricalDtype):
                continue
            t = truth[col].cat.codes.to_numpy()
            m = mask[:, j] & (t >= 0)
            if not m.any():
                continue
            levels = truth[col].cat.categories
            n_lev = len(levels)
            q = np.bincount(t[m], minlength=n_lev + 1)
            tvs = []
            for d in draws:
                i = _level_codes(d[col], levels)[m]
                p = np.bincount(np.where(i >= 0, i, n_lev), minlength=n_lev + 1)
                tvs.append(0.5 * np.abs(p - q).sum() / m.sum())
            out[col] = float(np.mean(tvs))
        return _mean_over_columns(out)


# ------------------------------------------------------------------------- associations

def _pearson(x: np.ndarray) -> np.ndarray:
    """Pearson correlation matrix of the columns of ``x``; 0 for a constant column.

    Without NaN this is ``np.corrcoef``; with NaN each pair uses the rows where both are
    present (pandas' pairwise-complete ``corr``).
    """
    nan = np.isnan(x)
    lo = np.where(nan, np.inf, x).min(axis=0)
    hi = np.where(nan, -np.inf, x).max(axis=0)
    const = ~(hi > lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        if nan.any():
            r = pd.DataFrame(x).corr().to_numpy()
        else:
            r = np.atleast_2d(np.corrcoef(x, rowvar=False))
    r = np.clip(np.nan_to_num(r, nan=0.0), -1.0, 1.0)
    r[const, :] = 0.0
    r[:, const] = 0.0
    return r


def _dense(s: pd.Series) -> tuple[np.ndarray, int]:
    """Category codes renumbered over the levels present (-1 stays missing), and their count."""
    codes = s.cat.codes.to_numpy().astype(np.int64)
    ok = codes >= 0
    levels, inv = np.unique(codes[ok], return_inverse=True)
    codes[ok] = inv
    return codes, len(levels)


def cramers_v(a: np.ndarray, b: np.ndarray, n_b: int) -> float:
    """Bias-uncorrected Cramér's V of two code arrays (-1 = missing; ``b`` in ``[0, n_b)``).

    ``V = sqrt(chi2 / (n (min(r, c) - 1)))`` over the rows where both are present, ``r`` and
    ``c`` the numbers of levels present there; 0 when either has fewer than two.
    """
    ok = (a >= 0) & (b >= 0)
    n = int(ok.sum())
    if n == 0:
        return 0.0
    cells, counts = np.unique(a[ok] * n_b + b[ok], return_counts=True)
    ra, rb = cells // n_b, cells % n_b
    rows = np.bincount(ra, weights=counts)
    cols = np.bincount(rb, weights=counts)
    k = min(int((rows > 0).sum()), int((cols > 0).sum()))
    if k < 2:
        return 0.0
    # chi2 / n = sum O^2 / (R C) - 1, summed over the non-empty cells only.
    phi2 = float(np.sum(counts.astype(np.float64) ** 2 / (rows[ra] * cols[rb]))) - 1.0
    return float(np.sqrt(min(max(phi2 / (k - 1), 0.0), 1.0)))


def correlation_ratio(g: np.ndarray, y: np.ndarray) -> float:
    """Correlation ratio ``eta = sqrt(SS_between / SS_total)`` of numeric ``y`` by groups ``g``.

    Over the rows where both are present (``g >= 0``, ``y`` not NaN); 0 when ``y`` is constant.
    """
    ok = (g >= 0) & ~np.isnan(y)
    y, g = y[ok], g[ok]
    if y.size == 0 or not np.ptp(y) > 0:
        return 0.0
    yc = y - y.mean()
    cnt = np.bincount(g)
    s = np.bincount(g, weights=yc)
    nz = cnt > 0
    ratio = np.sum(s[nz] ** 2 / cnt[nz]) / np.sum(yc ** 2)
    return float(np.sqrt(min(max(ratio, 0.0), 1.0)))


def association_matrix(df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Symmetric matrix of pairwise associations of a typed table's columns, and their names.

    Numeric-numeric: Pearson's r (in [-1, 1]); categorical-categorical: bias-uncorrected
    Cramér's V; numeric-categorical: the correlation ratio eta of the numeric column by the
    categorical one (both in [0, 1]). Ordinal columns count as categorical (order ignored).
    Each pair uses the rows where both columns are present; a constant column has association
    0 with every other column. The diagonal is 1.
    """
    kinds = column_kinds(df)
    names = [str(c) for c in df.columns]
    num = [j for j, k in enumerate(kinds.values()) if k == "numeric"]
    cat = [j for j, k in enumerate(kinds.values()) if k != "numeric"]
    a = np.zeros((len(names), len(names)))
    if num:
        x = df.iloc[:, num].to_numpy(dtype=np.float64, na_value=np.nan)
        a[np.ix_(num, num)] = _pearson(x)
    codes = [_dense(df.iloc[:, j]) for j in cat]
    for u, (cu, _) in enumerate(codes):
        for v in range(u + 1, len(cat)):
            cv, n_v = codes[v]
            a[cat[u], cat[v]] = a[cat[v], cat[u]] = cramers_v(cu, cv, n_v)
        for p, jn in enumerate(num):
            a[cat[u], jn] = a[jn, cat[u]] = correlation_ratio(cu, x[:, p])
    np.fill_diagonal(a, 1.0)
    return a, names


@register_metric
class CorrDiff(TableMetric):
    """Frobenius norm of the change in the pairwise association matrix.

    ``corr_diff = sqrt(sum over i != j (A_ref[i, j] - A_imp[i, j])^2)``: the Frobenius norm of
    the difference of the two tables' association matrices (``association_matrix``) with the
    diagonal left out, so each unordered pair of columns counts twice (the full matrix minus
    its diagonal). Associations: Pearson's r for numeric pairs; Cramér's V without bias
    correction (``sqrt(chi2 / (n (min(r, c) - 1)))``, ``r``, ``c`` the levels present) for
    categorical pairs; the correlation ratio ``eta = sqrt(SS_between / SS_total)`` of the
    numeric column grouped by the categorical one for mixed pairs (chosen because it is, like
    V, a [0, 1] strength of association and equals 1 when the numeric value is a function of
    the level). Ordinal columns count as categorical; a constant column has association 0; each
    pair uses the rows where both are present. For imputation the reference is the true rows
    that had a hidden cell and the compared table those rows imputed, averaged over distinct
    draws (metrics/tables.py). 0 is perfect; at most ``2 sqrt(k (k - 1))`` for ``k``
    columns, so the bound depends on the table: normalized as ``1 / (1 + d)``. Returns nothing
    for a one-column table. sdmetrics' ``CorrelationSimilarity`` is a related but different
    score: ``1 - |Δr| / 2`` per numeric pair, averaged, not a norm over all pair kinds.

    References
    ----------
    Cramér, H. (1946). Mathematical Methods of Statistics. Princeton University Press.
    Pearson, K. (1905). On the general theory of skew correlation and non-linear regression.
    Drapers' Company Research Memoirs, Biometric Series II (the correlation ratio).

    Examples
    --------
    >>> get_metric("corr_diff").score(real_table, synthetic_table)["__all__"]
    """

    name = "corr_diff"
    goal = Goal.MINIMIZE
    min_value = 0.0
    definition = ("Frobenius norm, diagonal excluded, of A(true rows with a hidden cell) - "
                  "A(same rows imputed), A the association matrix: Pearson r (numeric pairs), "
                  "bias-uncorrected Cramer's V (categorical pairs), correlation ratio eta "
                  "(mixed pairs); mean over distinct draws")
    reference = "Pearson correlation; Cramer 1946 (V); Pearson 1905 (correlation ratio)"

    def score_tables(self, reference: pd.DataFrame, compared: pd.DataFrame) -> dict[str, float]:
        if reference.shape[1] < 2:
            return {}
        d = association_matrix(reference)[0] - association_matrix(compared)[0]
        np.fill_diagonal(d, 0.0)
        return {ALL: float(np.sqrt(np.sum(d ** 2)))}
