"""Two journals compared cell by cell (``imputebench report --compare A B``), DESIGN.md §9.

Typical use: the same config run before (A) and after (B) a change to an imputer. Cells are
matched by their key (dataset, its parameters, mask, repetition, imputer and its parameters), so
both sides saw the same masks and seeds. For each imputer label and metric:

- the cell-by-cell differences ``B - A`` (every matched ok cell);
- per block (dataset × mask, repetitions averaged) whether B is better, equal (to 1e-12
  relative) or worse, given the metric's goal;
- a two-sided Wilcoxon signed-rank test of the block differences (scipy, zeros split), Holm's
  correction over every (label, metric) tested; a difference is *significant* when the Holm
  p < alpha. With fewer than 6 blocks no difference can reach alpha = 0.05, which is said.

Cells only one side has are counted and listed, never compared. (Not ``report/compare.py``:
that name would shadow ``published.compare``, which the package imports under that name.)
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imputebench.benchmarks.report import stats as st
from imputebench.benchmarks.report.tables import (
    dataset_name,
    fmt,
    mask_name,
    metric_info,
    normalize_records,
)


@dataclass(frozen=True)
class CellDiff:
    block: str
    label: str
    repetition: int
    metric: str
    a: float
    b: float

    @property
    def diff(self) -> float:
        return self.b - self.a


@dataclass
class Change:
    """One (label, metric) over the blocks both journals finished."""

    label: str
    metric: str
    minimize: bool
    n_blocks: int
    mean_a: float
    mean_b: float
    better: int
    same: int
    worse: int
    p: float | None = None
    p_holm: float | None = None
    significant: bool = False

    @property
    def verdict(self) -> str:
        if self.p_holm is None:
            return "not tested"
        if not self.significant:
            return "no significant change"
        return "B better" if self.better > self.worse else "B worse"


@dataclass
class Comparison:
    name_a: str
    name_b: str
    changes: list[Change]
    cells: list[CellDiff]
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    alpha: float = st.ALPHA


def _cell_title(r) -> str:
    return (f"{dataset_name(r.dataset, r.dataset_params)} | {mask_name(r.mask)} | "
            f"rep {r.repetition} | {r.label}")


def compare_journals(recs_a: list[dict], recs_b: list[dict], name_a: str = "A",
                     name_b: str = "B", alpha: float = st.ALPHA) -> Comparison:
    """Match the two journals' cells by key and test every (label, metric) change."""
    def by_key(recs):   # the later record of a key wins, as in a report
        keyed = {rec.get("key"): rec for rec in recs if rec.get("key")}
        return {k: normalize_records([rec])[0] for k, rec in keyed.items()}

    a, b = by_key(recs_a), by_key(recs_b)
    both = sorted(set(a) & set(b))
    cells: list[CellDiff] = []
    per_block: dict[tuple, dict[tuple, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list))
    for k in both:
        ra, rb = a[k], b[k]
        block = f"{dataset_name(ra.dataset, ra.dataset_params)} | {mask_name(ra.mask)}"
        for m in sorted(set(ra.metrics) & set(rb.metrics)):
            cells.append(CellDiff(block, ra.label, ra.repetition, m, ra.metrics[m],
                                  rb.metrics[m]))
            per_block[(ra.label, m)][block].append((ra.metrics[m], rb.metrics[m]))
    changes = []
    for (label, m), blocks in sorted(per_block.items()):
        minimize = metric_info(m).minimize
        va = np.array([np.mean([x for x, _ in v]) for v in blocks.values()])
        vb = np.array([np.mean([y for _, y in v]) for v in blocks.values()])
        n = len(va)
        better, same, worse, p = st.paired(vb, va, minimize, n >= st.MIN_BLOCKS)
        changes.append(Change(label, m, minimize, n, float(va.mean()), float(vb.mean()),
                              better, same, worse, p))
    tested = [c for c in changes if c.p is not None]
    for c, ph in zip(tested, st.holm([c.p for c in tested]), strict=True):
        c.p_holm = ph
        c.significant = ph < alpha
    only_a = sorted(_cell_title(a[k]) for k in set(a) - set(b))
    only_b = sorted(_cell_title(b[k]) for k in set(b) - set(a))
    return Comparison(name_a, name_b, changes, cells, only_a, only_b, alpha)


HEADER = ["imputer", "metric", "blocks", "mean A", "mean B", "B better / same / worse",
          "Wilcoxon p", "Holm p", "verdict"]


