"""Aggregate journal records into the numbers a report shows (DESIGN.md §9).

Everything here works from journal records alone (never by re-running a cell) and returns plain
data: the renderers in :mod:`imputebench.benchmarks.report.markdown` and
:mod:`imputebench.benchmarks.report.html` only format it. Orders are sorted, never taken from
the journal, so the same records always give the same report.

A *block* is one ``(dataset, dataset_params, mask)``: the unit over which imputers are compared.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from imputebench.benchmarks.report.stats import compare_blocks
from imputebench.metrics import ALL, get_metric

STATUSES = ("ok", "failed", "skipped", "timeout")
MISSING = "—"


def fmt(x: float | None, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits, fixed-point for 1e-4 <= |x| < 1e6.

    >>> fmt(0.12), fmt(12.3456), fmt(0.0), fmt(None)
    ('0.1200', '12.35', '0', '—')
    """
    if x is None or isinstance(x, bool) or not isinstance(x, int | float | np.number):
        return MISSING
    x = float(x)
    if math.isnan(x):
        return MISSING
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    x = float(f"{x:.{digits - 1}e}")  # round first: 0.0099999 has the magnitude of 0.01
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if -4 <= mag < 6:
        return f"{x:.{max(digits - 1 - mag, 0)}f}"
    return f"{x:.{digits - 1}e}"


def rank_text(rank: float) -> str:
    """An average rank with two decimals."""
    return f"{rank:.2f}"


def canonical(obj: Any) -> str:
    """A stable text key for a JSON-like value (sorted keys), used to group and sort."""
    return json.dumps(obj, sort_keys=True, default=str)


def value_text(v: Any) -> str:
    """A parameter value as shown: strings bare, anything else as compact JSON."""
    return v if isinstance(v, str) else canonical(v)


def dataset_name(name: str, params: dict | None) -> str:
    """``iris`` or ``iris(n_rows=500)``."""
    if not params:
        return str(name)
    inner = ", ".join(f"{k}={value_text(params[k])}" for k in sorted(params))
    return f"{name}({inner})"


def mask_name(mask: dict | None, with_rate: bool = True) -> str:
    """``mcar, rate=0.3, q=0.25``: mechanism first, then the rate, then other params sorted."""
    mask = mask or {}
    parts = [str(mask.get("mechanism", "?"))]
    if with_rate and "rate" in mask:
        parts.append(f"rate={value_text(mask['rate'])}")
    parts += [f"{k}={value_text(mask[k])}" for k in sorted(mask) if k not in ("mechanism", "rate")]
    return ", ".join(parts)


@dataclass
class Row:
    """One journal record, with the defaults and derived keys the report needs."""

    dataset: str
    dataset_params: dict
    n_rows: int | None
    n_cols: int | None
    mask: dict
    rate: float | None
    achieved_rate: float | None
    repetition: int
    label: str
    status: str
    reason: str
    metrics: dict[str, float]
    fit_seconds: float | None
    impute_seconds: float | None
    peak_memory_mb: float | None
    device: str
    versions: dict
    finished_at: str | None
    diagnostics: dict = field(default_factory=dict)
    imputer: str = ""
    params: dict = field(default_factory=dict)      # the config's params (``rec["params"]``)

    @property
    def dataset_key(self) -> tuple[str, str]:
        return (self.dataset, canonical(self.dataset_params))

    @property
    def mechanism_key(self) -> str:
        return canonical({k: v for k, v in self.mask.items() if k != "rate"})

    @property
    def mask_key(self) -> tuple:
        rate = self.rate if self.rate is not None else math.inf
        return (self.mechanism_key, rate, canonical(self.mask))

    @property
    def block_key(self) -> tuple:
        return (self.dataset_key, self.mask_key)


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _label(rec: dict) -> str:
    if rec.get("label"):
        return str(rec["label"])
    params = rec.get("params") or {}
    inner = ", ".join(f"{k}={value_text(params[k])}" for k in sorted(params))
    return f"{rec.get('imputer', '?')}({inner})" if inner else str(rec.get("imputer", "?"))


