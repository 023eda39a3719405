"""Propensity mean squared error (pMSE) with three propensity models, and its null ratio.

Table-level metrics (see ``metrics/tables.py`` for what is compared in imputation and how draws
are averaged). The reference and compared tables are stacked with label 1 for the compared rows;
a classifier estimates each row's propensity ``p_i = P(compared | row)``, in sample, and

    pMSE = (1/N) sum_i (p_i - c)**2,     c = n_compared / N,

is 0 when the model cannot tell the sides apart and at most ``max(c, 1 - c)**2`` (0.25 for two
tables of the same size) when it separates them. The ratio divides pMSE by its expectation under
the null "both sides are independent samples of one distribution".
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.metrics.base import ALL, Goal, Metric, register_metric
from imputebench.metrics.tables import TableMetric, encode

# The logistic design's size: synthpop's utility.gen refuses more than max.params = 400
# parameters; we lump rare levels harder until the design fits (see pmse's docstring).
MAX_PARAMS = 400
_LUMP_SHARES = (0.01, 0.02, 0.05, 0.1, 0.2, 1.01)
_REF = ("Woo, M.-J., Reiter, J. P., Oganian, A., Karr, A. F. (2009). Global measures of data "
        "utility for microdata masked for disclosure limitation. J. Privacy and "
        "Confidentiality 1(1). Snoke, J., Raab, G. M., Nowok, B., Dibben, C., Slavkovic, A. "
        "(2018). General and specific utility measures for synthetic data. JRSS A 181(3), "
        "663-688.")


def _pairs(groups: list[str]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(groups)) for j in range(i + 1, len(groups))
            if groups[j] != groups[i]]


def logistic_design(reference: pd.DataFrame, compared: pd.DataFrame,
                    max_params: int = MAX_PARAMS) -> tuple[np.ndarray, dict]:
    """Stacked design of main effects and first-order interactions, at most ``max_params``
    parameters (with the intercept), z-scored; and how it was built.

    Levels with a pooled share below ``s`` are lumped, ``s`` the first of 1, 2, 5, 10, 20 %
    that keeps main effects + interactions within ``max_params``. If none does, ``s`` is the
    first share whose main effects fit, and the interactions are coarsened instead: they pair
    the numeric columns and each categorical column's ``L`` most frequent indicators (the
    baseline level is already out), ``L`` the largest that fits (``interaction_levels`` in the
    result; 0 = the full interactions); with ``L = 1`` still too many, main effects only (past
    20 % every level of a column is lumped into one indicator and the column drops out).
    Lumping everything first would leave an all-categorical table with no column at all
    (mushroom: pMSE 0 for every table); dropping the interactions leaves a model that sees
    marginals only (mushroom: columns shuffled independently scored as well as real rows).
    """
    both = pd.concat([reference, compared], ignore_index=True)
    n = len(both)
    shares = {c: both[c].value_counts().to_numpy() / n for c in both.columns
              if isinstance(both[c].dtype, pd.CategoricalDtype)}

    def size(share):  # main-effect columns per source column, as encode() will make them
        return [1 if c not in shares else int(np.sum(shares[c] >= share))
                + int(np.any((shares[c] < share) & (shares[c] > 0))) - 1 for c in both.columns]

    def n_pairs(widths):
        tot = sum(widths)
        return (tot * tot - sum(w * w for w in widths)) // 2

    with_pairs = [s for s in _LUMP_SHARES[:-1]
                  if 1 + sum(size(s)) + n_pairs(size(s)) <= max_params]
    share = with_pairs[0] if with_pairs else next(
        (s for s in _LUMP_SHARES if 1 + sum(size(s)) <= max_params), _LUMP_SHARES[-1])
    x_ref, x_comp, names = encode(reference, compared, min_share=share,
                                  drop_most_frequent=True)
    groups = [nm.split("=")[0] for nm in names]
    pairs = _pairs(groups)
    levels = 0.0                      # 0: every indicator enters the interactions
    if 1 + len(names) + len(pairs) > max_params:
        # Coarser interactions: each categorical column brings only its L most frequent
        # indicators (the numeric columns themselves), L the largest that fits. Main effects
        # alone cannot see dependence: an all-categorical table whose columns were shuffled
        # independently (right marginals, no dependence) would score as well as real rows.
        freq = np.r_[x_ref, x_comp].mean(axis=0) if names else np.zeros(0)
        pairs = []
        for top in range(max(len(names), 1), 0, -1):
            chosen = _top_indicators(names, groups, freq, top)
            cand = [(chosen[a], chosen[b]) for a, b in _pairs([groups[i] for i in chosen])]
            if 1 + len(names) + len(cand) <= max_params:
                pairs, levels = cand, float(top)
                break
    # One allocation for the whole design (fresh pages are costly here), then in place.
    p = len(names)
    x = np.empty((len(x_ref) + len(x_comp), p + len(pairs)), order="F")  # column ops
    x[:len(x_ref), :p] = x_ref
    x[len(x_ref):, :p] = x_comp
    for m, (i, j) in enumerate(pairs):
        np.multiply(x[:, i], x[:, j], out=x[:, p + m])
    mean, sd = x.mean(axis=0), x.std(axis=0)
    keep = np.flatnonzero(sd > 0)
    x -= mean
    x /= np.where(sd > 0, sd, 1.0)
    # duplicate columns (e.g. an indicator equal to its interaction with another, or its
    # negative) carry no parameter: find them by a random projection
    proj = np.random.default_rng(0).standard_normal(x.shape[0]) @ x[:, keep]
    _, first = np.unique(np.round(np.abs(proj), 8), return_index=True)
    keep = keep[np.sort(first)]
    if keep.size < x.shape[1]:  # move the kept columns to the front, a view of them
        for m, col in enumerate(keep):
            if m != col:
                x[:, m] = x[:, col]
        x = x[:, :keep.size]
    return x, {"lumped_below": float(min(share, 1.0)), "interactions": float(len(pairs)),
               "interaction_levels": levels}


def _top_indicators(names: list[str], groups: list[str], freq: np.ndarray, top: int
                    ) -> list[int]:
    """Design columns kept for coarse interactions: every numeric column, and each categorical
    column's ``top`` most frequent indicators (ties by position), in design order."""
    keep = []
    for g in dict.fromkeys(groups):
        idx = [i for i, gg in enumerate(groups) if gg == g]
        if len(idx) == 1 and "=" not in names[idx[0]]:
            keep += idx
        else:
            keep += sorted(sorted(idx, key=lambda i: (-freq[i], i))[:top])
    return sorted(keep)


