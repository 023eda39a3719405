"""Metric interface (DESIGN.md §5) and the metric registry.

A metric scores an imputation against the ground truth. ``compute(truth, imputed, mask)`` gets
the complete-as-loaded table ``truth`` (source NaN stay NaN and are never scored), the imputer's
output (one table when ``uses == "point"``, a list of draws when ``uses == "draws"``) and the
boolean ``mask`` of cells hidden by the harness. It returns ``{column: value, ..., "__all__":
value}``; an empty dict means the metric does not apply (e.g. accuracy on a numeric table).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.registry import Registry

ALL = "__all__"


class Goal(StrEnum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


_REGISTRY = Registry("metric", "imputebench.metrics", group="imputebench.metrics",
                     skip={"base"})


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: add a :class:`Metric` subclass to the registry under ``cls.name``."""
    return _REGISTRY.register(cls)


def available_metrics() -> list[str]:
    return _REGISTRY.names()


def get_metric(name: str) -> Metric:
    return _REGISTRY.create(name)


class Metric:
    """Base class: metadata as class attributes, ``compute`` and ``normalize``.

    ``definition`` is the exact formula in one paragraph; reports print it.
    """

    name: ClassVar[str]
    goal: ClassVar[Goal] = Goal.MINIMIZE
    min_value: ClassVar[float] = 0.0
    max_value: ClassVar[float] = math.inf
    level: ClassVar[str] = "cell"          # "cell" | "table"
    uses: ClassVar[str] = "point"          # "point" | "draws"
    kinds: ClassVar[frozenset[str]] = frozenset({"numeric"})
    definition: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    # (parent metric, key): this metric's value is ``parent.compute(...)[key]``; the runner
    # takes it from the parent's result when both are requested, so the work is done once.
    derived_from: ClassVar[tuple[str, str] | None] = None

    def compute(self, truth: pd.DataFrame, imputed, mask: np.ndarray) -> dict[str, float]:
        if self.derived_from is None:
            raise NotImplementedError
        parent, key = self.derived_from
        value = get_metric(parent).compute(truth, imputed, mask)
        return {ALL: value[key]} if key in value else {}

    @classmethod
    def normalize(cls, raw: float) -> float:
        """Map a raw value to [0, 1], 1 = best.

        Bounded metrics scale linearly between ``min_value`` and ``max_value``. A metric on
        ``[min, inf)`` maps ``r`` to ``1 / (1 + (r - min))`` when minimized and to
        ``1 - 1 / (1 + (r - min))`` when maximized.
        """
        raw = float(raw)
        if math.isnan(raw):
            return math.nan
        lo, hi = cls.min_value, cls.max_value
        if math.isfinite(lo) and math.isfinite(hi):
            x = (min(max(raw, lo), hi) - lo) / (hi - lo)
            return 1.0 - x if cls.goal == Goal.MINIMIZE else x
        if math.isfinite(lo):
            inv = 1.0 / (1.0 + max(raw - lo, 0.0))
            return inv if cls.goal == Goal.MINIMIZE else 1.0 - inv
        # (-inf, hi] or unbounded: logistic squash
        s = 1.0 / (1.0 + math.exp(-raw))
        return 1.0 - s if cls.goal == Goal.MINIMIZE else s

    @classmethod
    def info(cls) -> dict:
        return {"name": cls.name, "goal": cls.goal.value, "min": cls.min_value,
                "max": cls.max_value, "level": cls.level, "uses": cls.uses,
                "kinds": sorted(cls.kinds), "definition": cls.definition,
                "reference": cls.reference}


# ------------------------------------------------------------------------------------ helpers

def _hidden_columns(truth: pd.DataFrame, mask: np.ndarray):
    """``(column, hidden rows, true values, observed values)`` per numeric column with at least
    one hidden cell that is not missing in the source (observed = neither hidden nor missing)."""
    for j, col in enumerate(truth.columns):
        if isinstance(truth[col].dtype, pd.CategoricalDtype):
            continue
        t = truth[col].to_numpy(dtype=np.float64, na_value=np.nan)
        m = mask[:, j] & ~np.isnan(t)
        if m.any():
            yield col, m, t[m], t[~mask[:, j] & ~np.isnan(t)]


def hidden_numeric(truth: pd.DataFrame, imputed: pd.DataFrame, mask: np.ndarray):
    """Yield ``(column, true values, imputed values, observed values)`` per numeric column with
    at least one hidden cell. Observed = cells neither hidden nor missing in the source."""
    for col, m, t, obs in _hidden_columns(truth, mask):
        yield col, t, imputed[col].to_numpy(dtype=np.float64, na_value=np.nan)[m], obs


def hidden_draws(truth: pd.DataFrame, draws, mask: np.ndarray):
    """Yield ``(column, true values, draws, observed values)`` per numeric column with at least
    one hidden cell, ``draws`` stacked as an ``(n_draws, n_hidden)`` array.

    ``draws`` is a list of imputed tables (one table is taken as a single draw); only the
    hidden cells are read, so observed cells of the draws never reach a score.
    """
    if isinstance(draws, pd.DataFrame):
        draws = [draws]
    if not draws:
        raise ValueError("no draws to score")
    for col, m, t, obs in _hidden_columns(truth, mask):
        d = np.stack([dr[col].to_numpy(dtype=np.float64, na_value=np.nan)[m] for dr in draws])
        yield col, t, d, obs