def normalize_records(records: list[dict]) -> list[Row]:
    """Turn journal records into sorted :class:`Row` objects.

    When a ``key`` appears twice (a retried cell) the later record wins. Only finite
    ``metrics[name]["__all__"]`` values of ``ok`` records are kept.
    """
    latest: dict[Any, dict] = {}
    for i, rec in enumerate(records):
        latest[rec.get("key") or ("#", i)] = rec
    rows = []
    for rec in latest.values():
        status = str(rec.get("status") or "unknown")
        metrics = {}
        if status == "ok":
            for name, per_col in (rec.get("metrics") or {}).items():
                v = _number(per_col.get(ALL)) if isinstance(per_col, dict) else _number(per_col)
                if v is not None:
                    metrics[str(name)] = v
        mask = dict(rec.get("mask") or {})
        rows.append(Row(
            dataset=str(rec.get("dataset", "?")), n_rows=rec.get("n_rows"),
            dataset_params=dict(rec.get("dataset_params") or {}), n_cols=rec.get("n_cols"),
            mask=mask,
            rate=_number(mask.get("rate")), achieved_rate=_number(rec.get("achieved_rate")),
            repetition=int(rec.get("repetition") or 0), label=_label(rec), status=status,
            reason=str(rec.get("reason") or ""), metrics=metrics,
            fit_seconds=_number(rec.get("fit_seconds")),
            impute_seconds=_number(rec.get("impute_seconds")),
            peak_memory_mb=_number(rec.get("peak_memory_mb")),
            device=str(rec.get("device") or "unknown"), versions=dict(rec.get("versions") or {}),
            finished_at=rec.get("finished_at"),
            diagnostics=dict(rec.get("diagnostics") or {}) if status == "ok" else {},
            imputer=str(rec.get("imputer") or ""),
            params=dict(rec["params"]) if isinstance(rec.get("params"), dict) else {},
        ))
    rows.sort(key=lambda r: (r.block_key, r.repetition, r.label, r.status))
    return rows


@dataclass(frozen=True)
class MetricInfo:
    """What the report says about a metric; unknown metrics are minimized, undefined."""

    name: str
    goal: str
    definition: str = ""
    reference: str = ""
    known: bool = True
    level: str = "cell"

    @property
    def minimize(self) -> bool:
        return self.goal != "maximize"


TABLE_LEVEL_NOTE = (
    "Table-level metrics compare the ground-truth rows that had a hidden cell (reference) with "
    "the same rows after imputation (compared); rows without a hidden cell are identical on "
    "both sides and left out, cells missing in the source take the imputed value on both sides, "
    "and compared numbers are rounded to the precision of the observed ones. They score the "
    "imputer's draws (`sample`), averaged over at most 5 distinct draws; a deterministic "
    "imputer's identical draws count once, so its score is that of its `transform` table.")


def metric_info(name: str) -> MetricInfo:
    """Look a metric up in the registry; a metric it does not know is minimized."""
    try:
        m = get_metric(name)
        goal = getattr(m.goal, "value", m.goal)
        return MetricInfo(name, str(goal), str(m.definition or ""), str(m.reference or ""),
                          level=str(m.level))
    except Exception:  # noqa: BLE001 - a plugin's metric may be gone when the report renders
        return MetricInfo(name, "minimize", known=False)


def imputer_reference(name: str) -> str:
    """The References section of a registered imputer's docstring, as one line ("" when the
    imputer is unknown here or cites nothing)."""
    try:
        from imputebench.imputers import get_imputer_class

        doc = get_imputer_class(name).__doc__ or ""
    except Exception:  # noqa: BLE001 - a plugin's imputer may be gone when the report renders
        return ""
    m = re.search(r"References\n\s*-+\n(.*?)(?:\n\s*\n\s*[A-Z][A-Za-z ]+\n\s*-{3,}|\Z)", doc,
                  flags=re.S)
    return " ".join(m.group(1).split()) if m else ""


@dataclass(frozen=True)
class Stat:
    """Mean, sample sd (ddof=1, NaN for one value) and count over repetitions."""

    mean: float
    sd: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        a = np.asarray(values, dtype=np.float64)
        sd = float(np.std(a, ddof=1)) if a.size > 1 else math.nan
        return cls(float(np.mean(a)), sd, int(a.size))

    def text(self, n_expected: int | None = None) -> str:
        """``mean ± sd`` (just the mean for one value), ``(n=k)`` when repetitions are missing."""
        # an sd at float noise level (identical values) reads 0, not 1.7e-17
        sd = 0.0 if self.sd <= 1e-10 * abs(self.mean) else self.sd
        out = fmt(self.mean) if self.n < 2 else f"{fmt(self.mean)} ± {fmt(sd)}"
        if n_expected is not None and self.n < n_expected:
            out += f" (n={self.n})"
        return out


@dataclass
class BlockTable:
    """One dataset × mask table: imputer labels × metrics."""

    dataset: str
    dataset_params: dict
    n_rows: int | None
    n_cols: int | None
    mask: dict
    achieved_rate: float | None
    repetitions: int
    labels: list[str]
    metrics: list[str]
    values: dict[tuple[str, str], Stat]
    runs: dict[str, tuple[int, int]]
    best: dict[str, set[str]] = field(default_factory=dict)

    @property
    def dataset_title(self) -> str:
        return dataset_name(self.dataset, self.dataset_params)

    @property
    def mask_title(self) -> str:
        return mask_name(self.mask)