class _TreeInputs:
    """Stacked rows for a tree, built once per pair of tables: numerics as they are, each
    categorical column replaced, for given labels, by its level's share of label-1 rows
    (Breiman et al. 1984: for a binary target, ordering levels by that share makes the best
    ordinal split the best subset split). Only those shares change between permutations."""

    def __init__(self, reference: pd.DataFrame, compared: pd.DataFrame) -> None:
        both = pd.concat([reference, compared], ignore_index=True)
        self.x = np.empty(both.shape)
        self.cats = []  # (column position, codes + 1, number of codes + 1)
        for j, col in enumerate(both.columns):
            s = both[col]
            if isinstance(s.dtype, pd.CategoricalDtype):
                self.cats.append((j, s.cat.codes.to_numpy() + 1, len(s.cat.categories) + 1))
            else:
                self.x[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)

    def for_labels(self, y: np.ndarray) -> np.ndarray:
        for j, codes, k in self.cats:
            ones = np.bincount(codes, weights=y, minlength=k)
            total = np.bincount(codes, minlength=k)
            self.x[:, j] = (ones / np.maximum(total, 1))[codes]
        return self.x


def design_rank(x: np.ndarray) -> int:
    """Numerical rank of a centred design (eigenvalues of ``x'x`` above 1e-10 of the largest):
    the slopes a logistic fit can identify, besides the intercept."""
    if x.shape[1] == 0:
        return 0
    eig = np.linalg.eigvalsh(x.T @ x)
    return int(np.sum(eig > 1e-10 * eig.max()))


