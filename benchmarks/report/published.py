"""Our numbers beside published ones (DESIGN.md §9: reproduction reports).

A config's ``[published]`` table names a CSV of published results (``benchmarks/published/``),
the metric it reports, how our dataset names map to the paper's (``dataset_prefix``) and our
imputer names to its method names (``methods``). For every published (dataset, scenario, rate,
method) we take, as the paper did for its grids, the best of our parameter settings by mean over
repetitions, and show the difference in units of the published repeat spread: a reproduction
*agrees* when ``|ours - published| <= published sd``.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imputebench.datasets.errors import ImputebenchError

PUBLISHED_DIR = Path(__file__).resolve().parents[1] / "published"
_COLUMNS = {"dataset", "scenario", "miss_rate", "method", "rmse_mean", "rmse_std"}


def resolve_published(file: str) -> Path:
    p = Path(file)
    for cand in (p, PUBLISHED_DIR / p):
        if cand.is_file():
            return cand
    raise ImputebenchError(f"no published file {file!r} (looked in {PUBLISHED_DIR})")


def load_published(path: str | Path) -> list[dict]:
    path = resolve_published(str(path))
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not _COLUMNS <= set(rows[0]):
        raise ImputebenchError(f"{path}: a published CSV needs the columns {sorted(_COLUMNS)}")
    return rows


@dataclass(frozen=True)
class Comparison:
    dataset: str
    mechanism: str
    rate: float
    method: str
    imputer: str
    published_mean: float
    published_sd: float
    published_param: str
    ours_mean: float | None
    ours_sd: float | None
    ours_label: str | None
    ours_n: int

    @property
    def z(self) -> float | None:
        if self.ours_mean is None or not self.published_sd > 0:
            return None
        return (self.ours_mean - self.published_mean) / self.published_sd

    @property
    def agrees(self) -> bool | None:
        z = self.z
        return None if z is None else abs(z) <= 1.0


def compare(rows, spec: dict) -> list[Comparison]:
    """Published rows matched with the best of our settings (``rows``: report ``Row`` s)."""
    published = load_published(spec["file"])
    metric = spec.get("metric", "rmse_minmax")
    prefix = spec.get("dataset_prefix", "")
    methods: dict[str, str] = spec.get("methods", {})
    theirs_to_ours = {v: k for k, v in methods.items()}
    values: dict = defaultdict(list)
    for r in rows:
        if r.status == "ok" and metric in r.metrics and r.rate is not None:
            key = (r.dataset, str(r.mask.get("mechanism")), round(r.rate, 6),
                   r.label.split("(")[0], r.label)
            values[key].append(r.metrics[metric])
    out = []
    for p in published:
        ours_name = theirs_to_ours.get(p["method"])
        if ours_name is None:
            continue
        ds, mech, rate = prefix + p["dataset"], p["scenario"], round(float(p["miss_rate"]), 6)
        cands = {k[4]: v for k, v in values.items() if k[:4] == (ds, mech, rate, ours_name)}
        best = min(cands, key=lambda lb: np.mean(cands[lb])) if cands else None
        vals = cands.get(best, [])
        param = (f"{p.get('best_param')}={p.get('best_value')}"
                 if p.get("best_param") else "")
        out.append(Comparison(
            dataset=ds, mechanism=mech, rate=rate, method=p["method"], imputer=ours_name,
            published_mean=float(p["rmse_mean"]), published_sd=float(p["rmse_std"]),
            published_param=param, ours_mean=float(np.mean(vals)) if vals else None,
            ours_sd=float(np.std(vals, ddof=1)) if len(vals) > 1 else None, ours_label=best,
            ours_n=len(vals)))
    return sorted(out, key=lambda c: (c.method, c.dataset, c.rate))


def summary(comps: list[Comparison]) -> list[tuple[str, int, int, int]]:
    """Per method: (method, agreeing, compared, published entries)."""
    by: dict[str, list[Comparison]] = defaultdict(list)
    for c in comps:
        by[c.method].append(c)
    return [(m, sum(bool(c.agrees) for c in cs), sum(c.agrees is not None for c in cs), len(cs))
            for m, cs in sorted(by.items())]


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.5f}"


def table_rows(comps: list[Comparison]) -> list[list[str]]:
    rows = []
    for c in comps:
        z = c.z
        verdict = "not run" if c.agrees is None else ("agrees" if c.agrees else "differs")
        ours = _f(c.ours_mean) + ("" if c.ours_sd is None else f" ± {c.ours_sd:.5f}")
        rows.append([c.dataset, c.mechanism, f"{c.rate:g}", c.method, c.ours_label or "—",
                     f"{c.published_mean:.5f} ± {c.published_sd:.5f}", c.published_param or "—",
                     ours, str(c.ours_n), "—" if z is None else f"{z:+.2f}", verdict])
    return rows


HEADER = ["dataset", "mechanism", "rate", "published method", "our best setting",
          "published mean ± sd", "published best", "ours mean ± sd", "reps", "z", "verdict"]
