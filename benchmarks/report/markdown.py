"""Markdown renderer of a report (diffable; figures linked as PNG files, DESIGN.md §9)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from imputebench.benchmarks.report import ablation, latent
from imputebench.benchmarks.report import published as pub
from imputebench.benchmarks.report.figures import RenderedFigure
from imputebench.benchmarks.report.stats import (
    IMPUTERS_NOTE,
    PAIR_HEADER,
    SIGNIFICANCE_NOTE,
    describe,
    pair_note,
    pair_rows,
)
from imputebench.benchmarks.report.tables import (
    DIAGNOSTICS_NOTE,
    MISSING,
    TABLE_LEVEL_NOTE,
    BlockTable,
    ReportData,
    dataset_name,
    fmt,
    headline_metrics,
    mask_name,
    rank_text,
)

REASON_CHARS = 200
_MD_SPECIAL = str.maketrans({"\\": "\\\\", "|": "\\|", "<": "&lt;", "*": "\\*", "`": "\\`",
                             "\n": " ", "\r": " "})


def md_escape(text: object) -> str:
    """Escape text for a Markdown table cell (pipes, HTML, emphasis, line breaks)."""
    return str(text).translate(_MD_SPECIAL)


def truncate(text: str, n: int = REASON_CHARS) -> str:
    """Cut ``text`` to ``n`` characters, ending with an ellipsis when cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]],
             align: Sequence[str] | None = None) -> list[str]:
    """A pipe table; cells must be escaped already. ``align`` holds ``"l"`` or ``"r"``."""
    align = align or ["l"] * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def goal_arrow(minimize: bool) -> str:
    """↓ for a minimized metric, ↑ for a maximized one."""
    return "↓" if minimize else "↑"


def _list(values: Sequence) -> str:
    return ", ".join(md_escape(v if not isinstance(v, float) else f"{v:g}") for v in values) \
        or MISSING


def _header(data: ReportData) -> list[str]:
    c = data.counts
    out = [f"# {md_escape(data.title)}", "",
           f"{sum(c.values())} cells: " + ", ".join(f"{k} {v}" for k, v in c.items()) + ".", ""]
    reps = data.repetitions
    info = [("datasets", _list(data.datasets)), ("mechanisms", _list(data.mechanisms)),
            ("missing rates", _list(data.rates)),
            ("repetitions", f"{len(reps)}" + (f" ({reps[0]}–{reps[-1]})" if reps else "")),
            ("imputers", f"{len(data.labels)}: {_list(data.labels)}"),
            ("metrics", _list(list(data.metrics)))]
    if data.finished:
        info.append(("cells finished", md_escape(" to ".join(data.finished))))
    meta = data.meta
    for key in ("command", "journal"):
        if meta.get(key):
            info.append((key, "`" + str(meta[key]).replace("`", "'") + "`"))
    for key in sorted(set(meta) - {"command", "journal", "config", "environment",
                                   "missing cells", "claims"}):
        info.append((md_escape(key), md_escape(json.dumps(meta[key], sort_keys=True,
                                                          default=str))))
    out += md_table(["", ""], [[f"**{k}**", v] for k, v in info])
    if meta.get("missing cells"):
        out += ["## Not finished yet", "", *[f"- {md_escape(t)}" for t in meta["missing cells"]],
                ""]
    if meta.get("config"):
        text = json.dumps(meta["config"], indent=2, sort_keys=True, default=str)
        out += ["## Configuration", "", "```json", text.replace("```", "'''"), "```", ""]
    env = meta.get("environment") or {}
    if data.versions or env:
        out += ["## Environment", ""]
        pkgs = sorted(set(data.versions) | {str(k) for k in env})
        rows = [[md_escape(p), md_escape(", ".join(data.versions.get(p, [])) or MISSING),
                 md_escape(env.get(p, MISSING))] for p in pkgs]
        rows.append(["device", md_escape(", ".join(sorted({r.device for r in data.rows}))),
                     MISSING])
        out += md_table(["package", "versions in the cells", "report environment"], rows)
    return out


