"""Log-likelihood of the true hidden values under the imputer's draws (DESIGN.md §5).

Both metrics score ``sample()`` draws (``uses = "draws"``): for every hidden numeric cell the
draws are an empirical predictive distribution, and the score is the log of its density at the
true value, on min-max scaled columns (range of the observed cells, as ``rmse_minmax``).

``loglik_knnxkde`` is the kNNxKDE paper's own estimator, reproduced operation for operation so
our numbers sit beside theirs; ``loglik_kde`` is a smooth variant (Gaussian kernel density of
the draws). A deterministic imputer gives identical draws, a spike: that is its honest
predictive distribution, and both metrics score it as such (a tall density at the point, next to
nothing elsewhere).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from imputebench.metrics.base import ALL, Goal, Metric, hidden_draws, register_metric
from imputebench.metrics.rmse import _minmax

# kNNxKDE's grid (Lalande & Doya 2023, code: github.com/DeltaFloflo/knnxkde, utils.py,
# compute_sample_likelihood): 121 histogram bins between 122 edges on [-0.1, 1.1], evaluated
# at 121 points 0.01 apart, with a 1e-5 floor before the log (compute_likelihood.py).
_EDGES = np.linspace(start=-0.1, stop=1.1, num=122)
_WIDTHS = np.diff(_EDGES).astype(float)
_X_AXIS = np.linspace(start=-0.1, stop=1.1, num=121)
_SMALL_EPS = 1e-5
# Smallest bandwidth of ``loglik_kde`` on the min-max scale: a spike is a kernel this wide.
_H_FLOOR = 0.01


def _pool(per_cell: dict[str, np.ndarray]) -> dict[str, float]:
    """Per-column means and the mean over all hidden cells pooled (``__all__``)."""
    out = {col: float(np.mean(v)) for col, v in per_cell.items()}
    if per_cell:
        out[ALL] = float(np.mean(np.concatenate(list(per_cell.values()))))
    return out


def knnxkde_likelihood(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """kNNxKDE's likelihood of each true value under its draws, on already scaled data.

    ``draws`` is ``(n_draws, n_cells)``, ``truth`` ``(n_cells,)``. For one cell this equals
    ``np.histogram(draws, bins=np.linspace(-0.1, 1.1, 122), density=True)`` (draws outside
    ``[-0.1, 1.1]`` dropped, the rest normalized to density one over the bins), read at index
    ``ii = (x_axis <= truth).sum()`` with ``x_axis = np.linspace(-0.1, 1.1, 121)``: ``y[0]`` if
    ``ii == 0``, ``y[120]`` if ``ii == 121``, else ``(y[ii - 1] + y[ii]) / 2``. Vectorized over
    cells with the same comparisons and floating-point operations, hence the same bits. Where
    no draw falls in ``[-0.1, 1.1]`` numpy's density is 0 / 0 (NaN); here it is 0.
    """
    ii = np.searchsorted(_X_AXIS, truth, side="right")      # == (x_axis <= truth).sum()
    lo, hi = np.clip(ii - 1, 0, 120), np.clip(ii, 0, 120)   # ii == 0 / 121: one bin, twice
    total = ((draws >= _EDGES[0]) & (draws <= _EDGES[-1])).sum(axis=0)

    def density(b: np.ndarray) -> np.ndarray:
        # numpy counts bin b as [e_b, e_b+1), the last bin as [e_120, e_121].
        upper = np.where(b == 120, draws <= _EDGES[-1], draws < _EDGES[b + 1])
        n = ((draws >= _EDGES[b]) & upper).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = n / _WIDTHS[b] / total
        return np.where(total > 0, y, 0.0)

    return (density(lo) + density(hi)) / 2.0


@register_metric
class LogLikKNNxKDE(Metric):
    """Mean log-likelihood of the true hidden values, as kNNxKDE computes it.

    Lalande & Doya (2023), reference code ``compute_likelihood.py`` and ``utils.py``
    (``compute_sample_likelihood``). Each numeric column is min-max scaled as their
    ``normalization``: ``(x - min) / (max - min + 1e-6)`` with min and max over the observed
    cells (a constant column, where that would divide by 1e-6, gets scale 1). For each hidden
    cell, the draws give a histogram density on 121 bins with edges
    ``np.linspace(-0.1, 1.1, 122)`` (``density=True``: draws outside the range are dropped), read
    at the grid ``x_axis = np.linspace(-0.1, 1.1, 121)`` by their rule ``ii = (x_axis <=
    truth).sum()``: ``L = y[0]`` if ``ii == 0``, ``y[120]`` if ``ii == 121``, else ``(y[ii - 1] +
    y[ii]) / 2``. The score is their ``np.mean(np.log(list_likelihood + SMALL_EPS))`` with
    ``SMALL_EPS = 1e-5``: the mean over hidden cells of ``log(L + 1e-5)`` (a mean of logs,
    pooled over all hidden numeric cells for ``__all__``; per column over that column's cells).

    Bounds: ``L = 0`` gives ``log(1e-5) = -11.51``. Two neighbouring bins hold at most all
    the draws, so ``L <= 1 / (2 width) = 121 / 2.4`` for a truth in ``[-0.1, 1.1)``, reached by
    a spike at the truth (a perfect imputation): ``max_value = log(121 / 2.4 + 1e-5) = 3.92``.
    Only a truth at exactly 1.1 or beyond the grid is read from one bin (up to ``log(121 /
    1.2)``); normalization is linear on ``[min_value, max_value]``, clipped.
    Their paper scores deterministic methods by a Gaussian around the point; here every imputer
    is scored on its draws, so a deterministic imputer's spike gets about ``log(50)`` when the
    truth is within one bin of it and ``log(1e-5)`` otherwise. With few draws the histogram is
    coarse (their runs use 10 000 draws per cell).

    References
    ----------
    Lalande, F., Doya, K. (2023). Numerical data imputation for multimodal data sets: a
    probabilistic nearest-neighbor kernel density approach. TMLR.
    """

    name = "loglik_knnxkde"
    goal = Goal.MAXIMIZE
    uses = "draws"
    level = "cell"
    kinds = frozenset({"numeric"})
    min_value = math.log(_SMALL_EPS)
    max_value = math.log(0.5 / float(_WIDTHS.max()) + _SMALL_EPS)   # the widest bin: all reach it
    definition = ("mean over hidden numeric cells of log(L + 1e-5), L the density of a "
                  "121-bin histogram of the draws on [-0.1, 1.1] (min-max scale of the observed "
                  "cells, range + 1e-6) at the truth, averaging the two bins around it "
                  "(kNNxKDE's compute_sample_likelihood)")
    reference = "Lalande & Doya 2023 (kNNxKDE), compute_likelihood.py"

    def compute(self, truth, imputed, mask):
        per_cell = {}
        for col, t, d, obs in hidden_draws(truth, imputed, mask):
            lo, scale = _minmax(obs)
            if obs.size and obs.max() > obs.min():
                scale = scale + 1e-6
            like = knnxkde_likelihood((d - lo) / scale, (t - lo) / scale)
            per_cell[col] = np.log(like + _SMALL_EPS)
        return _pool(per_cell)


def kde_bandwidth(draws: np.ndarray) -> np.ndarray:
    """Silverman's rule per cell (column of ``draws``), floored at 0.01.

    ``h = max(0.9 * A * m ** (-1/5), 0.01)`` with ``m`` draws, ``A = min(sd, IQR / 1.34)``
    (``sd`` with ``ddof=1``; ``A = sd`` where the IQR is 0), on the min-max scale.
    """
    m = draws.shape[0]
    sd = draws.std(axis=0, ddof=1) if m > 1 else np.zeros(draws.shape[1])
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    iqr = (q75 - q25) / 1.34
    a = np.where(iqr > 0, np.minimum(sd, iqr), sd)
    return np.maximum(0.9 * a * m ** (-0.2), _H_FLOOR)


@register_metric
class LogLikKDE(Metric):
    """Mean log density of the true hidden values under a Gaussian KDE of the draws.

    Columns are min-max scaled by the range of their observed cells (``rmse_minmax``'s
    scaling; 1 for a constant column). For a hidden cell with draws ``x_1..x_m`` and truth
    ``y``: ``log p(y) = log( (1/m) sum_i phi((y - x_i) / h) / h )``, computed with log-sum-exp
    (never ``-inf``), ``phi`` the standard normal density and ``h`` Silverman's rule of thumb on
    the cell's draws, ``h = max(0.9 min(sd, IQR / 1.34) m^(-1/5), 0.01)``. The 0.01 floor
    keeps a spike (identical draws) finite: it becomes a Gaussian of sd 0.01, so the score is
    at most ``-log(0.01 sqrt(2 pi)) = 3.69``. No floor on the density: a truth far from all
    draws costs ``-d^2 / (2 h^2)`` (the log score is strict), so a few confident misses can
    dominate the mean. The score is the mean over hidden cells (pooled for ``__all__``).
    Normalized by the logistic function, ``1 / (1 + exp(-raw))``.

    References
    ----------
    Silverman, B. W. (1986). *Density Estimation for Statistics and Data Analysis*, eq. 3.31.
    Gneiting, T., Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
    estimation. JASA 102(477), 359-378 (the logarithmic score).
    """

    name = "loglik_kde"
    goal = Goal.MAXIMIZE
    uses = "draws"
    level = "cell"
    kinds = frozenset({"numeric"})
    min_value = -math.inf
    max_value = -math.log(_H_FLOOR * math.sqrt(2 * math.pi))
    definition = ("mean over hidden numeric cells of log KDE(true value), a Gaussian kernel "
                  "density of the cell's draws on the min-max scale of the observed cells, "
                  "bandwidth max(Silverman's 0.9 min(sd, IQR/1.34) m^-1/5, 0.01)")
    reference = "Silverman 1986; Gneiting & Raftery 2007 (log score)"

    def compute(self, truth, imputed, mask):
        per_cell = {}
        for col, t, d, obs in hidden_draws(truth, imputed, mask):
            lo, scale = _minmax(obs)
            d, t = (d - lo) / scale, (t - lo) / scale
            h = kde_bandwidth(d)
            z = (t[None, :] - d) / h[None, :]
            per_cell[col] = (logsumexp(-0.5 * z * z, axis=0) - math.log(d.shape[0])
                             - np.log(h) - 0.5 * math.log(2 * math.pi))
        return _pool(per_cell)

    @classmethod
    def normalize(cls, raw: float) -> float:
        """Logistic squash ``1 / (1 + exp(-raw))``, written so very low scores give 0, not an
        overflow."""
        raw = float(raw)
        if math.isnan(raw):
            return math.nan
        if raw >= 0:
            return 1.0 / (1.0 + math.exp(-raw))
        e = math.exp(raw)
        return e / (1.0 + e)