def _rows(c: Comparison) -> list[list[str]]:
    return [[ch.label, f"{ch.metric} {'↓' if ch.minimize else '↑'}", str(ch.n_blocks),
             fmt(ch.mean_a), fmt(ch.mean_b), f"{ch.better} / {ch.same} / {ch.worse}",
             "—" if ch.p is None else fmt(ch.p, 3),
             "—" if ch.p_holm is None else fmt(ch.p_holm, 3), ch.verdict] for ch in c.changes]


def _intro(c: Comparison) -> str:
    few = min((ch.n_blocks for ch in c.changes), default=0)
    matched = len({(x.block, x.label, x.repetition) for x in c.cells})
    text = (f"A = {c.name_a}; B = {c.name_b}. {matched} cells matched by key; "
            f"{len(c.only_a)} only in A, {len(c.only_b)} only in B. Per "
            "imputer and metric: blocks (dataset × mask, repetitions averaged) where B is "
            "better / the same / worse, and a two-sided Wilcoxon signed-rank test of the block "
            f"differences with Holm's correction over all rows (alpha = {c.alpha:g}).")
    if 0 < few < 6:
        text += (f" With {few} blocks no difference can reach alpha = {c.alpha:g} (smallest "
                 f"p = 2/2^{few}).")
    return text


def render_markdown(c: Comparison) -> str:
    from imputebench.benchmarks.report.markdown import md_escape, md_table

    out = [f"# Comparison: {md_escape(c.name_b)} against {md_escape(c.name_a)}", "",
           md_escape(_intro(c)), "", "## Changes by imputer and metric", ""]
    out += md_table(HEADER, [[md_escape(x) for x in r] for r in _rows(c)],
                    ["l", "l", "r", "r", "r", "r", "r", "r", "l"])
    out += ["## Cell by cell (differences only)", ""]
    diff = [x for x in c.cells if x.a != x.b]
    out += md_table(["block", "imputer", "repetition", "metric", "A", "B", "B - A"],
                    [[md_escape(x.block), md_escape(x.label), str(x.repetition), x.metric,
                      fmt(x.a), fmt(x.b), fmt(x.diff)] for x in diff],
                    ["l", "l", "r", "l", "r", "r", "r"]) if diff else ["No cell differs.", ""]
    for name, cells in (("A", c.only_a), ("B", c.only_b)):
        if cells:
            out += [f"## Cells only in {name}", "", *[f"- {md_escape(t)}" for t in cells], ""]
    return "\n".join(out) + "\n"


def render_html(c: Comparison) -> str:
    from imputebench.benchmarks.report.html import _CSS, _JS, html_table, num_td

    def td(x):
        return f"<td>{html.escape(str(x))}</td>"

    esc = html.escape
    verdict_cls = {"B better": ' class="agree"', "B worse": ' class="disagree"'}
    rows = _rows(c)
    body = [f"<h1>Comparison: {esc(c.name_b)} against {esc(c.name_a)}</h1>",
            f'<p class="note">{esc(_intro(c))}</p>', "<h2>Changes by imputer and metric</h2>",
            html_table([esc(h) for h in HEADER], [[td(x) for x in r] for r in rows],
                       row_attrs=[verdict_cls.get(r[-1], "") for r in rows])]
    diff = [x for x in c.cells if x.a != x.b]
    body.append(f"<h2>Cell by cell</h2><p class='note'>{len(diff)} of {len(c.cells)} metric "
                "values differ; the table lists those.</p>")
    if diff:
        body.append(html_table(
            ["block", "imputer", "repetition", "metric", "A", "B", "B - A"],
            [[td(x.block), td(x.label), num_td(str(x.repetition), float(x.repetition)),
              td(x.metric), num_td(fmt(x.a), x.a), num_td(fmt(x.b), x.b),
              num_td(fmt(x.diff), x.diff)] for x in diff]))
    for name, cells in (("A", c.only_a), ("B", c.only_b)):
        if cells:
            items = "".join(f"<li>{esc(t)}</li>" for t in cells)
            body.append(f"<details><summary>{len(cells)} cell(s) only in {name}</summary>"
                        f"<ul>{items}</ul></details>")
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      f"<title>Comparison: {esc(c.name_b)} against {esc(c.name_a)}</title>",
                      f"<style>{_CSS}</style>", "</head>", "<body>", *body,
                      f"<script>{_JS}</script>", "</body>", "</html>"]) + "\n"


def write_comparison(c: Comparison, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "compare.md", out / "compare.html"
    md.write_text(render_markdown(c), encoding="utf-8", newline="\n")
    page.write_text(render_html(c), encoding="utf-8", newline="\n")
    return {"markdown": md, "html": page}
