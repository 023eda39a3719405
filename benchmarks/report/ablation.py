"""The report's "Ablation" section: what each parameter of an imputer's grid does.

For every imputer with at least two configurations that differ in their params, each varying
parameter (e.g. a VAE's ``prior``, ``beta``, ``triplet_weight``) is taken in turn:

- per dataset × mask block, the mean of each headline metric (and of the diagnostics
  ``active_units`` and ``hole``) over the other parameters and the repetitions, for each value
  of the parameter;
- a paired comparison of each value against the *reference* value (:data:`REFERENCE`: the
  imputer's default or the plain model; otherwise the first value sorted): a pair is two cells
  identical in every other parameter, dataset, mask and repetition; wins / ties / losses and
  the two-sided Wilcoxon signed-rank p (:func:`~imputebench.benchmarks.report.stats.paired`),
  in each metric's direction. Diagnostics get means only: they have no "better";
- one sentence per parameter and metric pooling the pairs of all blocks.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from imputebench.benchmarks.report.labels import (
    imputer_name,
    param_text,
    short_labels,
    value_key,
    varying_params,
)
from imputebench.benchmarks.report.stats import ALPHA, MIN_BLOCKS, paired
from imputebench.benchmarks.report.tables import (
    MetricInfo,
    Row,
    canonical,
    dataset_name,
    fmt,
    mask_name,
)

METRICS = ("rmse_zscore", "accuracy", "loglik_kde", "pmse", "cluster_log")
DIAGNOSTICS = ("active_units", "hole")
# the value other values are compared with, where the run has it: the plain model / default
REFERENCE: dict[str, Any] = {"prior": "standard", "beta": 1.0, "triplet_weight": 0.0,
                             "column_weights": None}
ABSENT = "<absent>"     # a config that leaves the parameter out (the imputer's default)

NOTE = ("For each imputer whose configurations differ in their parameters, each varying "
        "parameter in turn. Per dataset and mask: the mean over the other parameters and the "
        "repetitions for each value (cells = finished cells), and, after each non-reference "
        "value's mean, its paired comparison with the reference value — w/t/l = cells where "
        "it is better / equal / worse than the cell with the reference value and everything "
        "else (other parameters, dataset, mask, repetition) the same, then the two-sided "
        "Wilcoxon signed-rank p (from 3 pairs). The diagnostics active_units and hole (0 = no "
        "prior hole) are means only. The sentences pool the pairs of all blocks; the verdict "
        f"says better or worse where p < {ALPHA:g}.")


@dataclass
class AblationTable:
    """One block's table for one parameter: a row per value, reference first."""

    title: str                                   # "adult, mcar, rate=0.3"
    header: list[str]                            # [param, "cells", metric ↓, ..., diagnostic]
    rows: list[list[str]]


@dataclass
class AblationParam:
    name: str
    reference: str                               # the reference value as shown
    values: list[str]                            # every value as shown, reference first
    verdicts: list[str] = field(default_factory=list)
    tables: list[AblationTable] = field(default_factory=list)


@dataclass
class AblationImputer:
    name: str
    configs: list[str]                           # short labels
    params: list[AblationParam] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """``vae: 12 configurations; varying prior (standard*, mog), beta (1*, 0.5)``."""
        parts = [f"{p.name} ({', '.join(v + ('*' if v == p.reference else '') for v in p.values)})"
                 for p in self.params]
        return (f"{self.name}: {len(self.configs)} configurations; varying "
                f"{'; '.join(parts)} (* = reference)")


@dataclass
class AblationSection:
    imputers: list[AblationImputer] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.imputers)


