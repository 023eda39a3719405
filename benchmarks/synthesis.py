"""The synthesis task: generators of whole tables scored against the rows they learned from.

A config with ``task = "synthesis"`` runs, per dataset and repetition, the protocol of Pathare
et al. (2023), with a holdout half as in the synthpop and SDMetrics practice:

1. **Split.** A seeded permutation puts ``round(holdout * n)`` rows (``holdout``: the config's
   ``[split]``, default one half) in the *holdout* and the others in *train*. The split is a
   cell's "mask" (:class:`SplitSpec`; a holdout row is a row with every cell hidden), so the
   journal, resume, seeds and the report treat it as they treat a mask: every generator of a
   repetition sees the same split.
2. **Generate.** A second seeded permutation halves the holdout into *baseline* rows and
   *reference* rows. Each generator (an imputer with the ``generates`` capability) fits on
   train and samples as many rows as the baseline half with ``sample_rows``. The
   pseudo-generator ``holdout`` returns the baseline rows themselves: real rows no model saw,
   what a perfect generator scores. A model that does not generate is a skipped cell.
3. **Score.** Every metric of the config must be table-level (``TableMetric``: pMSE with its
   propensity models, cluster-log, correlation difference, ...; or one derived from one).
   ``metrics`` compares the synthetic table with the *reference* rows, which neither the
   generators nor the baseline saw; ``metrics_vs_train`` compares it with *train*, as Pathare
   et al. do. Why both: against train, a generator that copies training rows (synthpop's CART
   copies whole rows of small tables) beats real unseen rows, because a propensity model
   cannot separate a row from its twin (measured: on penguins CART's pMSE against train was
   0.011 and the holdout rows' 0.015); against unseen rows a copy is just another real row
   and the real baseline is, in expectation, the best any generator can do.
4. **Memorisation** (``privacy``): the share of synthetic rows identical to a train row
   (numeric values rounded to the train column's precision) and the median distance to the
   closest train record (DCR; z-scored numeric columns, a categorical mismatch counts 1,
   Euclidean, at most ``DCR_ROWS`` synthetic rows), also for the baseline rows;
   ``dcr_ratio`` = the generator's median DCR over the baseline's (below 1: closer to the
   training rows than unseen real rows are).
5. **Machine-learning efficiency** (``utility``, when the table carries its declared target):
   XGBoost (``metrics.utility``) trained on the synthetic rows and on train, both tested on the
   reference rows (accuracy or R^2), and their difference.
6. **The same model as an imputer** (``metrics_as_imputer``, when ``[split] impute_rate`` is
   set and the generator also imputes rows it was not fitted on): a seeded MCAR mask hides
   that share of the *baseline* rows' cells, the fitted generator fills them with one draw of
   ``sample`` (a draw, like a synthetic row, not the conditional mean, which would shrink the
   spread a propensity model sees), and the metrics compare the completed baseline with the
   reference rows. So one model is scored on one scale three ways: ``holdout`` (the baseline
   itself: a perfect imputer and a perfect generator), as an imputer (``impute_rate`` of the
   cells from the model, the rest real), and as a generator (every cell from the model).

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
DCR_ROWS = 5000              # synthetic rows whose distance to the closest record is measured


@dataclass(frozen=True)
class SplitSpec:
    """The train / holdout split of the synthesis task; ``rate`` is the holdout share;
    ``impute_rate`` (optional) the MCAR share of baseline cells a generator that also imputes
    fills in (module docstring, step 6)."""

    rate: float = 0.5
    mechanism: str = "split"
    impute_rate: float | None = None

    def __post_init__(self) -> None:
        for key, v in (("holdout", self.rate), ("impute_rate", self.impute_rate)):
            if key == "impute_rate" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 < v < 1.0:
                raise ImputebenchError(f"[split] {key} must be a share strictly between 0 and "
                                       f"1, got {v!r}")
        object.__setattr__(self, "rate", float(self.rate))
        if self.impute_rate is not None:
            object.__setattr__(self, "impute_rate", float(self.impute_rate))

    def to_dict(self) -> dict:
        out = {"mechanism": self.mechanism, "rate": self.rate}
        if self.impute_rate is not None:
            out["impute_rate"] = self.impute_rate
        return out

    def label(self) -> str:
        extra = "" if self.impute_rate is None else f", impute {self.impute_rate:g}"
        return f"split({self.rate:g}{extra})"


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


def parts(truth: pd.DataFrame, mask: np.ndarray, seed: int
          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, baseline, reference) tables of a split (module docstring)."""
    hold = np.flatnonzero(holdout_rows(mask))
    perm = np.random.default_rng([seed, 1]).permutation(hold)
    k = len(perm) // 2
    out = (truth.iloc[np.flatnonzero(~holdout_rows(mask))], truth.iloc[np.sort(perm[:k])],
           truth.iloc[np.sort(perm[k:])])
    tables = tuple(t.reset_index(drop=True) for t in out)
    for t in tables:
        t.attrs = dict(truth.attrs)
    return tables