def _metrics(data: ReportData) -> list[str]:
    rows = [[f"`{m.name}`", f"{m.goal} {goal_arrow(m.minimize)}",
             md_escape(m.definition or ("unknown metric" if not m.known else MISSING)),
             md_escape(m.reference or MISSING)] for m in data.metrics.values()]
    out = ["## Metrics", ""] + md_table(["metric", "goal", "definition", "reference"], rows)
    if any(m.level == "table" for m in data.metrics.values()):
        out += ["", TABLE_LEVEL_NOTE]
    return out


def _imputers(data: ReportData) -> list[str]:
    if not data.imputers:
        return []
    rows = [[md_escape(name), md_escape(", ".join(labels)), md_escape(ref or MISSING)]
            for name, labels, ref in data.imputers]
    return ["## Imputers", "", IMPUTERS_NOTE, "",
            *md_table(["imputer", "settings in this run", "reference"], rows)]


def _block(b: BlockTable, data: ReportData) -> list[str]:
    out = [f"#### {md_escape(b.mask_title)}", ""]
    rate = fmt(b.achieved_rate) if b.achieved_rate is not None else MISSING
    out += [f"Achieved missing rate {rate} (mean over repetitions); "
            f"{b.repetitions} repetition(s).", ""]
    header = ["imputer", "runs ok"] + [
        f"{m} {goal_arrow(data.metrics[m].minimize)}" for m in b.metrics]
    rows = []
    for lb in b.labels:
        ok, total = b.runs[lb]
        row = [md_escape(lb), f"{ok}/{total}"]
        for m in b.metrics:
            st = b.values.get((lb, m))
            if st is None:
                row.append(MISSING)
                continue
            text = st.text(b.repetitions)
            row.append(f"**{text}**" if lb in b.best.get(m, ()) else text)
        rows.append(row)
    return out + md_table(header, rows, ["l", "r"] + ["r"] * len(b.metrics))


def _results(data: ReportData) -> list[str]:
    out = ["## Results by dataset and mask", "",
           "Mean ± sample sd (ddof = 1) over repetitions of each metric's `__all__` value; "
           "the best mean of each column is in bold; `(n=k)` marks an entry with fewer "
           "repetitions than its block.", ""]
    current = None
    for b in data.blocks:
        title = b.dataset_title
        if title != current:
            current = title
            shape = (f" — {b.n_rows} rows × {b.n_cols} columns"
                     if b.n_rows is not None and b.n_cols is not None else "")
            out += [f"### Dataset {md_escape(title)}{shape}", ""]
        out += _block(b, data)
    return out


def _ranks(data: ReportData) -> list[str]:
    rt = data.ranks
    out = ["## Average rank", "",
           "Within each block (dataset, its parameters and mask) the metric is averaged over "
           "repetitions, imputers are ranked (1 = best, ties share the average rank), and the "
           "ranks are averaged over the blocks where the imputer has a value (their number in "
           "parentheses). Blocks with fewer than two imputers are not counted.", ""]
    if not rt.ranks:
        return out + ["No block has two imputers with a value: nothing to rank.", ""]
    header = ["imputer"] + [f"{m} {goal_arrow(data.metrics[m].minimize)}" for m in rt.metrics]
    rows = []
    for lb in rt.labels:
        row = [md_escape(lb)]
        for m in rt.metrics:
            if (lb, m) not in rt.ranks:
                row.append(MISSING)
                continue
            r, n = rt.ranks[(lb, m)]
            text = f"{rank_text(r)} ({n})"
            row.append(f"**{text}**" if lb in rt.best.get(m, ()) else text)
        rows.append(row)
    out += md_table(header, rows, ["l"] + ["r"] * len(rt.metrics))
    out += _significance(data)
    return out


