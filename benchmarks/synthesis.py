"""The synthesis task: generators of whole tables scored against the rows they learned from.

A config with ``task = "synthesis"`` runs, per dataset and repetition, the protocol of Pathare
et al. (2023), with a holdout half as in the synthpop and SDMetrics practice:

1. **Split.** A seeded permutation puts ``round(holdout * n)`` rows (``holdout``: the config's
   ``[split]``, default one half) in the *holdout* and the others in *train*. The split is a
   cell's "mask" (:class:`SplitSpec`; a holdout row is a row with every cell hidden), so the
   journal, resume, seeds and the report treat it as they treat a mask: every generator of a
   repetition sees the same split.
2. **Generate.** Each generator (an imputer with the ``generates`` capability) fits on train
   and samples ``len(train)`` rows with ``sample_rows``. The pseudo-generator ``holdout``
   returns the holdout rows themselves: real rows no model saw, what a perfect generator
   scores. A model that does not generate is a skipped cell.
3. **Score.** Every metric of the config must be table-level (``TableMetric``: pMSE with its
   propensity models, cluster-log, correlation difference, ...; or one derived from one); each
   compares the synthetic table with *train* (``score(train, synthetic)``).

The record has the usual fields: ``fit_seconds`` (training), ``impute_seconds`` (sampling),
``device`` and the generator's ``diagnostics``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.metrics import ALL, get_metric
from imputebench.metrics.tables import TableMetric

TASKS = ("imputation", "synthesis")
HOLDOUT = "holdout"          # the pseudo-generator: the real rows the generators never saw


@dataclass(frozen=True)
class SplitSpec:
    """The train / holdout split of the synthesis task; ``rate`` is the holdout share."""

    rate: float = 0.5
    mechanism: str = "split"

    def __post_init__(self) -> None:
        v = self.rate
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 < v < 1.0:
            raise ImputebenchError(f"[split] holdout must be a share strictly between 0 and 1, "
                                   f"got {v!r}")
        object.__setattr__(self, "rate", float(v))

    def to_dict(self) -> dict:
        return {"mechanism": self.mechanism, "rate": self.rate}

    def label(self) -> str:
        return f"split({self.rate:g})"


def split_mask(df: pd.DataFrame, spec: SplitSpec, seed: int) -> np.ndarray:
    """Whole holdout rows marked True (source NaN stay False), ``round(rate * n)`` of them."""
    n = len(df)
    k = int(round(spec.rate * n))
    if k < 2 or n - k < 2:
        raise ImputebenchError(f"a train / holdout split of {n} rows at holdout share "
                               f"{spec.rate:g} leaves {n - k} train and {k} holdout rows; "
                               "each side needs at least 2")
    rows = np.random.default_rng(seed).permutation(n)[:k]
    mask = np.zeros(df.shape, dtype=bool)
    mask[rows] = True
    return mask & df.notna().to_numpy()


def holdout_rows(mask: np.ndarray) -> np.ndarray:
    """The holdout rows of a split mask."""
    return np.asarray(mask, dtype=bool).any(axis=1)


def check_metrics(metrics) -> None:
    """Refuse metrics that score imputed cells: a synthesis run compares whole tables."""
    bad = [m for m in metrics if not _table_metric(get_metric(m))]
    if bad:
        raise ImputebenchError(f"a synthesis run compares whole tables, but metric(s) {bad} "
                               "score imputed cells; use table-level metrics (pmse, pmse_cart, "
                               "cluster_log, corr_diff and their ratios)")


def _table_metric(m) -> bool:
    if isinstance(m, TableMetric):
        return True
    return m.derived_from is not None and isinstance(get_metric(m.derived_from[0]), TableMetric)


def score_tables(metrics, train: pd.DataFrame, synthetic: pd.DataFrame
                 ) -> tuple[dict, dict, dict]:
    """Each metric once on (train, synthetic): (scores, errors, seconds); a derived metric
    reads its parent's result (computed once even when only the derived one is asked)."""
    results: dict[str, dict | Exception] = {}
    seconds: dict[str, float] = {}

    def parent_result(name: str):
        if name not in results:
            t = time.perf_counter()
            try:
                results[name] = get_metric(name).score(train, synthetic)
            except Exception as exc:  # noqa: BLE001 - one metric's failure is recorded
                results[name] = exc
            seconds[name] = time.perf_counter() - t
        return results[name]

    scores, errors = {}, {}
    for name in metrics:
        m = get_metric(name)
        parent, key = m.derived_from if m.derived_from else (name, ALL)
        value = parent_result(parent)
        if isinstance(value, Exception):
            errors[name] = f"{type(value).__name__}: {value}"
        elif m.derived_from is None:
            scores[name] = {k: float(v) for k, v in value.items()}
        elif key in value:
            scores[name] = {ALL: float(value[key])}
    return scores, errors, {k: v for k, v in seconds.items() if k in metrics}


def run_synthesis(cell, truth: pd.DataFrame, mask: np.ndarray, metrics, skip_error) -> dict:
    """One synthesis cell (module docstring); ``skip_error`` is the exception class of a
    skipped cell."""
    from imputebench.imputers import get_imputer

    hold = holdout_rows(mask)
    train = truth[~hold].reset_index(drop=True)
    holdout = truth[hold].reset_index(drop=True)
    train.attrs = holdout.attrs = dict(truth.attrs)
    name, params = cell.imputer.name, cell.imputer.kwargs
    diagnostics = None
    t0 = time.perf_counter()
    if name == HOLDOUT:
        synthetic, device = holdout, "cpu"
        t1 = t0
    else:
        gen = get_imputer(name, **params)
        if not gen.capabilities.generates:
            raise skip_error(f"{name} does not generate whole rows (no 'generates' capability)")
        if "random_state" in gen.get_params() and "random_state" not in params:
            gen.set_params(random_state=cell.imputer_seed)
        gen.fit(train)
        t1 = time.perf_counter()
        synthetic = gen.sample_rows(len(train), random_state=cell.imputer_seed)
        device = str(getattr(gen, "device_", None) or gen.get_params().get("device", "cpu"))
        diagnostics = getattr(gen, "diagnostics_", None)
    t2 = time.perf_counter()
    scores, errors, seconds = score_tables(metrics, train, synthetic)
    out = {"metrics": scores, "fit_seconds": t1 - t0, "impute_seconds": t2 - t1,
           "device": device, "metric_seconds": seconds,
           "n_train": int(len(train)), "n_holdout": int(len(holdout)),
           "n_synthetic": int(len(synthetic))}
    if isinstance(diagnostics, dict):
        out["diagnostics"] = json.loads(json.dumps(diagnostics, default=str))
    if errors:
        out["metric_errors"] = errors
    return out