def _finite(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _value(r: Row, param: str) -> Any:
    return r.params[param] if param in r.params else ABSENT


def _key(v: Any) -> str:
    return ABSENT if v is ABSENT else value_key(v)


def _text(v: Any) -> str:
    return "default" if v is ABSENT else param_text(v)


def _sort_key(v: Any) -> tuple:
    if v is ABSENT:
        return (0, 0.0, "")
    if v is None:
        return (1, 0.0, "")
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (2, float(v), "")
    return (3, 0.0, param_text(v))


def _reference(param: str, values: list[Any]) -> Any:
    """The REFERENCE value when present, else the default (left out), else the first."""
    keys = {_key(v): v for v in values}
    if param in REFERENCE and value_key(REFERENCE[param]) in keys:
        return keys[value_key(REFERENCE[param])]
    if ABSENT in keys:
        return ABSENT
    return values[0]


def _params_key(params: dict) -> str:
    return canonical(sorted((k, value_key(v)) for k, v in params.items()))


def _measure(r: Row, column: str) -> float | None:
    return r.metrics.get(column) if column in r.metrics else _finite(r.diagnostics.get(column))


def _direction(d: np.ndarray, minimize: bool) -> str:
    """better / worse by the signed-rank sums of the differences ``d`` (a - reference)."""
    nz = d[d != 0]
    if nz.size == 0:
        return "equal"
    ranks = sps.rankdata(np.abs(nz))
    up, down = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    return "better" if (down > up) == minimize else "worse"


def _pairs(rows: list[Row], param: str, column: str, ref_key: str) -> dict[str, tuple]:
    """Value key -> (values, reference values) paired over everything but ``param``."""
    cells: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        v = _measure(r, column)
        if v is not None:
            others = _params_key({k: x for k, x in r.params.items() if k != param})
            cells[(r.block_key, r.repetition, others)][_key(_value(r, param))].append(v)
    out: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for per in cells.values():
        if ref_key not in per:
            continue
        for k, vals in per.items():
            if k != ref_key:
                out[k][0].append(float(np.mean(vals)))
                out[k][1].append(float(np.mean(per[ref_key])))
    return out


def _compare(a: list[float], b: list[float], minimize: bool) -> tuple[int, int, int, float | None]:
    return paired(np.array(a), np.array(b), minimize, test=len(a) >= MIN_BLOCKS)


def _verdict(param: str, ref: Any, others: list[Any], column: str, info: MetricInfo,
             rows: list[Row]) -> str:
    """One sentence over all blocks: the full form for one value against the reference,
    ``w/t/l of n (p)`` per value when there are several."""
    pairs = _pairs(rows, param, column, _key(ref))
    arrow = "↓" if info.minimize else "↑"
    single = len(others) == 1
    parts = []
    for v in others:
        a, b = pairs.get(_key(v), ([], []))
        if not a:
            text = f"no pairs (no two cells differ in {param} alone)" if single else "no pairs"
            parts.append(text if single else f"{_text(v)} {text}")
            continue
        w, t, lo, p = _compare(a, b, info.minimize)
        tag = "" if p is None or p >= ALPHA else _direction(np.array(a) - np.array(b),
                                                            info.minimize)
        if single:
            text = f"{w} wins, {lo} losses, {t} ties over {len(a)} pairs"
            text += (" (too few pairs for a test)" if p is None else
                     f", Wilcoxon p = {fmt(p, 2)} ({tag or 'not significant'})")
        else:
            text = (f"{_text(v)} {w}/{t}/{lo} of {len(a)}"
                    + ("" if p is None else f" (p = {fmt(p, 2)}{', ' + tag if tag else ''})"))
        parts.append(text)
    if single:
        return f"{param}={_text(others[0])} vs {_text(ref)} on {column} {arrow}: {parts[0]}."
    return (f"{param} vs {_text(ref)} on {column} {arrow}, wins/ties/losses of pairs "
            f"(Wilcoxon p): {'; '.join(parts)}.")


def _table(brows: list[Row], param: str, values: list[Any], ref: Any, metrics: list[str],
           diags: list[str], infos: dict[str, MetricInfo]) -> AblationTable:
    first = brows[0]
    title = f"{dataset_name(first.dataset, first.dataset_params)}, {mask_name(first.mask)}"
    header = [param, "cells", *[f"{m} {'↓' if infos[m].minimize else '↑'}" for m in metrics],
              *diags]
    pairs = {m: _pairs(brows, param, m, _key(ref)) for m in metrics}
    rows = []
    for v in values:
        mine = [r for r in brows if _key(_value(r, param)) == _key(v)]
        if not mine:
            continue
        is_ref = _key(v) == _key(ref)
        cells = [_text(v) + (" (reference)" if is_ref else ""), str(len(mine))]
        for c in [*metrics, *diags]:
            vals = [x for r in mine if (x := _measure(r, c)) is not None]
            text = fmt(float(np.mean(vals))) if vals else ""
            if c in pairs and vals and not is_ref:
                a, b = pairs[c].get(_key(v), ([], []))
                if a:
                    w, t, lo, p = _compare(a, b, infos[c].minimize)
                    text += f" ({w}/{t}/{lo}" + ("" if p is None else f", p {fmt(p, 2)}") + ")"
            cells.append(text)
        rows.append(cells)
    return AblationTable(title, header, rows)


def ablation_section(rows: list[Row], infos: dict[str, MetricInfo]) -> AblationSection:
    """Build the section from the report's rows (empty when no imputer has a grid)."""
    ok = [r for r in rows if r.status == "ok"]
    short = short_labels(ok)
    by_name: dict[str, list[Row]] = defaultdict(list)
    for r in ok:
        by_name[imputer_name(r)].append(r)
    sec = AblationSection()
    for name in sorted(by_name):
        irows = by_name[name]
        configs = {_params_key(r.params): r.params for r in irows}
        varying = varying_params(list(configs.values()))
        if len(configs) < 2 or not varying:
            continue
        metrics = [m for m in METRICS if m in infos and any(m in r.metrics for r in irows)]
        diags = [d for d in DIAGNOSTICS if any(_finite(r.diagnostics.get(d)) is not None
                                               for r in irows)]
        imp = AblationImputer(name, sorted({short[r.label] for r in irows}))
        blocks: dict[tuple, list[Row]] = defaultdict(list)
        for r in irows:
            blocks[r.block_key].append(r)
        for param in varying:
            distinct = {_key(_value(r, param)): _value(r, param) for r in irows}
            values = sorted(distinct.values(), key=_sort_key)
            ref = _reference(param, values)
            values = [ref, *[v for v in values if _key(v) != _key(ref)]]
            ap = AblationParam(param, _text(ref), [_text(v) for v in values])
            ap.verdicts = [_verdict(param, ref, values[1:], m, infos[m], irows) for m in metrics]
            ap.tables = [_table(blocks[k], param, values, ref, metrics, diags, infos)
                         for k in sorted(blocks)]
            imp.params.append(ap)
        sec.imputers.append(imp)
    return sec