def _significance(data: ReportData) -> list[str]:
    if not data.stats:
        return []
    out = ["### Significance", "", SIGNIFICANCE_NOTE, ""]
    out += [f"- {md_escape(describe(s))}" for _, s in sorted(data.stats.items())]
    out.append("")
    for m in headline_metrics(data.stats):
        s = data.stats[m]
        if not s.pairs:
            continue
        out += [f"#### Pairwise: {md_escape(m)} {goal_arrow(s.minimize)}", ""]
        if (note := pair_note(s)) is not None:
            out += [md_escape(note), ""]
        rows = [[md_escape(c) for c in r] for r in pair_rows(s, lambda p: fmt(p, 3))]
        out += md_table(PAIR_HEADER, rows, ["l", "l", "r", "r", "r", "l", "l"])
    return out


def _runtime(data: ReportData) -> list[str]:
    out = ["## Runtime and memory", "", "Means over the cells that finished ok.", ""]
    if not data.runtime:
        return out + ["No cell finished ok.", ""]
    rows = [[md_escape(r.label), md_escape(r.device), str(r.n), fmt(r.fit_seconds),
             fmt(r.impute_seconds), fmt(r.peak_memory_mb)] for r in data.runtime]
    out += md_table(["imputer", "device", "ok cells", "fit s", "impute s", "peak memory MB"],
                    rows, ["l", "l", "r", "r", "r", "r"])
    titles, per = data.runtime_datasets
    if titles:
        out += ["### Fit + impute seconds by dataset", ""]
        rows = [[md_escape(lb)] + [fmt(per.get((lb, t))) for t in titles]
                for lb in sorted({lb for lb, _ in per})]
        out += md_table(["imputer"] + [md_escape(t) for t in titles], rows,
                        ["l"] + ["r"] * len(titles))
    return out


def _diagnostics(data: ReportData) -> list[str]:
    names, rows = data.diagnostics
    if not rows:
        return []
    body = [[md_escape(label)] + [md_escape(cells.get(n, MISSING)) for n in names]
            for label, cells in rows]
    return (["## Imputer diagnostics", "", DIAGNOSTICS_NOTE, ""]
            + md_table(["imputer"] + [md_escape(n) for n in names], body))


def _latent(data: ReportData) -> list[str]:
    sec = data.latent
    if not sec:
        return []
    out = ["## Latent models side by side", "", md_escape(latent.NOTE), ""]
    if sec.descriptions:
        out += [f"- **{md_escape(lb)}**: {md_escape(d)}" for lb, d in sec.descriptions.items()]
        out.append("")
    if sec.verdicts:
        out += ["Which wins where:", ""] + [f"- {md_escape(v)}" for v in sec.verdicts] + [""]
    for b in sec.blocks:
        rows = []
        for label, cells in b.rows:
            rows.append([md_escape(label)] + [
                (f"**{cells[c]}**" if b.best.get(c) == label and cells[c] else cells[c])
                for c in b.columns])
        out += [f"### {md_escape(b.title)}", ""]
        out += md_table(["imputer", *[md_escape(c) for c in b.columns]], rows,
                        ["l"] + ["r"] * len(b.columns))
    return out


def _ablation(data: ReportData) -> list[str]:
    sec = data.ablation
    if not sec:
        return []
    out = ["## Ablation: what each parameter does", "", md_escape(ablation.NOTE), ""]
    out += [f"- {md_escape(imp.summary)}" for imp in sec.imputers] + [""]
    for imp in sec.imputers:
        for p in imp.params:
            out += [f"### {md_escape(imp.name)}: {md_escape(p.name)} (reference "
                    f"{md_escape(p.reference)})", "", "Pooled over all blocks:", ""]
            out += [f"- {md_escape(v)}" for v in p.verdicts] + [""]
            for t in p.tables:
                out += [f"#### {md_escape(imp.name)}: {md_escape(p.name)} — "
                        f"{md_escape(t.title)}", ""]
                out += md_table([md_escape(h) for h in t.header],
                                [[md_escape(c) for c in r] for r in t.rows],
                                ["l"] + ["r"] * (len(t.header) - 1))
    return out