def _group(rows: list[Row], key) -> dict:
    out: dict = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return dict(sorted(out.items(), key=lambda kv: kv[0]))


def block_tables(rows: list[Row], infos: dict[str, MetricInfo]) -> list[BlockTable]:
    """Per ``(dataset, dataset_params, mask)`` a table of mean ± sd over repetitions."""
    tables = []
    for _, brows in _group(rows, lambda r: r.block_key).items():
        first = brows[0]
        labels = sorted({r.label for r in brows})
        metrics = sorted({m for r in brows for m in r.metrics})
        values = {}
        for label in labels:
            for m in metrics:
                vals = [r.metrics[m] for r in brows if r.label == label and m in r.metrics]
                if vals:
                    values[(label, m)] = Stat.of(vals)
        best = {}
        for m in metrics:
            shown = {lb: fmt(values[(lb, m)].mean) for lb in labels if (lb, m) in values}
            if shown:
                pick = min if infos[m].minimize else max
                top = pick(values[(lb, m)].mean for lb in shown)
                best[m] = {lb for lb, s in shown.items() if s == fmt(top)}
        runs = {lb: (sum(r.status == "ok" for r in brows if r.label == lb),
                     sum(r.label == lb for r in brows)) for lb in labels}
        rates = {}
        for r in brows:  # the mask is shared by all imputers of a repetition
            if r.achieved_rate is not None:
                rates.setdefault(r.repetition, r.achieved_rate)
        tables.append(BlockTable(
            dataset=first.dataset, dataset_params=first.dataset_params,
            n_rows=next((r.n_rows for r in brows if r.n_rows is not None), None),
            n_cols=next((r.n_cols for r in brows if r.n_cols is not None), None),
            mask=first.mask, achieved_rate=float(np.mean(list(rates.values()))) if rates else None,
            repetitions=len({r.repetition for r in brows}), labels=labels, metrics=metrics,
            values=values, runs=runs, best=best))
    return tables


@dataclass
class RankTable:
    """Average rank per (imputer label, metric) and the number of blocks it is averaged over
    (every block where at least two imputers have a value). The significance tests, which need
    the blocks where *every* compared imputer has a value, are in ``ReportData.stats``."""

    labels: list[str]
    metrics: list[str]
    ranks: dict[tuple[str, str], tuple[float, int]]
    best: dict[str, set[str]] = field(default_factory=dict)


def block_means(rows: list[Row], metric: str, value=None) -> dict[tuple, dict[str, float]]:
    """Block key -> imputer label -> mean of ``metric`` over its repetitions (of
    ``value(row)`` instead when given; rows where it is None are left out)."""
    acc: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        v = r.metrics.get(metric) if value is None else value(r)
        if v is not None:
            acc[r.block_key][r.label].append(v)
    return {b: {lb: float(np.mean(v)) for lb, v in sorted(d.items())}
            for b, d in sorted(acc.items(), key=lambda kv: kv[0])}


def average_ranks(rows: list[Row], infos: dict[str, MetricInfo]) -> RankTable:
    """Rank imputers within each block (1 = best, ties averaged), then average over blocks.

    Within a block the metric is first averaged over repetitions. A block where fewer than two
    imputers have a value ranks nothing and is not counted.
    """
    ranks: dict[tuple[str, str], tuple[float, int]] = {}
    best: dict[str, set[str]] = {}
    for m in sorted(infos):
        sums: dict[str, list[float]] = defaultdict(list)
        means = block_means(rows, m)
        for per_label in means.values():
            if len(per_label) < 2:
                continue
            labels = list(per_label)
            x = np.array([per_label[lb] for lb in labels])
            for lb, rk in zip(labels, stats.rankdata(x if infos[m].minimize else -x), strict=True):
                sums[lb].append(float(rk))
        for lb, rks in sums.items():
            ranks[(lb, m)] = (float(np.mean(rks)), len(rks))
        if sums:
            low = min(float(np.mean(v)) for v in sums.values())
            best[m] = {lb for lb, v in sums.items()
                       if rank_text(float(np.mean(v))) == rank_text(low)}
    labels = sorted({lb for lb, _ in ranks})
    return RankTable(labels, sorted({m for _, m in ranks}), ranks, best)


def metric_stats(rows: list[Row], infos: dict[str, MetricInfo]) -> dict[str, Any]:
    """Metric -> :class:`~imputebench.benchmarks.report.stats.MetricStats` over its blocks."""
    out = {}
    for m in sorted(infos):
        means = block_means(rows, m)
        if means:
            out[m] = compare_blocks(m, means, infos[m].minimize)
    return out


