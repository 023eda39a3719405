"""Typed tables: the dtypes of a DataFrame are its schema (DESIGN.md §3).

Numeric columns are ``float64``; categorical columns are pandas ``category`` (an *ordered*
category is ordinal). ``NaN`` means missing in the source. Helpers here derive column kinds from
dtypes and turn raw frames into typed tables; nothing else in the project guesses kinds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError

NUMERIC = "numeric"
CATEGORICAL = "categorical"
ORDINAL = "ordinal"
KINDS = (NUMERIC, CATEGORICAL, ORDINAL)


def column_kinds(df: pd.DataFrame) -> dict[str, str]:
    """Map each column of a typed table to ``numeric``, ``categorical`` or ``ordinal``."""
    kinds: dict[str, str] = {}
    for col, dtype in df.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            kinds[col] = ORDINAL if dtype.ordered else CATEGORICAL
        elif dtype == np.float64:
            kinds[col] = NUMERIC
        else:
            raise ImputebenchError(
                f"column {col!r} has dtype {dtype}; a typed table holds only float64 (numeric) "
                "and category (categorical/ordinal) columns: build it with make_typed()"
            )
    return kinds


def numeric_columns(df: pd.DataFrame) -> list[str]:
    return [c for c, k in column_kinds(df).items() if k == NUMERIC]


def categorical_columns(df: pd.DataFrame) -> list[str]:
    """Categorical and ordinal columns (everything held as ``category``)."""
    return [c for c, k in column_kinds(df).items() if k != NUMERIC]


def validate_table(df: object, what: str = "table") -> pd.DataFrame:
    """Check that ``df`` is a typed table and return it; raise one clear error otherwise."""
    if not isinstance(df, pd.DataFrame):
        raise ImputebenchError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise ImputebenchError(f"{what} has no columns")
    if df.shape[0] == 0:
        raise ImputebenchError(f"{what} has no rows")
    if not df.columns.is_unique:
        dup = df.columns[df.columns.duplicated()].tolist()
        raise ImputebenchError(f"{what} has duplicate column names: {dup}")
    column_kinds(df)
    return df


def make_typed(df: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return a typed copy of ``df``.

    ``kinds`` declares a kind per column; columns it does not name are inferred: a column whose
    non-missing values all parse as numbers (and that is not boolean) is numeric, anything else is
    categorical. Ordinal columns keep the order of their sorted levels unless they already are
    ordered categories.
    """
    kinds = dict(kinds or {})
    unknown = set(kinds) - set(df.columns)
    if unknown:
        raise ImputebenchError(f"declared kinds name columns not in the table: {sorted(unknown)}")
    bad = {c: k for c, k in kinds.items() if k not in KINDS}
    if bad:
        raise ImputebenchError(f"unknown column kind(s) {bad}; use one of {KINDS}")
    out = {}
    for col in df.columns:
        s = df[col]
        kind = kinds.get(col) or _infer_kind(s)
        if kind == NUMERIC:
            num = pd.to_numeric(s, errors="coerce")
            bad_cells = num.isna() & s.notna()
            if bad_cells.any():
                example = s[bad_cells].iloc[0]
                raise ImputebenchError(
                    f"column {col!r} is declared numeric but holds {int(bad_cells.sum())} "
                    f"non-numeric value(s), e.g. {example!r}"
                )
            out[col] = num.astype(np.float64)
        else:
            out[col] = _to_category(s, ordered=kind == ORDINAL)
    return pd.DataFrame(out, index=df.index)


def _infer_kind(s: pd.Series) -> str:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return ORDINAL if s.dtype.ordered else CATEGORICAL
    if pd.api.types.is_bool_dtype(s.dtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(s.dtype):
        return NUMERIC
    non_null = s.dropna()
    if len(non_null) and pd.to_numeric(non_null, errors="coerce").notna().all():
        return NUMERIC
    return CATEGORICAL


def _to_category(s: pd.Series, ordered: bool) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.cat.remove_unused_categories()
        if ordered and not cat.cat.ordered:
            cat = cat.cat.as_ordered()
        return cat
    values = s.astype(object).where(s.notna(), None)
    # Levels are strings so that CSV round trips and categories from different files agree.
    as_str = values.map(lambda v: v if v is None else str(v))
    levels = sorted(as_str.dropna().unique(), key=_level_key)
    return pd.Series(
        pd.Categorical(as_str, categories=levels, ordered=ordered), index=s.index, name=s.name
    )


def _level_key(v: str) -> tuple:
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def observed_mask(df: pd.DataFrame) -> np.ndarray:
    """Boolean array, True where a cell of ``df`` is observed (not NaN)."""
    return df.notna().to_numpy()