def _synthesis(data: ReportData) -> list[str]:
    """The Synthesis section (:mod:`~imputebench.benchmarks.report.synthesis`), when present."""
    if not data.synthesis:
        return []
    out = ["## Synthesis", ""]
    for p in data.synthesis.parts:
        if p.heading:
            out += [f"{'#' * p.level} {md_escape(p.heading)}", ""]
        for t in p.text:
            out += [md_escape(t), ""]
        if p.rows:
            rows = [[f"**{md_escape(c)}**" if (i, j) in p.bold and c else md_escape(c)
                     for j, c in enumerate(r)] for i, r in enumerate(p.rows)]
            out += md_table([md_escape(h) for h in p.header], rows, p.aligns())
        if p.bullets:
            out += [f"- {md_escape(b)}" for b in p.bullets] + [""]
    return out


def _problems(data: ReportData) -> list[str]:
    out = ["## Failed, skipped and timed-out cells", ""]
    if not data.problems:
        return out + ["None: every cell finished ok.", ""]
    rows = [[md_escape(dataset_name(r.dataset, r.dataset_params)),
             md_escape(mask_name(r.mask)), str(r.repetition), md_escape(r.label), r.status,
             md_escape(truncate(r.reason)) or MISSING] for r in data.problems]
    return out + md_table(["dataset", "mask", "repetition", "imputer", "status", "reason"], rows,
                          ["l", "l", "r", "l", "l", "l"])


def _published(data: ReportData) -> list[str]:
    if not data.published:
        return []
    spec = data.meta.get("published", {})
    out = ["## Reproduction: ours beside the published numbers", "",
           md_escape(f"Published: {spec.get('file', '?')} ({spec.get('source', '')}); metric "
                     f"{spec.get('metric', 'rmse_minmax')}. For each method we show our best "
                     "setting (by mean over repetitions, as the paper chose its grid values); "
                     "z = (ours - published) / published sd; agrees when |z| <= 1."), ""]
    verdicts = [r[-1] for r in pub.table_rows(data.published)]
    n_run = sum(v in ("agrees", "differs") for v in verdicts)
    out += [f"**Agree on {verdicts.count('agrees')} of {n_run}** compared entries "
            f"({len(verdicts) - n_run} not run).", ""]
    srows = [[md_escape(m), str(a), str(n), str(t)] for m, a, n, t in pub.summary(data.published)]
    out += md_table(["method", "agree", "compared", "published entries"], srows,
                    ["l", "r", "r", "r"])
    rows = [[md_escape(x) for x in r] for r in pub.table_rows(data.published)]
    return out + md_table(pub.HEADER, rows, ["l", "l", "r", "l", "l", "r", "l", "r", "r", "r",
                                             "l"])


def _figures(figures: Sequence[RenderedFigure]) -> list[str]:
    out = ["## Figures", ""]
    if not figures:
        return out + ["No figure: nothing to draw.", ""]
    group = None
    for f in figures:
        if f.group != group:
            group = f.group
            out += [f"### {md_escape(group)}", ""]
        out += [f"#### {md_escape(f.title)}", "", f"![{md_escape(f.title)}]({f.rel_path})", "",
                md_escape(f.caption), ""]
    return out


def render_markdown(data: ReportData, figures: Sequence[RenderedFigure] = ()) -> str:
    """Render the whole report as Markdown.

    Parameters
    ----------
    data : ReportData
        The aggregated report (:func:`~imputebench.benchmarks.report.tables.build_report_data`).
    figures : sequence of RenderedFigure
        Figures to link, by their relative PNG paths.

    Returns
    -------
    str
        The Markdown text, ending with one newline.
    """
    out = _header(data)
    if data.has_results:
        out += (_metrics(data) + _imputers(data) + _results(data) + _ranks(data)
                + _synthesis(data) + _runtime(data) + _latent(data) + _ablation(data)
                + _diagnostics(data))
    else:
        out += ["## Results", "", "There are no results: no cell finished ok with a metric "
                "value.", ""]
    out += _published(data)
    out += _problems(data)
    if data.has_results:
        out += _figures(figures)
    return "\n".join(out).rstrip("\n") + "\n"
