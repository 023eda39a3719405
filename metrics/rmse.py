"""RMSE and MAE in the conventions papers use, each its own named metric (DESIGN.md §5)."""

from __future__ import annotations

import numpy as np

from imputebench.metrics.base import ALL, Goal, Metric, hidden_numeric, register_metric


def _minmax(obs: np.ndarray) -> tuple[float, float]:
    if obs.size == 0:
        return 0.0, 1.0
    lo, hi = float(obs.min()), float(obs.max())
    return lo, (hi - lo) if hi > lo else 1.0


def _zscore(obs: np.ndarray) -> tuple[float, float]:
    if obs.size == 0:
        return 0.0, 1.0
    sd = float(obs.std())
    return float(obs.mean()), sd if sd > 0 else 1.0


class _PooledError(Metric):
    """Pooled error over hidden numeric cells after a per-column scaling."""

    goal = Goal.MINIMIZE
    kinds = frozenset({"numeric"})
    _scaler = staticmethod(_minmax)
    _power = 2

    def compute(self, truth, imputed, mask):
        out, total, count = {}, 0.0, 0
        for col, t, i, obs in hidden_numeric(truth, imputed, mask):
            _, scale = self._scaler(obs)
            err = np.abs((i - t) / scale) ** self._power
            out[col] = self._finish(err.mean())
            total += err.sum()
            count += err.size
        if count:
            out[ALL] = self._finish(total / count)
        return out

    def _finish(self, mean_err: float) -> float:
        return float(np.sqrt(mean_err)) if self._power == 2 else float(mean_err)


@register_metric
class RMSEMinMax(_PooledError):
    """RMSE pooled over all hidden numeric cells, on min-max scaled columns.

    Each numeric column is scaled by ``(x - min) / (max - min)`` with ``min`` and ``max`` taken
    over its *observed* cells (not hidden, not missing in the source), as GAIN (Yoon et al.,
    ICML 2018), HyperImpute (Jarrett et al., ICML 2022) and kNNxKDE (Lalande & Doya, TMLR 2023)
    do; a constant column, or one with no observed cell, gets scale 1 (kNNxKDE adds 1e-6 to
    every range instead: a relative difference of about 1e-6 / range).
    ``RMSE = sqrt(sum over hidden cells (x_imp - x_true)^2 / range^2 / n_hidden)``.
    Per-column values are the same formula over that column's hidden cells.
    """

    name = "rmse_minmax"
    definition = ("sqrt(mean over all hidden numeric cells of ((imputed - true) / (max - min))^2),"
                  " min and max of each column over its observed cells")
    reference = "Yoon et al. 2018 (GAIN); Jarrett et al. 2022 (HyperImpute); Lalande & Doya 2023"


@register_metric
class RMSEZScore(_PooledError):
    """RMSE pooled over all hidden numeric cells, on z-scored columns (DiffPuter's convention).

    Each numeric column is scaled by ``(x - mean) / sd`` with the mean and the population
    standard deviation of its observed cells (Zhang et al., "Unleashing the potential of
    diffusion models for incomplete data imputation" (DiffPuter), ICLR 2025, report RMSE on
    standardized data); a constant column, or one with no observed cell, gets sd 1.
    """

    name = "rmse_zscore"
    _scaler = staticmethod(_zscore)
    definition = ("sqrt(mean over all hidden numeric cells of ((imputed - true) / sd)^2), sd the "
                  "population standard deviation of each column's observed cells")
    reference = "Zhang et al. 2025 (DiffPuter)"


@register_metric
class MAEMinMax(_PooledError):
    """Mean absolute error pooled over hidden numeric cells, on min-max scaled columns.

    Same scaling as ``rmse_minmax`` (range of the observed cells, 1 for a constant column):
    ``MAE = sum |x_imp - x_true| / range / n_hidden``, as MissingDataOT (Muzellec et al.,
    ICML 2020) reports MAE beside RMSE.
    """

    name = "mae"
    _power = 1
    definition = ("mean over all hidden numeric cells of |imputed - true| / (max - min), min and "
                  "max of each column over its observed cells")
    reference = "Muzellec et al. 2020 (MissingDataOT)"


@register_metric
class NRMSEColumn(Metric):
    """Normalized RMSE per column, averaged over columns.

    For each numeric column with hidden cells: ``NRMSE_j = sqrt(mean((x_imp - x_true)^2)) /
    sd_j`` over its hidden cells, ``sd_j`` the population standard deviation of the column's
    *true hidden values* (Stekhoven & Buehlmann 2012 normalize by the variance of the true
    values; we use the hidden ones as most per-column papers do). When those values have no
    spread (one hidden cell, or all equal) ``sd_j`` falls back to the standard deviation of all
    the column's true values, then to 1. ``__all__`` is the unweighted mean over columns.
    """

    name = "nrmse_col"
    goal = Goal.MINIMIZE
    kinds = frozenset({"numeric"})
    definition = ("mean over numeric columns of sqrt(mean((imputed - true)^2)) / sd(true hidden "
                  "values of the column)")
    reference = "Stekhoven & Buehlmann 2012 (MissForest), per column"

    def compute(self, truth, imputed, mask):
        out = {}
        for col, t, i, obs in hidden_numeric(truth, imputed, mask):
            sd = float(t.std())
            if not sd > 0:
                allv = np.concatenate([t, obs])
                sd = float(allv.std()) if allv.std() > 0 else 1.0
            out[col] = float(np.sqrt(np.mean((i - t) ** 2)) / sd)
        if out:
            out[ALL] = float(np.mean(list(out.values())))
        return out
