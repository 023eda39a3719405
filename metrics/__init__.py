"""Metrics: the base class, the registry and one file per metric family."""

from imputebench.metrics.base import (
    ALL,
    Goal,
    Metric,
    available_metrics,
    get_metric,
    register_metric,
)

__all__ = ["ALL", "Goal", "Metric", "available_metrics", "get_metric", "register_metric"]
