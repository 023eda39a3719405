"""The report's "Synthesis" section, for runs of the synthesis task (records with ``table_type``).

From the journal records alone (``benchmarks/synthesis.py`` says what one holds), four parts:
the **protocol** (metrics against reference rows no model saw; the "vs train" scores of Pathare
et al. 2023 reward memorisation; each dataset's type and sizes); **by dataset type** (per
columns / target type, each generator's average rank on pMSE, CART-pMSE and cluster-log, with
Friedman / Iman–Davenport and Nemenyi's CD from :mod:`~imputebench.benchmarks.report.stats`
over dataset × repetition blocks, since two datasets per type are too few blocks); the study's
**claims** (the config's ``[[claims]]`` through ``meta["claims"]``: a side's value per block is
the mean over its members present; wins / ties / losses and the two-sided Wilcoxon p over the
blocks where both sides have one; "agree" / "disagree" when the claimed better / worse side
wins with p < 0.05, by the signed-rank sums, else "not significant", or "not measured" with the
missing generators named); and **memorisation and utility** per dataset (copy rate, DCR ratio,
XGBoost on synthetic rows and its gap to real rows; CART-pMSE against the reference rows beside
the one against train, flagged when a generator beats ``holdout`` only against train).

The numbers stay in :class:`SynthesisSection`; its ``parts`` (:mod:`~imputebench.benchmarks.
report.synthesis_text`: headings, paragraphs, bullets, text tables) are what the Markdown and
HTML renderers lay out, the same way in both.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from imputebench.benchmarks.report.labels import short_labels
from imputebench.benchmarks.report.stats import (
    ALPHA,
    TIE_RTOL,
    MetricStats,
    compare_blocks,
    paired,
    rank_blocks,
)
from imputebench.benchmarks.report.synthesis_text import (
    TYPE_METRICS,
    UNIT,
    Part,
    section_parts,
)
from imputebench.benchmarks.report.tables import (
    MetricInfo,
    dataset_name,
    metric_info,
    normalize_records,
)
from imputebench.metrics import ALL

HOLDOUT = "holdout"
ANY_OTHER = "*"
TYPE_ORDER = {"columns": ("numeric", "categorical", "mixed"),
              "target": ("balanced", "unbalanced", "numeric")}
MEMO_METRICS = ("pmse_cart", "pmse")       # the first the run measured

@dataclass
class ClaimResult:
    """One claim on one metric."""

    text: str
    metric: str
    better: list[str]          # the labels found on each side
    worse: list[str]
    missing: list[str]         # claimed generators without a finished cell, with why
    n_blocks: int = 0
    wins: int = 0
    ties: int = 0
    losses: int = 0
    p: float | None = None
    rank_better: float | None = None
    rank_worse: float | None = None
    verdict: str = "not measured"


@dataclass
class SynthesisSection:
    datasets: list[dict] = field(default_factory=list)      # title, columns, target, n_*
    types: dict[tuple[str, str], dict[str, MetricStats]] = field(default_factory=dict)
    claims: list[ClaimResult] = field(default_factory=list)
    memo: dict[str, list[dict]] = field(default_factory=dict)   # dataset -> rows
    sanity: list[dict] = field(default_factory=list)             # one per dataset x check
    dual: dict[str, list[dict]] = field(default_factory=dict)    # dataset -> imputer rows
    parts: list[Part] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.datasets)


@dataclass
class _Cell:
    dataset: str
    repetition: int
    imputer: str
    label: str          # full
    short: str
    kind: dict
    metrics: dict[str, float]
    vs_train: dict[str, float]
    privacy: dict
    utility: dict | None
    sizes: tuple
    as_imputer: dict[str, float] = field(default_factory=dict)
    impute_rate: float | None = None


def _num(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def _values(metrics) -> dict[str, float]:
    out = {}
    for name, v in (metrics or {}).items():
        v = _num(v.get(ALL)) if isinstance(v, dict) else _num(v)
        if v is not None:
            out[str(name)] = v
    return out


def _cells(records: list[dict]) -> tuple[list[_Cell], dict[str, str]]:
    """The finished synthesis cells (a retried cell's later record wins), and per imputer
    name without one the statuses of its records ("skipped (2 cells)")."""
    latest = {}
    for i, rec in enumerate(records):
        latest[rec.get("key") or ("#", i)] = rec
    recs = [r for r in latest.values() if isinstance(r.get("table_type"), dict)
            or (r.get("mask") or {}).get("mechanism") == "split"]
    rows = [normalize_records([rec])[0] for rec in recs]
    short = short_labels(rows)
    cells, status = [], defaultdict(list)
    for rec, row in zip(recs, rows, strict=True):
        if row.status != "ok" or not isinstance(rec.get("table_type"), dict):
            if row.status != "ok":      # an older run's record, without table_type: left out
                status[row.imputer].append(row.status)
            continue
        cells.append(_Cell(
            dataset_name(row.dataset, row.dataset_params), row.repetition, row.imputer,
            row.label, short.get(row.label, row.label), dict(rec["table_type"]), row.metrics,
            _values(rec.get("metrics_vs_train")), dict(rec.get("privacy") or {}),
            rec.get("utility") if isinstance(rec.get("utility"), dict) else None,
            tuple(rec.get(k) for k in ("n_train", "n_synthetic", "n_reference")),
            _values(rec.get("metrics_as_imputer")),
            _num((rec.get("as_imputer") or {}).get("rate"))))
    done = {c.imputer for c in cells}
    why = {name: ", ".join(f"{s} ({sts.count(s)} cell{'s' if sts.count(s) > 1 else ''})"
                           for s in sorted(set(sts)))
           for name, sts in status.items() if name not in done}
    return cells, why


def _means(cells: list[_Cell], value) -> dict[tuple, dict[str, float]]:
    """(dataset, repetition) -> short label -> mean of ``value(cell)`` (None: left out)."""
    acc: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        v = value(c)
        if v is not None:
            acc[(c.dataset, c.repetition)][c.short].append(v)
    return {b: {lb: float(np.mean(v)) for lb, v in sorted(d.items())}
            for b, d in sorted(acc.items())}


def _side(members: list[str], other: list[str], cells: list[_Cell]) -> set[str]:
    """The short labels of a claim's side: cells whose imputer name or full label is named."""
    if members == [ANY_OTHER]:
        named = _side(other, [], cells)
        return {c.short for c in cells if c.imputer != HOLDOUT and c.short not in named}
    return {c.short for c in cells if c.imputer in members or c.label in members}


def _missing(members: list[str], cells: list[_Cell], why: dict[str, str]) -> list[str]:
    if members == [ANY_OTHER]:
        return []
    have = {c.imputer for c in cells} | {c.label for c in cells}
    return [f"{m} ({why.get(m, 'not in the run')})" for m in members if m not in have]


def check_claim(claim: dict, metric: str, cells: list[_Cell], why: dict[str, str],
                minimize: bool) -> ClaimResult:
    """Claim ``better`` beats ``worse`` on ``metric``, tested over the blocks."""
    better = _side(claim["better"], claim["worse"], cells)
    worse = _side(claim["worse"], claim["better"], cells)
    means = _means(cells, lambda c: c.metrics.get(metric))
    res = ClaimResult(claim["text"], metric, sorted(better), sorted(worse),
                      _missing(claim["better"], cells, why) + _missing(claim["worse"], cells, why))
    a, b, ra, rb = [], [], [], []
    for per in means.values():
        sa = [per[lb] for lb in sorted(better) if lb in per]
        sb = [per[lb] for lb in sorted(worse) if lb in per]
        if not sa or not sb:
            continue
        a.append(float(np.mean(sa)))
        b.append(float(np.mean(sb)))
        labels = list(per)
        ranks = dict(zip(labels, rank_blocks(np.array([[per[lb] for lb in labels]]),
                                             minimize)[0], strict=True))
        ra.append(float(np.mean([ranks[lb] for lb in better if lb in per])))
        rb.append(float(np.mean([ranks[lb] for lb in worse if lb in per])))
    res.n_blocks = len(a)
    if not a:
        if not means:
            res.missing.append(f"no value of {metric} in the run")
        return res
    res.wins, res.ties, res.losses, res.p = paired(np.array(a), np.array(b), minimize)
    res.rank_better, res.rank_worse = float(np.mean(ra)), float(np.mean(rb))
    a_, b_ = np.array(a), np.array(b)
    d = (a_ - b_) if minimize else (b_ - a_)        # negative: the claimed better side wins
    d = d[np.abs(a_ - b_) > TIE_RTOL * np.maximum(np.abs(a_), np.abs(b_))]   # ties as paired
    r = sps.rankdata(np.abs(d))
    toward = float(r[d < 0].sum() - r[d > 0].sum())
    if res.p is not None and res.p < ALPHA and toward != 0:
        res.verdict = "agree" if toward > 0 else "disagree"
    else:
        res.verdict = "not significant"
    return res


def synthesis_section(records: list[dict], infos: dict[str, MetricInfo] | None = None,
                      claims: list[dict] | None = None) -> SynthesisSection:
    """Build the section (empty when no finished record carries ``table_type``)."""
    cells, why = _cells(records)
    sec = SynthesisSection()
    if not cells:
        return sec
    info = dict(infos or {})

    def minimize(m: str) -> bool:
        return (info.get(m) or metric_info(m)).minimize

    by_ds: dict[str, list[_Cell]] = defaultdict(list)
    for c in cells:
        by_ds[c.dataset].append(c)
    for ds, cs in sorted(by_ds.items()):
        sizes = sorted({c.sizes for c in cs}, key=str)
        sec.datasets.append({"dataset": ds, **cs[0].kind, "sizes": sizes,
                             "repetitions": len({c.repetition for c in cs})})
    metrics = [m for m in TYPE_METRICS if any(m in c.metrics for c in cells)]
    for dim, order in TYPE_ORDER.items():
        present = {c.kind.get(dim) for c in cells}
        for value in [v for v in order if v in present]:
            group = [c for c in cells if c.kind.get(dim) == value]
            sec.types[(dim, value)] = {
                m: compare_blocks(m, _means(group, lambda c, m=m: c.metrics.get(m)),
                                  minimize(m), unit=UNIT) for m in metrics}
    for claim in claims or []:
        for m in claim.get("metrics", []):
            sec.claims.append(check_claim(claim, m, cells, why, minimize(m)))
    memo_metric = next((m for m in MEMO_METRICS if any(m in c.metrics for c in cells)), None)
    for ds, cs in sorted(by_ds.items()):
        sec.memo[ds] = _memo_rows(cs, memo_metric)
    sec.sanity = sanity_checks(by_ds)
    for ds, cs in sorted(by_ds.items()):
        rows = _dual_rows(cs, metrics)
        if rows:
            sec.dual[ds] = rows
    sec.parts = section_parts(sec, metrics, memo_metric, bool(claims))
    return sec


def _mean(vals) -> float | None:
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def _memo_rows(cells: list[_Cell], metric: str | None) -> list[dict]:
    per: dict[str, list[_Cell]] = defaultdict(list)
    for c in cells:
        per[c.short].append(c)
    rows = []
    for lb, cs in sorted(per.items(), key=lambda kv: (kv[0] != HOLDOUT, kv[0])):
        util = [c.utility for c in cs if c.utility]
        rows.append({
            "label": lb, "holdout": cs[0].imputer == HOLDOUT,
            "copy_rate": _mean(_num(c.privacy.get("copy_rate")) for c in cs),
            "dcr_ratio": _mean(_num(c.privacy.get("dcr_ratio")) for c in cs),
            "utility": _mean(_num(u.get("synthetic")) for u in util),
            "gap": _mean(_num(u.get("gap")) for u in util),
            "real": _mean(_num(u.get("real")) for u in util),
            "target": next((str(u.get("target")) for u in util), None),
            "ref": _mean(c.metrics.get(metric) for c in cs) if metric else None,
            "train": _mean(c.vs_train.get(metric) for c in cs) if metric else None})
    base = next((r for r in rows if r["holdout"]), None)
    for r in rows:
        r["memorises"] = bool(
            base is not None and not r["holdout"] and None not in
            (r["ref"], r["train"], base["ref"], base["train"])
            and r["train"] < base["train"] and r["ref"] >= base["ref"])
    return rows


SANITY_METRICS = ("pmse", "pmse_cart")


def _rep_values(cells: list[_Cell], imputer: str, metric: str) -> dict[int, float]:
    """Repetition -> mean value of one imputer name (its configurations pooled)."""
    acc = defaultdict(list)
    for c in cells:
        if c.imputer == imputer and metric in c.metrics:
            acc[c.repetition].append(c.metrics[metric])
    return {r: float(np.mean(v)) for r, v in acc.items()}


def sanity_checks(by_ds: dict[str, list[_Cell]]) -> list[dict]:
    """The protocol's two sanity checks per dataset and pMSE model (rules in SANITY_NOTE):
    ``holdout`` best or tied; ``independent`` worse than ``cart`` where the columns depend on
    each other."""
    out = []
    for ds, cells in sorted(by_ds.items()):
        for m in SANITY_METRICS:
            hold = _rep_values(cells, HOLDOUT, m)
            if not hold:
                continue
            h = float(np.mean(list(hold.values())))
            others: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
            for c in cells:
                if c.imputer != HOLDOUT and m in c.metrics:
                    others[c.short][c.repetition].append(c.metrics[m])
            if others:
                out.append(_holdout_check(ds, m, hold, others))
            ind, cart = _rep_values(cells, "independent", m), _rep_values(cells, "cart", m)
            reps = sorted(set(ind) & set(hold))
            if not reps or not cart:
                continue
            dependent = all(ind[r] > hold[r] for r in reps)
            i_mean, c_mean = np.mean([ind[r] for r in reps]), np.mean(list(cart.values()))
            verdict = ("no dependence seen" if not dependent
                       else "pass" if c_mean < i_mean else "fails")
            out.append({"dataset": ds, "check": "cart beats independent", "metric": m,
                        "verdict": verdict, "detail": f"cart {c_mean:.4g}, independent "
                        f"{i_mean:.4g}, holdout {h:.4g}"})
    return out


def _holdout_check(ds: str, metric: str, hold: dict[int, float],
                   others: dict[str, dict[int, list[float]]]) -> dict:
    """holdout best or tied (SANITY_NOTE): each generator whose mean is below holdout's is
    tested against it by a one-sided paired t-test over the repetitions (the same split on
    both sides), Holm's correction over those generators; "fails" when one is significantly
    better at ``ALPHA``."""
    h = float(np.mean(list(hold.values())))
    means = {lb: float(np.mean([np.mean(v) for v in per.values()])) for lb, per in
             others.items()}
    best = min(means, key=means.get)
    below = sorted((lb for lb in means if means[lb] < h), key=means.get)
    pvals = {}
    for lb in below:
        reps = sorted(set(hold) & set(others[lb]))
        gaps = np.array([hold[r] - float(np.mean(others[lb][r])) for r in reps])
        if len(gaps) < 2:
            pvals[lb] = None
        elif np.all(gaps == gaps[0]):
            pvals[lb] = 0.0 if gaps[0] > 0 else 1.0
        else:
            pvals[lb] = float(sps.ttest_1samp(gaps, 0.0, alternative="greater").pvalue)
    tested = sorted((p, lb) for lb, p in pvals.items() if p is not None)
    beaten = []
    for i, (p, lb) in enumerate(tested):           # Holm's step-down
        if p * (len(tested) - i) >= ALPHA:
            break
        beaten.append(lb)
    if not below:
        verdict = "best"
    elif beaten:
        verdict = "fails"
    else:
        verdict = "tied" if tested else "tied (too few repetitions to test)"
    detail = f"holdout {h:.4g}; best generator {best} {means[best]:.4g}"
    if best in pvals and pvals[best] is not None:
        detail += f" (one-sided paired t-test p = {pvals[best]:.2g}, Holm over {len(tested)})"
    if beaten:
        detail += "; significantly better: " + ", ".join(beaten)
    return {"dataset": ds, "check": "holdout best or tied", "metric": metric,
            "verdict": verdict, "detail": detail}


def _dual_rows(cells: list[_Cell], metrics: list[str]) -> list[dict]:
    """Per generator that was also scored as an imputer: each metric's mean as a generator and
    as an imputer, beside holdout's (the perfect score of both)."""
    per: dict[str, list[_Cell]] = defaultdict(list)
    for c in cells:
        per[c.short].append(c)
    hold = [c for c in cells if c.imputer == HOLDOUT]
    rows = []
    for lb, cs in sorted(per.items()):
        if not any(c.as_imputer for c in cs):
            continue
        row = {"label": lb, "rate": next((c.impute_rate for c in cs if c.impute_rate), None)}
        for m in metrics:
            row[m] = (_mean(c.metrics.get(m) for c in cs),
                      _mean(c.as_imputer.get(m) for c in cs),
                      _mean(c.metrics.get(m) for c in hold))
        rows.append(row)
    return rows
