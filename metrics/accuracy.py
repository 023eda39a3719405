"""Accuracy on hidden categorical cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.metrics.base import ALL, Goal, Metric, register_metric


@register_metric
class Accuracy(Metric):
    """Share of hidden categorical (and ordinal) cells whose imputed level equals the true one.

    Pooled over all hidden categorical cells for ``__all__``; per column over that column's.
    Cells missing in the source are never scored. The usual categorical score of mixed-type
    imputation papers (e.g. MissForest's PFC = 1 - accuracy, Stekhoven & Buehlmann 2012).
    """

    name = "accuracy"
    goal = Goal.MAXIMIZE
    min_value = 0.0
    max_value = 1.0
    kinds = frozenset({"categorical", "ordinal"})
    definition = "hidden categorical cells imputed with the true level / hidden categorical cells"
    reference = "Stekhoven & Buehlmann 2012 (PFC = 1 - accuracy)"

    def compute(self, truth, imputed, mask):
        out, hits, count = {}, 0, 0
        for j, col in enumerate(truth.columns):
            if not isinstance(truth[col].dtype, pd.CategoricalDtype):
                continue
            t = truth[col].cat.codes.to_numpy()
            m = mask[:, j] & (t >= 0)
            if not m.any():
                continue
            imp, levels = imputed[col], truth[col].cat.categories
            if isinstance(imp.dtype, pd.CategoricalDtype) and imp.cat.categories.equals(levels):
                i = imp.cat.codes.to_numpy()
            else:
                # Levels by value; one outside the truth's categories (or NaN) gets -1, a miss.
                i = levels.get_indexer(np.asarray(imp, dtype=object))
            ok = i[m] == t[m]
            out[col] = float(ok.mean())
            hits += int(ok.sum())
            count += int(ok.size)
        if count:
            out[ALL] = hits / count
        return out
