"""Datasets, typed tables and masking: the bottom layer, importing nothing else of ours."""

from imputebench.datasets.base import (
    Dataset,
    available_datasets,
    get_dataset,
    load_dataset,
    register_dataset,
)
from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.masking import MaskSpec, available_mechanisms, make_mask
from imputebench.datasets.schema import (
    CATEGORICAL,
    NUMERIC,
    ORDINAL,
    categorical_columns,
    column_kinds,
    make_typed,
    numeric_columns,
    validate_table,
)

__all__ = [
    "CATEGORICAL", "NUMERIC", "ORDINAL", "Dataset", "ImputebenchError", "MaskSpec",
    "available_datasets", "available_mechanisms", "categorical_columns", "column_kinds",
    "get_dataset", "load_dataset", "make_mask", "make_typed", "numeric_columns",
    "register_dataset", "validate_table",
]