# The report's headline metrics, each the first of its candidates that the run measured.
HEADLINE_CANDIDATES = (("rmse_zscore", "rmse_minmax", "nrmse_col", "mae"),
                       ("loglik_kde", "loglik_knnxkde"), ("pmse", "pmse_cart", "pmse_xgb"),
                       ("cluster_log",))


def headline_metrics(names) -> list[str]:
    """RMSE, log-likelihood, pMSE and cluster-log, as far as ``names`` has them."""
    have = set(names)
    return [next(c for c in cands if c in have) for cands in HEADLINE_CANDIDATES
            if any(c in have for c in cands)]


@dataclass(frozen=True)
class RuntimeRow:
    """Means over the ``ok`` cells of one imputer label on one device."""

    label: str
    device: str
    n: int
    fit_seconds: float | None
    impute_seconds: float | None
    peak_memory_mb: float | None


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


DIAGNOSTICS_NOTE = ("What some imputers measure about themselves after fitting (means over "
                    "the cells that finished ok), e.g. a VAE's posterior collapse and prior "
                    "hole: active_units (latent dimensions in use), kl_total, hole (0 = the "
                    "aggregated posterior covers the prior; more negative = a bigger hole).")


def diagnostics_table(rows: list[Row]) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """Imputers' own diagnostics (e.g. a VAE's active units and prior hole): per label, the
    mean over ok cells of each numeric diagnostic, and text ones (such as the prior) as given.
    Returns (diagnostic names, [(label, {name: text})])."""
    per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        for k, v in r.diagnostics.items():
            if isinstance(v, bool) or k == "description":
                continue
            if isinstance(v, int | float) and math.isfinite(v):
                per[r.label][k].append(float(v))
            elif isinstance(v, str):
                per[r.label][k].append(v)
    names = sorted({k for d in per.values() for k in d})
    out = []
    for label in sorted(per):
        cells = {}
        for k, vals in per[label].items():
            nums = [v for v in vals if isinstance(v, float)]
            cells[k] = fmt(float(np.mean(nums))) if nums else ", ".join(sorted(set(vals)))
        out.append((label, cells))
    return names, out


def runtime_table(rows: list[Row]) -> list[RuntimeRow]:
    """Mean fit seconds, impute seconds and peak memory per (imputer label, device)."""
    ok = [r for r in rows if r.status == "ok"]
    return [RuntimeRow(label, device, len(g), _mean([r.fit_seconds for r in g]),
                       _mean([r.impute_seconds for r in g]), _mean([r.peak_memory_mb for r in g]))
            for (label, device), g in _group(ok, lambda r: (r.label, r.device)).items()]


def runtime_by_dataset(rows: list[Row]) -> tuple[list[str], dict[tuple[str, str], float]]:
    """Dataset titles and (label, dataset title) -> mean fit + impute seconds of ok cells."""
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    titles: dict[tuple[str, str], str] = {}
    for r in rows:
        if r.status == "ok" and r.fit_seconds is not None and r.impute_seconds is not None:
            title = dataset_name(r.dataset, r.dataset_params)
            titles[r.dataset_key] = title
            out[(r.label, title)].append(r.fit_seconds + r.impute_seconds)
    return ([titles[k] for k in sorted(titles)],
            {k: float(np.mean(v)) for k, v in sorted(out.items())})


@dataclass
class ReportData:
    """Everything the renderers show, computed once from the records."""

    title: str
    meta: dict
    rows: list[Row]
    counts: dict[str, int]
    datasets: list[str]
    mechanisms: list[str]
    rates: list[float]
    repetitions: list[int]
    labels: list[str]
    finished: tuple[str, str] | None
    versions: dict[str, list[str]]
    metrics: dict[str, MetricInfo]
    blocks: list[BlockTable]
    ranks: RankTable
    runtime: list[RuntimeRow]
    runtime_datasets: tuple[list[str], dict[tuple[str, str], float]]
    problems: list[Row]
    published: list = field(default_factory=list)   # published.Comparison, when configured
    diagnostics: tuple = ((), ())                    # diagnostics_table(rows)
    latent: Any = None                               # latent.LatentSection
    ablation: Any = None                             # ablation.AblationSection
    synthesis: Any = None                            # synthesis.SynthesisSection
    stats: dict = field(default_factory=dict)        # metric -> stats.MetricStats
    imputers: list = field(default_factory=list)     # [(registered name, labels, reference)]

    @property
    def has_results(self) -> bool:
        return any(r.metrics for r in self.rows)

