"""Table-level metrics: what is compared, and the shared preparation of the two tables.

A table-level metric compares a *reference* table with a *compared* table of the same columns
and kinds. Two uses share the same code:

* **imputation** (``Metric.compute(truth, draws, mask)``): reference = the ground-truth rows
  that had at least one hidden cell; compared = the same rows after imputation. Rows with no
  hidden cell are identical on both sides and would only dilute the signal, so they are left
  out. Cells missing in the source (never hidden, never scored) take the imputed value on both
  sides, so they carry no signal either. For an imputer that draws, the metric is the mean of
  its value over the distinct draws (at most ``max_draws`` of them); a deterministic imputer's
  identical draws count once, so its value is that of ``transform``'s table;
* **synthetic data** (``TableMetric.score(reference, compared)``): any two tables, e.g. a
  generator's ``sample_rows(n)`` against its training table.

Before any score, numeric values of the compared table are rounded to the decimal precision of
the reference column (a classifier must not tell the sides apart by their decimals), and
categorical columns keep the reference's category set on both sides.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import column_kinds
from imputebench.metrics.base import ALL, Metric

_MAX_DECIMALS = 10


def decimals(values: np.ndarray) -> int | None:
    """The fewest decimals ``d <= 10`` that represent every finite value, or None (full
    precision). A value ``v`` is represented when ``|round(v, d) - v| <= 1e-12 * max(1, |v|)``
    (float64 rounding of a decimal literal is far below that; a full-precision value is not)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    tol = 1e-12 * np.maximum(1.0, np.abs(v))
    for d in range(_MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(v, d) - v) <= tol):
            return d
    return None


def round_like(reference: pd.DataFrame, compared: pd.DataFrame) -> pd.DataFrame:
    """``compared`` with each numeric column rounded to the precision of ``reference``'s."""
    out = compared.copy()
    for col, kind in column_kinds(reference).items():
        if kind == "numeric":
            d = decimals(reference[col].to_numpy(dtype=np.float64, na_value=np.nan))
            if d is not None:
                out[col] = np.round(out[col].to_numpy(dtype=np.float64, na_value=np.nan), d)
    return out