def _keys(t: pd.DataFrame) -> pd.Series:
    """One hash per row; missing cells equal each other (NaN alone would not)."""
    obj = t.astype(object).where(t.notna(), "<NA>")
    return pd.Series([hash(row) for row in obj.itertuples(index=False)])


def _encode_for_distance(train: pd.DataFrame, other: pd.DataFrame) -> tuple[np.ndarray, ...]:
    blocks_a, blocks_b = [], []
    for col in train.columns:
        a, b = train[col], other[col]
        if isinstance(a.dtype, pd.CategoricalDtype):
            cats = a.cat.categories
            codes_b = pd.Categorical(b.astype(object), categories=cats).codes
            eye = np.eye(len(cats) + 1)[:, :len(cats)] / np.sqrt(2.0)   # mismatch -> 1
            blocks_a.append(eye[a.cat.codes.to_numpy()])
            blocks_b.append(eye[codes_b])
        else:
            x = a.to_numpy(dtype=np.float64, na_value=np.nan)
            mu, sd = np.nanmean(x), np.nanstd(x)
            sd = sd if sd > 0 else 1.0
            blocks_a.append(np.nan_to_num((x - mu) / sd)[:, None])
            y = b.to_numpy(dtype=np.float64, na_value=np.nan)
            blocks_b.append(np.nan_to_num((y - mu) / sd)[:, None])
    return np.hstack(blocks_a), np.hstack(blocks_b)


def privacy(train: pd.DataFrame, synthetic: pd.DataFrame, baseline: pd.DataFrame,
            seed: int) -> dict[str, float]:
    """Exact-copy rates and median distances to the closest train record (module docstring)."""
    from sklearn.neighbors import NearestNeighbors

    from imputebench.metrics.tables import round_like

    train_keys = set(_keys(train))
    out = {}
    nn = None
    for what, t in (("", synthetic), ("baseline_", baseline)):
        t = round_like(train, t)
        out[f"{what}copy_rate"] = float(_keys(t).isin(train_keys).mean())
        if len(t) > DCR_ROWS:
            t = t.iloc[np.sort(np.random.default_rng(seed).choice(len(t), DCR_ROWS, False))]
        xa, xb = _encode_for_distance(train, t)
        if nn is None:
            nn = NearestNeighbors(n_neighbors=1).fit(xa)
        out[f"{what}dcr_median"] = float(np.median(nn.kneighbors(xb)[0][:, 0]))
    base = out["baseline_dcr_median"]
    out["dcr_ratio"] = out["dcr_median"] / base if base > 0 else float("nan")
    return out


def utility(train: pd.DataFrame, synthetic: pd.DataFrame, reference: pd.DataFrame
            ) -> dict[str, float] | None:
    """TSTR and TRTR scores on the reference rows, when the table has a declared target."""
    from imputebench.metrics.utility import utility_scores

    target = train.attrs.get("target")
    if not isinstance(target, str) or target not in train.columns:
        return None
    real = utility_scores(train, reference, target)
    syn = utility_scores(synthetic, reference, target)
    return {"target": target, "synthetic": syn, "real": real, "gap": real - syn}


