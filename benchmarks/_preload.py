"""Imported once by the fork server of the local executor: every registry discovered, every
imputer module imported, so that each cell's forked worker starts warm (DESIGN.md §8)."""

from imputebench.datasets import available_datasets
from imputebench.imputers import available_imputers
from imputebench.metrics import available_metrics

available_datasets()
available_imputers()
available_metrics()
