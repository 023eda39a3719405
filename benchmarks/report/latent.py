"""The report's "Latent models side by side" section: imputers that record a ``prior`` in
their diagnostics (``vae`` with each prior, ``tvae``) compared per dataset with the other
imputers of the run on the headline metrics, their training time and their latent
diagnostics, and which one wins where.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from imputebench.benchmarks.report.labels import short_labels
from imputebench.benchmarks.report.tables import (
    MetricInfo,
    Row,
    block_means,
    dataset_name,
    fmt,
    mask_name,
)

HEADLINE = ("rmse_zscore", "pmse", "cluster_log", "loglik_kde", "accuracy")
DIAG_COLUMNS = ("epochs_run", "active_units", "kl_total", "hole")
FLOOR = "mean"

NOTE = ("One table per dataset and mask: every imputer's mean over repetitions of the headline "
        "metrics, then, for the latent models, their fit seconds (training included), epochs "
        "run (early stopping), active latent units, KL and the prior hole (see Imputer "
        "diagnostics). Best value per metric in bold.")


@dataclass
class LatentBlock:
    title: str                                   # "adult, mcar 30%"
    metrics: list[str]
    columns: list[str]                           # metrics + fit_seconds + diagnostics
    rows: list[tuple[str, dict[str, str]]]       # (label, {column: text})
    best: dict[str, str]                         # metric -> best label (all imputers)
    best_latent: dict[str, str]                  # metric -> best latent label


@dataclass
class LatentSection:
    descriptions: dict[str, str] = field(default_factory=dict)   # label -> one line
    blocks: list[LatentBlock] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)            # "which wins where"

    def __bool__(self) -> bool:
        return bool(self.blocks)


def _finite(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _is_latent(r: Row) -> bool:
    return isinstance(r.diagnostics.get("prior"), str)


def _short_labels(ok: list[Row]) -> dict[str, str]:
    """``vae(prior=...)`` / the bare imputer name when that names one label unambiguously
    (the other parameters are then the same for all and the config shows them); otherwise
    each imputer's varying parameters (:func:`~imputebench.benchmarks.report.labels.
    short_labels`, e.g. ``vae(beta=0.5, prior=mog)``) when those are unambiguous, else the
    full labels."""
    short: dict[str, str] = {}
    for r in ok:
        name = r.label.split("(")[0]
        prior = r.diagnostics.get("prior") if name == "vae" else None
        short[r.label] = f"{name}(prior={prior})" if isinstance(prior, str) else name
    if len(set(short.values())) == len(short):
        return short
    varying = short_labels(ok)
    if len(set(varying.values())) == len(varying):
        return varying
    return {lb: lb for lb in short}


def latent_section(rows: list[Row], infos: dict[str, MetricInfo]) -> LatentSection:
    """Build the section from the report's rows (empty when no latent model finished)."""
    ok = [r for r in rows if r.status == "ok"]
    if not any(_is_latent(r) for r in ok):
        return LatentSection()
    short = _short_labels(ok)
    ok = [Row(**{**r.__dict__, "label": short[r.label]}) for r in ok]
    latent = sorted({r.label for r in ok if _is_latent(r)})
    sec = LatentSection()
    for r in ok:
        if r.label in latent and isinstance(r.diagnostics.get("description"), str):
            sec.descriptions.setdefault(r.label, r.diagnostics["description"])
    metrics = [m for m in HEADLINE if m in infos]
    columns = [*metrics, "fit_seconds", *DIAG_COLUMNS]
    per_column = {m: block_means(ok, m) for m in metrics}
    per_column["fit_seconds"] = block_means(ok, "fit_seconds", lambda r: r.fit_seconds)
    for d in DIAG_COLUMNS:
        per_column[d] = block_means(ok, d, lambda r, d=d: _finite(r.diagnostics.get(d)))
    by_block: dict[tuple, list[Row]] = defaultdict(list)
    for r in ok:
        by_block[r.block_key].append(r)
    beats: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    wins: dict[tuple[str, str], list[str]] = defaultdict(list)     # (metric, label) -> blocks
    for key in sorted(by_block, key=str):
        labels = {r.label for r in by_block[key]}
        if not labels & set(latent):
            continue
        first = by_block[key][0]
        title = f"{dataset_name(first.dataset, first.dataset_params)}, {mask_name(first.mask)}"
        means: dict[str, dict[str, float]] = {lb: {} for lb in labels}
        for c in columns:
            for lb, v in per_column[c].get(key, {}).items():
                means[lb][c] = v
        best, best_latent = {}, {}
        for m in metrics:
            sign = 1.0 if infos[m].minimize else -1.0
            have = [lb for lb in means if m in means[lb]]
            if have:
                best[m] = min(have, key=lambda lb: sign * means[lb][m])
            lat = [lb for lb in have if lb in latent]
            if lat:
                best_latent[m] = min(lat, key=lambda lb: sign * means[lb][m])
                wins[(m, best_latent[m])].append(title)
            if FLOOR in means and m in means[FLOOR]:
                for lb in lat:
                    beats[lb][m].append(sign * means[lb][m] < sign * means[FLOOR][m])
        order = sorted(means, key=lambda lb: (lb not in latent, lb))
        table = [(lb, {c: fmt(means[lb].get(c)) if c in means[lb] else "" for c in columns})
                 for lb in order]
        sec.blocks.append(LatentBlock(title, metrics, columns, table, best, best_latent))
    for m in metrics:
        winners = sorted(((lb, ts) for (mm, lb), ts in wins.items() if mm == m),
                         key=lambda x: -len(x[1]))
        if winners:
            parts = "; ".join(f"{lb} on {len(ts)} ({' / '.join(ts)})" for lb, ts in winners)
            sec.verdicts.append(f"{m}: the best latent model is {parts}.")
    for lb in latent:
        parts = [f"on {m} in {sum(f)} of {len(f)}" for m in ("rmse_zscore", "pmse")
                 if (f := beats[lb].get(m))]
        if parts:
            sec.verdicts.append(f"{lb} beats {FLOOR} {' and '.join(parts)} blocks.")
    return sec
