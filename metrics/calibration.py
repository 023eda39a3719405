"""Calibration of the imputer's draws: CRPS and interval coverage (DESIGN.md §5).

All score ``sample()`` draws (``uses = "draws"``) at the hidden numeric cells that are not
missing in the source; observed cells of the draws are never read.
"""

from __future__ import annotations

import numpy as np

from imputebench.metrics.base import Goal, Metric, hidden_draws, register_metric
from imputebench.metrics.loglik import _pool
from imputebench.metrics.rmse import _minmax

NOMINAL = 0.9
_Q = ((1 - NOMINAL) / 2, (1 + NOMINAL) / 2)


def crps_from_draws(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """CRPS of the empirical distribution of each cell's draws (columns of ``draws``).

    Energy form ``E|X - y| - 1/2 E|X - X'|`` with both expectations over the ``m`` draws
    (``X'`` an independent copy, the pair ``i = j`` included): this is exactly the CRPS of the
    draws' empirical CDF. ``E|X - X'| = 2 / m^2 sum_k k (m - k) (x_(k+1) - x_(k))`` over the
    sorted draws, O(m log m) per cell and exactly 0 for identical draws.
    """
    m = draws.shape[0]
    first = np.abs(draws - truth[None, :]).mean(axis=0)
    if m == 1:
        return first
    gaps = np.diff(np.sort(draws, axis=0), axis=0)
    k = np.arange(1, m, dtype=np.float64)
    half_pair = (k * (m - k)) @ gaps / (m * m)
    return np.maximum(first - half_pair, 0.0)


@register_metric
class CRPS(Metric):
    """Continuous ranked probability score of the draws, on min-max scaled columns.

    Columns are scaled by the range of their observed cells (``rmse_minmax``'s scaling; 1 for
    a constant column). Per hidden cell with draws ``x_1..x_m`` and truth ``y``:
    ``CRPS = (1/m) sum_i |x_i - y| - 1/(2 m^2) sum_i sum_j |x_i - x_j|``, the CRPS of the
    draws' empirical distribution (the energy form of Gneiting & Raftery 2007, eq. 21),
    computed from the sorted draws. For identical draws (a deterministic imputer) it is the
    absolute error, so ``crps`` then equals ``mae``. As an estimate of the CRPS of the
    imputer's underlying predictive distribution it is biased upward by ``E|X - X'| / (2m)``.
    The mean over hidden cells, pooled for ``__all__``. 0 is perfect (all draws equal to the
    truth); normalized as ``1 / (1 + crps)``.

    References
    ----------
    Gneiting, T., Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
    estimation. JASA 102(477), 359-378.
    """

    name = "crps"
    goal = Goal.MINIMIZE
    uses = "draws"
    level = "cell"
    kinds = frozenset({"numeric"})
    definition = ("mean over hidden numeric cells of mean|x_i - y| - 1/(2m^2) sum_ij |x_i - x_j| "
                  "over the cell's m draws x_i and truth y, min-max scale of the observed cells")
    reference = "Gneiting & Raftery 2007 (CRPS, energy form)"

    def compute(self, truth, imputed, mask):
        per_cell = {}
        for col, t, d, obs in hidden_draws(truth, imputed, mask):
            lo, scale = _minmax(obs)
            per_cell[col] = crps_from_draws((d - lo) / scale, (t - lo) / scale)
        return _pool(per_cell)


def covered(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Whether each truth lies in the closed central 90 % interval of its draws: between the
    0.05 and 0.95 quantiles (numpy's default linear interpolation), ends included."""
    lo, hi = np.quantile(draws, _Q, axis=0)
    return (lo <= truth) & (truth <= hi)


class _Coverage(Metric):
    uses = "draws"
    level = "cell"
    kinds = frozenset({"numeric"})

    def _shares(self, truth, imputed, mask) -> dict[str, float]:
        return _pool({col: covered(d, t).astype(np.float64)
                      for col, t, d, _ in hidden_draws(truth, imputed, mask)})


@register_metric
class Coverage(_Coverage):
    """Share of hidden cells whose truth lies in the central 90 % interval of its draws.

    Per hidden numeric cell: covered when ``q05 <= y <= q95``, the 0.05 and 0.95 quantiles of
    its draws (``np.quantile``, linear interpolation), in the column's own units (an affine
    scaling would not change it). Ends count as inside, so a truth equal to a draw at the
    interval's end is covered; identical draws (a deterministic imputer) make a point interval
    that covers only a truth equal to it, so such imputers score near 0. The share over hidden
    cells, pooled for ``__all__``. A calibrated imputer scores about 0.9; above that its draws
    are too wide. This is the raw share, to report: its goal says "higher is better" up to the
    nominal 0.9 (normalized linearly on [0, 0.9], 1 at and above 0.9), so for ranking use
    ``coverage_error``, which also penalizes over-coverage.

    References
    ----------
    Gneiting, T., Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
    estimation. JASA 102(477), 359-378 (central prediction intervals).
    """

    name = "coverage"
    goal = Goal.MAXIMIZE
    min_value = 0.0
    max_value = NOMINAL
    definition = ("share of hidden numeric cells whose true value lies in [q05, q95] of the "
                  "cell's draws (nominal 0.9; rank with coverage_error)")
    reference = "Gneiting & Raftery 2007"

    def compute(self, truth, imputed, mask):
        return self._shares(truth, imputed, mask)


@register_metric
class CoverageError(_Coverage):
    """Distance of the central 90 % interval coverage from its nominal level.

    ``|coverage - 0.9|`` with ``coverage`` as in the ``coverage`` metric, per column and for
    all hidden numeric cells pooled (the ``__all__`` value is computed from the pooled share,
    not averaged over columns). 0 is a calibrated imputer; at most 0.9 (no truth covered),
    normalized linearly on [0, 0.9]. Calibration only: wide marginal draws can be calibrated,
    so read it beside a sharpness-aware score (``crps``, ``loglik_kde``).

    References
    ----------
    Gneiting, T., Balabdaoui, F., Raftery, A. E. (2007). Probabilistic forecasts, calibration
    and sharpness. JRSS-B 69(2), 243-268.
    """

    name = "coverage_error"
    goal = Goal.MINIMIZE
    min_value = 0.0
    max_value = NOMINAL
    definition = "|share of hidden numeric cells with true value in [q05, q95] of its draws - 0.9|"
    reference = "Gneiting, Balabdaoui & Raftery 2007"

    def compute(self, truth, imputed, mask):
        return {k: abs(v - NOMINAL) for k, v in self._shares(truth, imputed, mask).items()}