def logistic_fit(x: np.ndarray, y: np.ndarray, C: float = 1e6, max_iter: int = 25,
                 tol: float = 1e-12) -> np.ndarray:
    """In-sample probabilities of a logistic regression with intercept, fitted by Newton's
    method (IRLS) with backtracking, ridge ``1 / (2C)`` on the slopes (C = 1e6: effectively the
    unpenalized MLE of the papers, kept finite when the sides are separable).

    Stops when the Newton decrement or the penalized log-loss's improvement falls below
    ``tol`` relative to the loss (the optimum to float64 precision, so that runs whose float32
    Hessians round differently, e.g. in another process, agree to about 1e-12), or after
    ``max_iter`` steps: on separable tables the MLE is at infinity and the probabilities are
    then already within about 1e-3 of 0 / 1, which is the answer pMSE needs.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve
    from scipy.special import expit

    n, k = x.shape
    pen = 1.0 / C
    x32 = x.astype(np.float32)
    z = np.empty_like(x32)  # reused every step: fresh pages are costly

    def eta_of(b):
        return x @ b[1:] + b[0]

    def loss(b):
        eta = eta_of(b)
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * pen * b[1:] @ b[1:])

    beta = np.zeros(k + 1)
    f = loss(beta)
    hess = np.empty((k + 1, k + 1))
    for _ in range(max_iter):
        p = expit(eta_of(beta))
        r = p - y
        grad = np.r_[r.sum(), x.T @ r + pen * beta[1:]]
        w = p * (1.0 - p)
        # The Hessian only steers the step (gradient and loss are float64, so the optimum is
        # the same): in float32 its N x k^2 product, the dominant cost, halves.
        np.multiply(x32, np.sqrt(w).astype(np.float32)[:, None], out=z)
        hess[1:, 1:] = z.T @ z  # one symmetric rank-k update (BLAS syrk)
        hess[0, 0] = w.sum()
        hess[0, 1:] = hess[1:, 0] = x.T @ w
        hess[np.diag_indices(k + 1)] += 1e-6 * max(float(np.trace(hess)) / (k + 1), 1e-12)
        hess[np.diag_indices(k + 1)[0][1:], np.diag_indices(k + 1)[1][1:]] += pen
        try:
            step = cho_solve(cho_factor(hess), grad)
        except LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t, slope = 1.0, float(grad @ step)
        while True:
            new = beta - t * step
            f_new = loss(new)
            if f_new <= f - 1e-4 * t * slope:
                break
            if t < 1e-6:  # no descent left along Newton's direction: converged
                new, f_new = beta, f
                break
            t *= 0.5
        beta, f_old, f = new, f, f_new
        scale = tol * max(1.0, abs(f))
        if 0.5 * slope <= scale or f_old - f <= scale:
            break
    return expit(eta_of(beta))


def _fit_predict(model: str, x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    if model == "logistic":
        return logistic_fit(x, y)
    elif model == "cart":
        from sklearn.tree import DecisionTreeClassifier

        # minbucket = 5 as synthpop's utility.gen; no cost-complexity pruning (see PMSECart)
        clf = DecisionTreeClassifier(min_samples_leaf=5, random_state=seed)
    else:
        try:
            from xgboost import XGBClassifier
        except ImportError:
            raise ImputebenchError("pmse_xgb needs xgboost: `pip install xgboost-cpu`") from None
        clf = XGBClassifier(n_estimators=100, max_depth=3, learning_rate=0.1,
                            tree_method="hist", n_jobs=1, random_state=seed, verbosity=0)
    clf.fit(x, y)
    return clf.predict_proba(x)[:, 1]


def pmse_tables(reference: pd.DataFrame, compared: pd.DataFrame, model: str = "logistic",
                n_permutations: int = 5, seed: int = 0,
                max_params: int = MAX_PARAMS) -> dict[str, float]:
    """pMSE of ``compared`` against ``reference`` (aligned tables), its null expectation and
    their ratio: ``{"__all__": pmse, "null": E[pMSE], "ratio": pmse / E[pMSE], ...}``.

    Null: for ``logistic``, ``(k - 1) c (1 - c) / N`` with ``k`` the number of parameters (the
    design's numerical rank plus the intercept); otherwise the mean pMSE of the same model refitted
    on ``n_permutations`` random permutations of the labels (tree inputs rebuilt per permutation).
    """
    if model not in ("logistic", "cart", "xgb"):
        raise ImputebenchError(f"unknown propensity model {model!r}: logistic, cart or xgb")
    n_r, n_c = len(reference), len(compared)
    n = n_r + n_c
    y = np.r_[np.zeros(n_r), np.ones(n_c)]
    c = n_c / n
    out: dict[str, float] = {}
    if model == "logistic":
        x, info = logistic_design(reference, compared, max_params)
        out.update(info)
        if x.shape[1] == 0:
            return {ALL: 0.0, "null": 0.0, "ratio": float("nan"), "k": 1.0, **info}
        p = _fit_predict(model, x, y, seed)
        k = design_rank(x) + 1  # parameters, intercept included
        out.update({ALL: float(np.mean((p - c) ** 2)), "k": float(k)})
        null = (k - 1) * c * (1 - c) / n
    else:
        inputs = _TreeInputs(reference, compared)

        def once(labels):
            p = _fit_predict(model, inputs.for_labels(labels), labels, seed)
            return float(np.mean((p - c) ** 2))

        out[ALL] = once(y)
        rng = np.random.default_rng(seed)
        null = float(np.mean([once(rng.permutation(y)) for _ in range(n_permutations)]))
    out["null"] = null
    out["ratio"] = out[ALL] / null if null > 0 else float("nan")
    return out


class _PMSE(TableMetric):
    goal = Goal.MINIMIZE
    min_value = 0.0
    max_value = 0.25
    model: ClassVar[str] = "logistic"
    n_permutations: ClassVar[int] = 5
    reference = _REF

    def score_tables(self, reference, compared):
        return pmse_tables(reference, compared, self.model, self.n_permutations,
                           self.random_state)


@register_metric
class PMSE(_PMSE):
    """Propensity MSE with a logistic model of main effects and first-order interactions.

    Definition (Woo et al. 2009; Snoke et al. 2018): stack reference (label 0) and compared
    (label 1) rows, fit the propensity model, ``pMSE = mean((p_i - c)**2)`` over all stacked
    rows with ``c`` the compared share (0.5 in imputation, where both sides are the same rows).

    Choices the papers leave open, stated: numeric columns are z-scored on the pooled rows;
    categorical and ordinal columns are dummy-coded against their most frequent level (the
    baseline), levels with a pooled share below ``s`` lumped into one ``<rare>`` indicator, ``s``
    the first of 1, 2, 5, 10, 20 % that keeps the model within 400 parameters (synthpop's
    ``max.params``; when no share does, the interactions give way first: the first share whose main
    effects fit, with numeric x numeric interactions if they fit, else main effects only; a column
    drops out only past 20 %, when all its levels are lumped); the design holds the main effects and
    the products of every pair of columns from *different* source columns, constant and duplicate
    columns dropped, then z-scored. The fit is Newton's method (IRLS) with a ridge of
    ``1 / (2 * 1e6)`` on the slopes: effectively the unpenalized MLE, kept finite when the
    sides are separable (then the value depends on the stopping rule by about 1e-3 relative).
    Compared values are first rounded to the reference's decimal precision
    (``metrics.tables``). Results also carry ``k`` (parameters), ``lumped_below`` and
    ``interactions``.

    The companion ``pmse_ratio`` divides by the null expectation ``(k - 1) c (1 - c) / N``
    (``k`` parameters: the design's numerical rank plus the intercept): the hat-matrix argument
    gives ``sum (p_i - c)^2 ~ (k - 1) c (1 - c)`` for ``N`` Bernoulli(c) labels. Snoke et al.
    print ``(k - 1)(1 - c)^2 c / N``, which is smaller by ``1 / (1 - c)`` and disagrees with
    permutation nulls (checked in the tests): we use the form that agrees. 0 is best;
    normalized linearly on [0, 0.25].
    """

    name = "pmse"
    definition = ("pMSE = mean over stacked reference+compared rows of (p_i - c)^2, p_i the "
                  "in-sample propensity of a logistic model with main effects and pairwise "
                  "interactions (z-scored numerics, dummy-coded categoricals, rare levels "
                  "lumped to stay within 400 parameters), c the compared share (0.5)")


@register_metric
class PMSECart(_PMSE):
    """Propensity MSE with a CART propensity model (Snoke et al. 2018, synthpop's ``cart``).

    As ``pmse`` but the model is scikit-learn's ``DecisionTreeClassifier`` with
    ``min_samples_leaf=5`` (synthpop's ``minbucket``) and no cost-complexity pruning. Input:
    numeric columns as they are; each categorical column replaced by its level's share of
    compared rows, the ordering under which the best binary split on a nominal predictor is an
    ordinal one (Breiman et al. 1984, for a two-class target; recomputed for each permutation).

    Pruning, stated because CART pMSE is very sensitive to it: in scikit-learn's Gini units an
    alpha large enough to prune noise (1e-4 on adult) also prunes every split of permuted
    labels, so the permutation null collapses to 0 and the ratio is undefined; unpruned trees
    overfit equally on both sides, so read ``pmse_cart_ratio`` (null = the mean pMSE over 5
    label permutations; synthpop uses 50, 5 keeps a cell fast), not the raw value.
    """

    name = "pmse_cart"
    model = "cart"
    definition = ("pMSE with an unpruned CART propensity model (min leaf 5); categorical "
                  "levels ordered by their share of compared rows")


@register_metric
class PMSEXgb(_PMSE):
    """Propensity MSE with an XGBoost propensity model.

    As ``pmse_cart`` (same inputs) with ``XGBClassifier(n_estimators=100, max_depth=3,
    learning_rate=0.1, tree_method="hist", n_jobs=1)`` (Chen & Guestrin, KDD 2016) as the
    model; the null for ``pmse_xgb_ratio`` is the mean over 5 label permutations. One thread:
    the harness runs cells in parallel processes, and OpenMP threads on busy cores spin.
    """

    name = "pmse_xgb"
    model = "xgb"
    definition = ("pMSE with an XGBoost propensity model (100 trees of depth 3, learning rate "
                  "0.1); categorical levels ordered by their share of compared rows")


class _Ratio(Metric):
    level = "table"
    uses = "draws"
    kinds = frozenset({"numeric", "categorical", "ordinal"})
    goal = Goal.MINIMIZE
    min_value = 0.0
    reference = _REF


@register_metric
class PMSERatio(_Ratio):
    """``pmse / E[pmse | same distribution]`` with the analytic logistic null (see ``pmse``).

    About 1 when the compared rows are an independent sample of the reference's distribution;
    larger is worse. In imputation both sides share their observed cells, which makes them
    *more* alike than independent samples, so a good imputer can score below 1.
    """

    name = "pmse_ratio"
    derived_from = ("pmse", "ratio")
    definition = "pmse / ((k - 1) c (1 - c) / N), k = parameters of the logistic model"


@register_metric
class PMSECartRatio(_Ratio):
    """``pmse_cart`` divided by its mean over 5 label permutations (the permutation null)."""

    name = "pmse_cart_ratio"
    derived_from = ("pmse_cart", "ratio")
    definition = "pmse_cart / mean pmse_cart over 5 permutations of the labels"


@register_metric
class PMSEXgbRatio(_Ratio):
    """``pmse_xgb`` divided by its mean over 5 label permutations (the permutation null)."""

    name = "pmse_xgb_ratio"
    derived_from = ("pmse_xgb", "ratio")
    definition = "pmse_xgb / mean pmse_xgb over 5 permutations of the labels"