def align(reference: pd.DataFrame, compared: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check two tables are comparable; return them with the same columns, kinds and category
    sets (the union, reference's order first), and ``compared`` rounded like ``reference``."""
    if not isinstance(reference, pd.DataFrame) or not isinstance(compared, pd.DataFrame):
        raise ImputebenchError("a table-level metric compares two pandas DataFrames, got "
                               f"{type(reference).__name__} and {type(compared).__name__}")
    if list(reference.columns) != list(compared.columns):
        raise ImputebenchError("the tables to compare have different columns: "
                               f"{list(reference.columns)} vs {list(compared.columns)}")
    if len(reference) == 0 or len(compared) == 0:
        raise ImputebenchError(f"cannot compare an empty table (rows: {len(reference)} "
                               f"reference, {len(compared)} compared)")
    kr, kc = column_kinds(reference), column_kinds(compared)
    if kr != kc:
        diff = {c: (kr[c], kc[c]) for c in kr if kr[c] != kc[c]}
        raise ImputebenchError(f"the tables to compare have different column kinds: {diff}")
    reference, compared = reference.copy(), compared.copy()
    for col, kind in kr.items():
        if kind != "numeric":
            cats = list(reference[col].cat.categories)
            cats += [c for c in compared[col].cat.categories if c not in set(cats)]
            ordered = bool(reference[col].cat.ordered)
            reference[col] = reference[col].cat.set_categories(cats, ordered=ordered)
            compared[col] = compared[col].cat.set_categories(cats, ordered=ordered)
    return reference, round_like(reference, compared)


def comparison_rows(truth: pd.DataFrame, imputed: pd.DataFrame, mask: np.ndarray
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reference, compared) for imputation: the rows with a hidden cell, true and imputed.

    Cells missing in the source are NaN in ``truth``; both sides take the imputed value there.
    """
    mask = np.asarray(mask, dtype=bool)
    rows = mask.any(axis=1)
    if not rows.any():
        raise ImputebenchError("no hidden cell: there is nothing to compare")
    ref = truth.loc[rows].copy()
    comp = imputed.loc[rows]
    for col in truth.columns:
        missing = ref[col].isna().to_numpy()
        if missing.any():
            ref.loc[missing, col] = comp.loc[missing, col].to_numpy()
    return ref, comp.copy()


def distinct(draws: list[pd.DataFrame], mask: np.ndarray, limit: int) -> list[pd.DataFrame]:
    """The first ``limit`` draws that differ at a hidden cell from every earlier kept one."""
    mask = np.asarray(mask, dtype=bool)
    kept, seen = [], []
    for d in draws:
        key = [d[c].to_numpy()[mask[:, j]] for j, c in enumerate(d.columns)]
        if any(all(np.array_equal(a, b) for a, b in zip(key, s, strict=True)) for s in seen):
            continue
        kept.append(d)
        seen.append(key)
        if len(kept) == limit:
            break
    return kept


def encode(reference: pd.DataFrame, compared: pd.DataFrame, *, min_share: float = 0.0,
           scale: bool = True, drop_most_frequent: bool = False
           ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Both tables as numeric matrices with the same columns.

    Numeric columns are z-scored with the pooled mean and sd of both sides (``scale``);
    categorical and ordinal columns are one-hot encoded over the pooled category set, levels
    with a pooled share below ``min_share`` lumped into one ``<rare>`` column, and with
    ``drop_most_frequent`` the indicator of the most frequent of those columns left out (the
    baseline level of a regression design). Returns (reference matrix, compared matrix,
    column names).
    """
    both = pd.concat([reference, compared], ignore_index=True)
    n_ref = len(reference)
    blocks, names = [], []
    for col, kind in column_kinds(both).items():
        if kind == "numeric":
            x = both[col].to_numpy(dtype=np.float64, na_value=np.nan)
            if scale:
                sd = np.nanstd(x)
                x = (x - np.nanmean(x)) / (sd if sd > 0 else 1.0)
            blocks.append(x[:, None])
            names.append(str(col))
            continue
        codes = both[col].cat.codes.to_numpy()
        n_lev = len(both[col].cat.categories)
        counts = np.bincount(codes[codes >= 0], minlength=n_lev)
        share = counts / max(len(both), 1)
        common = np.flatnonzero((share >= min_share) & (counts > 0))
        rare = np.flatnonzero((share < min_share) & (counts > 0))
        onehot = (codes[:, None] == common[None, :]).astype(np.float64)
        labels = [f"{col}={both[col].cat.categories[k]}" for k in common]
        if rare.size:
            onehot = np.column_stack([onehot, np.isin(codes, rare)]).astype(np.float64)
            labels.append(f"{col}=<rare>")
        if drop_most_frequent and labels:
            top = int(np.argmax(onehot.sum(axis=0)))
            onehot = np.delete(onehot, top, axis=1)
            del labels[top]
        blocks.append(onehot)
        names += labels
    x = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(both), 0))
    return x[:n_ref], x[n_ref:], names


class TableMetric(Metric):
    """Base of table-level metrics: implement ``score_tables(reference, compared)``.

    ``score_tables`` gets two aligned tables (same columns, kinds and categories; compared
    rounded like the reference) and returns ``{"__all__": value, ...}``; ``score`` is the
    public entry for any two tables, ``compute`` the harness's entry for imputation (see the
    module docstring for what is compared and how draws are averaged).
    """

    level = "table"
    uses = "draws"
    kinds = frozenset({"numeric", "categorical", "ordinal"})
    max_draws: ClassVar[int] = 5
    random_state: ClassVar[int] = 0

    def score_tables(self, reference: pd.DataFrame, compared: pd.DataFrame) -> dict[str, float]:
        raise NotImplementedError

    def score(self, reference: pd.DataFrame, compared: pd.DataFrame) -> dict[str, float]:
        """Compare any two tables of the same columns and kinds (e.g. real vs synthetic)."""
        return self.score_tables(*align(reference, compared))

    def compute(self, truth: pd.DataFrame, imputed, mask: np.ndarray) -> dict[str, float]:
        draws = [imputed] if isinstance(imputed, pd.DataFrame) else list(imputed)
        if not draws:
            raise ValueError("no draws to score")
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return {}
        values: dict[str, list[float]] = {}
        for d in distinct(draws, mask, self.max_draws):
            for k, v in self.score(*comparison_rows(truth, d, mask)).items():
                values.setdefault(k, []).append(float(v))
        return {k: float(np.mean(v)) for k, v in values.items() if len(v) == len(values[ALL])}