def table_type(truth: pd.DataFrame) -> dict[str, str]:
    """The study's dataset types: ``columns`` is ``numeric``, ``categorical`` or ``mixed`` by
    the kinds of the columns other than the declared target; ``target`` is ``balanced`` when
    every class of a categorical target holds at least half the share of a uniform split
    (``>= 1 / (2k)`` for ``k`` classes), ``unbalanced`` otherwise, ``numeric`` for a numeric
    target and ``none`` without one."""
    from imputebench.datasets.schema import NUMERIC, column_kinds

    target = truth.attrs.get("target")
    target = target if isinstance(target, str) and target in truth.columns else None
    kinds = [k for c, k in column_kinds(truth).items() if c != target]
    numeric = sum(k == NUMERIC for k in kinds)
    columns = ("numeric" if numeric == len(kinds) else "categorical" if numeric == 0
               else "mixed")
    if target is None:
        balance = "none"
    elif not isinstance(truth[target].dtype, pd.CategoricalDtype):
        balance = "numeric"
    else:
        shares = truth[target].value_counts(normalize=True)
        shares = shares[shares > 0]
        balance = "balanced" if shares.min() >= 1 / (2 * len(shares)) else "unbalanced"
    return {"columns": columns, "target": balance}


def impute_baseline(gen, baseline: pd.DataFrame, rate: float, cell
                    ) -> tuple[pd.DataFrame, dict]:
    """The baseline rows with an MCAR share ``rate`` of their cells hidden and filled by one
    draw of the fitted generator (module docstring, step 6); and what was done."""
    from imputebench.datasets.masking import MaskSpec, achieved_rate, make_mask

    mask = make_mask(baseline, MaskSpec("mcar", rate),
                     np.random.default_rng([int(cell.mask_seed), 2]))
    t = time.perf_counter()
    imputed = gen.sample(baseline.mask(mask), 1, random_state=cell.imputer_seed)[0]
    return imputed, {"mechanism": "mcar", "rate": rate,
                     "achieved_rate": float(achieved_rate(baseline, mask)),
                     "seconds": time.perf_counter() - t, "draws": 1}


def run_synthesis(cell, truth: pd.DataFrame, mask: np.ndarray, metrics, skip_error) -> dict:
    """One synthesis cell (module docstring); ``skip_error`` is the exception class of a
    skipped cell."""
    from imputebench.imputers import get_imputer

    train, baseline, reference = parts(truth, mask, cell.mask_seed)
    name, params = cell.imputer.name, cell.imputer.kwargs
    diagnostics = None
    t0 = time.perf_counter()
    if name == HOLDOUT:
        synthetic, device = baseline, "cpu"
        t1 = t0
    else:
        gen = get_imputer(name, **params)
        if not gen.capabilities.generates:
            raise skip_error(f"{name} does not generate whole rows (no 'generates' capability)")
        if "random_state" in gen.get_params() and "random_state" not in params:
            gen.set_params(random_state=cell.imputer_seed)
        gen.fit(train)
        t1 = time.perf_counter()
        synthetic = gen.sample_rows(len(baseline), random_state=cell.imputer_seed)
        device = str(getattr(gen, "device_", None) or gen.get_params().get("device", "cpu"))
        diagnostics = getattr(gen, "diagnostics_", None)
    t2 = time.perf_counter()
    as_imputer = None
    spec = cell.mask
    if (getattr(spec, "impute_rate", None) and name != HOLDOUT and gen.capabilities.imputes
            and gen.capabilities.out_of_sample):
        as_imputer = impute_baseline(gen, baseline, spec.impute_rate, cell)
    scores, errors, seconds = score_tables(metrics, reference, synthetic)
    vs_train, train_errors, _ = score_tables(metrics, train, synthetic)
    out = {"metrics": scores, "metrics_vs_train": vs_train,
           "fit_seconds": t1 - t0, "impute_seconds": t2 - t1,
           "device": device, "metric_seconds": seconds,
           "n_train": int(len(train)), "n_reference": int(len(reference)),
           "n_synthetic": int(len(synthetic)), "table_type": table_type(truth)}
    for key, fn in (("privacy", lambda: privacy(train, synthetic, baseline, cell.mask_seed)),
                    ("utility", lambda: utility(train, synthetic, reference))):
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - recorded, the metrics stay
            errors[key] = f"{type(exc).__name__}: {exc}"
        else:
            if value is not None:
                out[key] = value
    if as_imputer is not None:
        imputed, info = as_imputer
        out["metrics_as_imputer"], imp_errors, _ = score_tables(metrics, reference, imputed)
        out["as_imputer"] = info
        errors.update({f"{k} (as imputer)": v for k, v in imp_errors.items()})
    errors.update({f"{k} (vs train)": v for k, v in train_errors.items()})
    if isinstance(diagnostics, dict):
        out["diagnostics"] = json.loads(json.dumps(diagnostics, default=str))
    if errors:
        out["metric_errors"] = errors
    return out
