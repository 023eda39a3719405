"""The cluster-log utility metric of Woo et al. (2009), a table-level metric.

See ``metrics/tables.py`` for what is compared in imputation (the rows with a hidden cell, true
vs imputed) and how draws are averaged.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.metrics.base import ALL, Goal, register_metric
from imputebench.metrics.tables import TableMetric, encode

FLOOR = 1e-12


def cluster_utility(labels: np.ndarray, is_reference: np.ndarray, weights: str = "uniform"
                    ) -> float:
    """``U_c = (1/G) sum_j w_j (n_j^ref / n_j - c)**2`` over the non-empty clusters ``j`` of
    ``labels``, ``c`` the reference share of all rows, ``w_j = 1`` (``uniform``) or
    ``G n_j / N`` (``size``)."""
    labels = np.asarray(labels)
    is_reference = np.asarray(is_reference, dtype=bool)
    _, inv = np.unique(labels, return_inverse=True)
    n_j = np.bincount(inv)
    ref_j = np.bincount(inv, weights=is_reference.astype(np.float64))
    g, n = n_j.size, labels.size
    c = is_reference.mean()
    if weights == "uniform":
        w = np.ones(g)
    elif weights == "size":
        w = g * n_j / n
    else:
        raise ImputebenchError(f"cluster_log: weights must be 'uniform' or 'size', got "
                               f"{weights!r}")
    return float(np.mean(w * (ref_j / n_j - c) ** 2))


def cluster_log_tables(reference: pd.DataFrame, compared: pd.DataFrame, n_clusters: int = 20,
                       weights: str = "uniform", seed: int = 0) -> dict[str, float]:
    """``{"__all__": log(max(U_c, 1e-12)), "U": U_c, "G": clusters}`` for two aligned tables,
    clustered together by k-means (see :class:`ClusterLog`)."""
    from sklearn.cluster import KMeans

    if not isinstance(n_clusters, int | np.integer) or n_clusters < 2:
        raise ImputebenchError(f"cluster_log: n_clusters must be an integer >= 2, got "
                               f"{n_clusters!r}")
    x_ref, x_comp, names = encode(reference, compared)
    x = np.concatenate([x_ref, x_comp], axis=0)
    onehot = np.array(["=" in nm for nm in names], dtype=bool)
    x[:, onehot] *= math.sqrt(0.5)  # a category mismatch weighs as a 1-sd numeric gap
    x = np.nan_to_num(x)  # (source-missing cells were filled on both sides: none remain)
    # distinct rows, counted by a random projection (equal rows project equally)
    distinct = np.unique(np.round(x @ np.random.default_rng(0).standard_normal(x.shape[1]), 9))
    g = int(min(n_clusters, distinct.size))
    if g < 2:
        u = 0.0
    else:
        labels = KMeans(n_clusters=g, n_init=1, random_state=seed).fit_predict(x)
        is_ref = np.r_[np.ones(len(x_ref), bool), np.zeros(len(x_comp), bool)]
        u = cluster_utility(labels, is_ref, weights)
    return {ALL: math.log(max(u, FLOOR)), "U": u, "G": float(g)}


@register_metric
class ClusterLog(TableMetric):
    """Cluster-log utility: ``log U_c`` of Woo et al. (2009), lower is better.

    Stack the reference and compared rows, cluster them into ``G`` groups, and measure how far
    each cluster's share of reference rows is from the overall share ``c``:
    ``U_c = (1/G) sum_j w_j (n_j^ref / n_j - c)**2``; the metric is ``log(max(U_c, 1e-12))``
    (the floor makes identical tables, where every row's twin shares its cluster and
    ``U_c = 0``, a finite value, ``log 1e-12 = -27.6``). In imputation ``c = 0.5``; ``U_c`` is
    at most ``0.25`` (clusters holding one side only), so the metric lies in
    ``[-27.6, log 0.25 = -1.39]``.

    Choices the paper leaves open, stated: ``G = 20`` clusters (fewer when the stacked table
    has fewer distinct rows), weights ``w_j = 1``; clustering by k-means (scikit-learn
    ``KMeans``, k-means++ start, one start, seed 0, so deterministic) on the encoded table:
    numeric columns z-scored on the pooled rows, categorical columns one-hot with each
    indicator scaled by ``sqrt(1/2)``, so that a category mismatch adds 1 to the squared
    distance, as a one-sd numeric gap does (k-means on this encoding rather than
    k-prototypes, which the issue allows; k-prototypes' own starts fail at large G, see the
    project's notes). ``cluster_log_tables`` takes any ``G``, ``weights="size"``
    (``w_j = G n_j / N``) and seed. Compared values are first rounded to the reference's
    decimal precision. Normalized linearly on ``[-27.6, 0]``, 1 = best.

    References
    ----------
    Woo, M.-J., Reiter, J. P., Oganian, A., Karr, A. F. (2009). Global measures of data utility
    for microdata masked for disclosure limitation. Journal of Privacy and Confidentiality
    1(1), 111-124.
    """

    name = "cluster_log"
    goal = Goal.MINIMIZE
    min_value = math.log(FLOOR)
    max_value = 0.0
    n_clusters: ClassVar[int] = 20
    weights: ClassVar[str] = "uniform"
    definition = ("log(max(U_c, 1e-12)), U_c = (1/G) sum_j (n_j^ref / n_j - c)^2 over G = 20 "
                  "k-means clusters of the stacked rows (z-scored numerics, one-hot "
                  "categoricals scaled by sqrt(1/2)), c the reference share (0.5)")
    reference = ("Woo, Reiter, Oganian & Karr (2009). Global measures of data utility for "
                 "microdata masked for disclosure limitation. J. Privacy and Confidentiality.")

    def score_tables(self, reference, compared):
        return cluster_log_tables(reference, compared, self.n_clusters, self.weights,
                                  self.random_state)
