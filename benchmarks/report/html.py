"""HTML renderer of a report: one self-contained file (DESIGN.md §9).

Inline CSS, inline SVG figures and a few lines of inline JavaScript (click a table header to
sort); no external URL, font or script, so the file works opened from disk with no network.
Every piece of text from the records is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from imputebench.benchmarks.report import ablation, latent
from imputebench.benchmarks.report import published as pub
from imputebench.benchmarks.report.assets import CSS as _CSS
from imputebench.benchmarks.report.assets import JS as _JS
from imputebench.benchmarks.report.figures import RenderedFigure
from imputebench.benchmarks.report.markdown import REASON_CHARS, goal_arrow, truncate
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


def esc(text: object) -> str:
    """Escape any value as HTML text (quotes included)."""
    return html.escape(str(text), quote=True)


def num_td(text: str, value: float | None = None, best: bool = False) -> str:
    """A right-aligned cell; ``value`` becomes ``data-v`` for numeric sorting."""
    attr = f' data-v="{value!r}"' if value is not None else ""
    cls = "num best" if best else "num"
    body = f"<strong>{esc(text)}</strong>" if best else esc(text)
    return f'<td class="{cls}"{attr}>{body}</td>'


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]],
               sortable: bool = True, row_attrs: Sequence[str] | None = None) -> str:
    """A table from escaped header texts (none: no ``<thead>``) and ready ``<td>`` strings;
    ``row_attrs`` gives each ``<tr>`` its (escaped) attributes."""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(f"<th>{h}</th>" for h in header)
    head = f"<thead><tr>{head}</tr></thead>\n" if header else ""
    attrs = row_attrs if row_attrs is not None else [""] * len(rows)
    body = "\n".join(f"<tr{a}>" + "".join(r) + "</tr>" for r, a in zip(rows, attrs, strict=True))
    return f"<table{cls}>{head}<tbody>\n{body}\n</tbody></table>"


def _td(text: object) -> str:
    return f"<td>{esc(text)}</td>"


FILTER_KEYS = ("dataset", "mechanism", "rate")


def filter_attrs(dataset_title: str, mask: dict) -> str:
    """``data-dataset/-mechanism/-rate`` attributes that the page's filter matches."""
    rate = mask.get("rate")
    rate_text = f"{rate:g}" if isinstance(rate, int | float) and not isinstance(rate, bool) else ""
    vals = (dataset_title, str(mask.get("mechanism", "?")), rate_text)
    return "".join(f' data-{k}="{esc(v)}"' for k, v in zip(FILTER_KEYS, vals, strict=True))


def _filter(data: ReportData) -> list[str]:
    """The dataset / mechanism / rate selectors (the script below hides what does not match)."""
    choices = (data.datasets, data.mechanisms, [f"{r:g}" for r in data.rates])
    out = ['<div id="filter" class="note">Show: ']
    for key, vals in zip(FILTER_KEYS, choices, strict=True):
        opts = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in vals)
        out.append(f'<label>{key} <select name="{key}"><option value="">all</option>{opts}'
                   "</select></label> ")
    out.append('<span id="filter-count"></span></div>')
    return ["".join(out)]


def _header(data: ReportData) -> list[str]:
    c = data.counts
    counts = ", ".join(f"{k} {v}" for k, v in c.items())
    out = [f"<h1>{esc(data.title)}</h1>", f'<p class="note">{sum(c.values())} cells: '
           f"{esc(counts)}.</p>"]
    reps = data.repetitions

    def joined(vals: Sequence) -> str:
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals) or MISSING

    info = [("datasets", joined(data.datasets)), ("mechanisms", joined(data.mechanisms)),
            ("missing rates", joined(data.rates)),
            ("repetitions", f"{len(reps)}" + (f" ({reps[0]}–{reps[-1]})" if reps else "")),
            ("imputers", f"{len(data.labels)}: {joined(data.labels)}"),
            ("metrics", joined(list(data.metrics)))]
    if data.finished:
        info.append(("cells finished", " to ".join(data.finished)))
    meta = data.meta
    for key in ("command", "journal"):
        if meta.get(key):
            info.append((key, str(meta[key])))
    for key in sorted(set(meta) - {"command", "journal", "config", "environment",
                                   "missing cells", "claims"}):
        info.append((str(key), json.dumps(meta[key], sort_keys=True, default=str)))
    out.append(html_table([], [[f'<th scope="row">{esc(k)}</th>', _td(v)] for k, v in info],
                          sortable=False))
    if meta.get("missing cells"):
        items = "".join(f"<li>{esc(t)}</li>" for t in meta["missing cells"])
        out.append(f'<details id="missing"><summary>{len(meta["missing cells"])} cell(s) not '
                   f"finished yet</summary><ul>{items}</ul></details>")
    if meta.get("config"):
        text = json.dumps(meta["config"], indent=2, sort_keys=True, default=str)
        out.append(f"<details><summary>Configuration</summary><pre>{esc(text)}</pre></details>")
    env = meta.get("environment") or {}
    if data.versions or env:
        pkgs = sorted(set(data.versions) | {str(k) for k in env})
        rows = [[_td(p), _td(", ".join(data.versions.get(p, [])) or MISSING),
                 _td(env.get(p, MISSING))] for p in pkgs]
        rows.append([_td("device"), _td(", ".join(sorted({r.device for r in data.rows}))),
                     _td(MISSING)])
        table = html_table(["package", "versions in the cells", "report environment"], rows)
        out.append(f"<details><summary>Environment</summary>{table}</details>")
    return out


def _diagnostics(data: ReportData) -> list[str]:
    names, rows = data.diagnostics
    if not rows:
        return []
    body = [[_td(label)] + [_td(cells.get(n, MISSING)) for n in names] for label, cells in rows]
    return ['<h2 id="diagnostics">Imputer diagnostics</h2>', f"<p>{esc(DIAGNOSTICS_NOTE)}</p>",
            html_table(["imputer", *[esc(n) for n in names]], body)]


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _latent(data: ReportData) -> list[str]:
    sec = data.latent
    if not sec:
        return []
    out = ['<h2 id="latent">Latent models side by side</h2>', f"<p>{esc(latent.NOTE)}</p>"]
    if sec.descriptions:
        out.append("<ul>" + "".join(f"<li><strong>{esc(lb)}</strong>: {esc(d)}</li>"
                                    for lb, d in sec.descriptions.items()) + "</ul>")
    if sec.verdicts:
        out.append("<p>Which wins where:</p><ul>"
                   + "".join(f"<li>{esc(v)}</li>" for v in sec.verdicts) + "</ul>")
    for b in sec.blocks:
        rows = []
        for label, cells in b.rows:
            rows.append([_td(label)] + [num_td(cells[c], _as_float(cells[c]),
                                               b.best.get(c) == label and bool(cells[c]))
                                        for c in b.columns])
        out += [f"<h3>{esc(b.title)}</h3>",
                html_table(["imputer", *[esc(c) for c in b.columns]], rows)]
    return out


def _ablation(data: ReportData) -> list[str]:
    sec = data.ablation
    if not sec:
        return []
    out = ['<h2 id="ablation">Ablation: what each parameter does</h2>',
           f'<p class="note">{esc(ablation.NOTE)}</p>',
           "<ul>" + "".join(f"<li>{esc(imp.summary)}</li>" for imp in sec.imputers) + "</ul>"]
    for imp in sec.imputers:
        for p in imp.params:
            out += [f"<h3>{esc(imp.name)}: {esc(p.name)} (reference {esc(p.reference)})</h3>",
                    "<p>Pooled over all blocks:</p><ul>"
                    + "".join(f"<li>{esc(v)}</li>" for v in p.verdicts) + "</ul>",
                    f"<details><summary>{len(p.tables)} table(s) by dataset and mask</summary>"]
            for t in p.tables:
                rows = [[_td(r[0]), *[num_td(c, _as_float(c.split(" ")[0]) if c else None)
                                      for c in r[1:]]] for r in t.rows]
                out += [f"<h4>{esc(t.title)}</h4>", html_table([esc(h) for h in t.header], rows)]
            out.append("</details>")
    return out


def _synthesis(data: ReportData) -> list[str]:
    """The Synthesis section (:mod:`~imputebench.benchmarks.report.synthesis`), when present."""
    if not data.synthesis:
        return []
    out = ['<h2 id="synthesis">Synthesis</h2>']
    for p in data.synthesis.parts:
        if p.heading:
            out.append(f"<h{p.level}>{esc(p.heading)}</h{p.level}>")
        out += [f"<p>{esc(t)}</p>" for t in p.text]
        if p.rows:
            rows = [[num_td(c, _as_float(c), (i, j) in p.bold and bool(c)) if a == "r"
                     else _td(c) for j, (c, a) in enumerate(zip(r, p.aligns(), strict=True))]
                    for i, r in enumerate(p.rows)]
            out.append(html_table([esc(h) for h in p.header], rows))
        if p.bullets:
            out.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in p.bullets) + "</ul>")
    return out


def _metrics(data: ReportData) -> list[str]:
    rows = [[f"<td><code>{esc(m.name)}</code></td>", _td(f"{m.goal} {goal_arrow(m.minimize)}"),
             _td(m.definition or ("unknown metric" if not m.known else MISSING)),
             _td(m.reference or MISSING)] for m in data.metrics.values()]
    out = ['<h2 id="metrics">Metrics</h2>',
           html_table(["metric", "goal", "definition", "reference"], rows, sortable=False)]
    if any(m.level == "table" for m in data.metrics.values()):
        out.append(f"<p>{esc(TABLE_LEVEL_NOTE.replace('`', ''))}</p>")
    return out


def _imputers(data: ReportData) -> list[str]:
    if not data.imputers:
        return []
    rows = [[_td(name), _td(", ".join(labels)), _td(ref or MISSING)]
            for name, labels, ref in data.imputers]
    return ['<h2 id="imputers">Imputers</h2>', f'<p class="note">{esc(IMPUTERS_NOTE)}</p>',
            html_table(["imputer", "settings in this run", "reference"], rows, sortable=False)]


def _block(b: BlockTable, data: ReportData) -> list[str]:
    rate = fmt(b.achieved_rate) if b.achieved_rate is not None else MISSING
    out = [f'<div class="block"{filter_attrs(b.dataset_title, b.mask)}>',
           f"<h4>{esc(b.mask_title)}</h4>",
           f'<p class="note">Achieved missing rate {esc(rate)} (mean over repetitions); '
           f"{b.repetitions} repetition(s).</p>"]
    header = ["imputer", "runs ok"] + [
        esc(f"{m} {goal_arrow(data.metrics[m].minimize)}") for m in b.metrics]
    rows = []
    for lb in b.labels:
        ok, total = b.runs[lb]
        row = [_td(lb), num_td(f"{ok}/{total}", ok / total if total else None)]
        for m in b.metrics:
            st = b.values.get((lb, m))
            row.append(num_td(MISSING) if st is None else
                       num_td(st.text(b.repetitions), st.mean, lb in b.best.get(m, ())))
        rows.append(row)
    return out + [html_table(header, rows), "</div>"]


def _results(data: ReportData) -> list[str]:
    out = ['<h2 id="results">Results by dataset and mask</h2>',
           '<p class="note">Mean ± sample sd (ddof = 1) over repetitions of each metric\'s '
           "<code>__all__</code> value; the best mean of each column is in bold; (n=k) marks an "
           "entry with fewer repetitions than its block. Click a header to sort; the selectors "
           "at the top filter by dataset, mechanism and rate.</p>"]
    current = None
    for b in data.blocks:
        if b.dataset_title != current:
            if current is not None:
                out.append("</div>")
            current = b.dataset_title
            shape = (f" — {b.n_rows} rows × {b.n_cols} columns"
                     if b.n_rows is not None and b.n_cols is not None else "")
            out += [f'<div class="dataset-group" data-dataset="{esc(current)}">',
                    f"<h3>Dataset {esc(current)}{esc(shape)}</h3>"]
        out += _block(b, data)
    if current is not None:
        out.append("</div>")
    return out


def _ranks(data: ReportData) -> list[str]:
    rt = data.ranks
    out = ['<h2 id="ranks">Average rank</h2>',
           '<p class="note">Within each block (dataset, its parameters and mask) the metric is '
           "averaged over repetitions, imputers are ranked (1 = best, ties share the average "
           "rank), and the ranks are averaged over the blocks where the imputer has a value "
           "(their number in parentheses). Blocks with fewer than two imputers are not "
           "counted.</p>"]
    if not rt.ranks:
        return out + ["<p>No block has two imputers with a value: nothing to rank.</p>"]
    header = ["imputer"] + [esc(f"{m} {goal_arrow(data.metrics[m].minimize)}")
                            for m in rt.metrics]
    rows = []
    for lb in rt.labels:
        row = [_td(lb)]
        for m in rt.metrics:
            if (lb, m) not in rt.ranks:
                row.append(num_td(MISSING))
                continue
            r, n = rt.ranks[(lb, m)]
            row.append(num_td(f"{rank_text(r)} ({n})", r, lb in rt.best.get(m, ())))
        rows.append(row)
    out.append(html_table(header, rows))
    out += _significance(data)
    return out


def _significance(data: ReportData) -> list[str]:
    if not data.stats:
        return []
    out = ['<h3 id="significance">Significance</h3>',
           f'<p class="note">{esc(SIGNIFICANCE_NOTE)}</p>', "<ul>"]
    out += [f"<li>{esc(describe(s))}</li>" for _, s in sorted(data.stats.items())]
    out.append("</ul>")
    for m in headline_metrics(data.stats):
        s = data.stats[m]
        if not s.pairs:
            continue
        out.append(f"<h4>Pairwise: {esc(m)} {esc(goal_arrow(s.minimize))}</h4>")
        if (note := pair_note(s)) is not None:
            out.append(f'<p class="note">{esc(note)}</p>')
        rows = []
        for r in pair_rows(s, lambda p: fmt(p, 3)):
            cells = [_td(r[0]), _td(r[1]), _td(r[2]), num_td(r[3], _as_float(r[3])),
                     num_td(r[4], _as_float(r[4]), r[5].endswith("better")), _td(r[5]),
                     _td(r[6])]
            rows.append(cells)
        out.append(html_table([esc(h) for h in PAIR_HEADER], rows))
    return out


def _runtime(data: ReportData) -> list[str]:
    out = ['<h2 id="runtime">Runtime and memory</h2>',
           '<p class="note">Means over the cells that finished ok.</p>']
    if not data.runtime:
        return out + ["<p>No cell finished ok.</p>"]
    rows = [[_td(r.label), _td(r.device), num_td(str(r.n), float(r.n)),
             num_td(fmt(r.fit_seconds), r.fit_seconds),
             num_td(fmt(r.impute_seconds), r.impute_seconds),
             num_td(fmt(r.peak_memory_mb), r.peak_memory_mb)] for r in data.runtime]
    out.append(html_table(["imputer", "device", "ok cells", "fit s", "impute s",
                           "peak memory MB"], rows))
    titles, per = data.runtime_datasets
    if titles:
        rows = [[_td(lb)] + [num_td(fmt(per.get((lb, t))), per.get((lb, t))) for t in titles]
                for lb in sorted({lb for lb, _ in per})]
        out += ["<h3>Fit + impute seconds by dataset</h3>",
                html_table(["imputer"] + [esc(t) for t in titles], rows)]
    return out


def _reason_td(reason: str) -> str:
    if not reason:
        return _td(MISSING)
    short = truncate(reason, REASON_CHARS)
    if short == reason:
        return _td(reason)
    return (f"<td><details><summary>{esc(short)}</summary><pre>{esc(reason)}</pre>"
            "</details></td>")


def _problems(data: ReportData) -> list[str]:
    out = ['<h2 id="problems">Failed, skipped and timed-out cells</h2>']
    if not data.problems:
        return out + ["<p>None: every cell finished ok.</p>"]
    for status in sorted({r.status for r in data.problems}):
        group = [r for r in data.problems if r.status == status]
        rows = [[_td(dataset_name(r.dataset, r.dataset_params)),
                 _td(mask_name(r.mask)), num_td(str(r.repetition), float(r.repetition)),
                 _td(r.label), _td(r.status), _reason_td(r.reason)] for r in group]
        attrs = [filter_attrs(dataset_name(r.dataset, r.dataset_params), r.mask) for r in group]
        table = html_table(["dataset", "mask", "repetition", "imputer", "status", "reason"], rows,
                           row_attrs=attrs)
        out.append(f'<details class="problems"><summary>{status}: {len(group)} cell(s)</summary>'
                   f"{table}</details>")
    return out


def _published(data: ReportData) -> list[str]:
    if not data.published:
        return []
    spec = data.meta.get("published", {})
    out = ['<h2 id="published">Reproduction: ours beside the published numbers</h2>',
           f'<p class="note">Published: {esc(spec.get("file", "?"))} '
           f'({esc(spec.get("source", ""))}); metric '
           f'{esc(spec.get("metric", "rmse_minmax"))}. Our best setting per method (by '
           "mean over repetitions, as the paper chose its grid values); z = (ours - published) "
           "/ published sd; agrees when |z| &le; 1.</p>"]
    out.append(html_table(["method", "agree", "compared", "published entries"],
                          [[_td(m), _td(a), _td(n), _td(t)] for m, a, n, t in
                           pub.summary(data.published)]))
    rows = pub.table_rows(data.published)
    verdict = {"agrees": ' class="agree"', "differs": ' class="disagree"'}
    n_agree = sum(r[-1] == "agrees" for r in rows)
    n_run = sum(r[-1] in verdict for r in rows)
    out.append(f"<p><strong>Agree on {n_agree} of {n_run}</strong> compared entries "
               f"({len(rows) - n_run} not run).</p>")
    out.append(html_table([esc(h) for h in pub.HEADER], [[_td(x) for x in r] for r in rows],
                          row_attrs=[verdict.get(r[-1], "") for r in rows]))
    return out


def _figures(figures: Sequence[RenderedFigure]) -> list[str]:
    out = ['<h2 id="figures">Figures</h2>']
    if not figures:
        return out + ["<p>No figure: nothing to draw.</p>"]
    group = None
    for f in figures:
        if f.group != group:
            group = f.group
            out.append(f"<h3>{esc(group)}</h3>")
        out += [f"<h4>{esc(f.title)}</h4>", '<figure class="plot">', f.svg.rstrip("\n"),
                f"<figcaption>{esc(f.caption)}</figcaption>", "</figure>"]
    return out


def render_html(data: ReportData, figures: Sequence[RenderedFigure] = ()) -> str:
    """Render the whole report as one self-contained HTML page.

    Parameters
    ----------
    data : ReportData
        The aggregated report (:func:`~imputebench.benchmarks.report.tables.build_report_data`).
    figures : sequence of RenderedFigure
        Figures to inline as SVG.

    Returns
    -------
    str
        The HTML text.
    """
    sections = (["metrics", "imputers", "results", "ranks", "runtime"] if data.has_results
                else [])
    if data.has_results and data.synthesis:
        sections.insert(sections.index("runtime"), "synthesis")
    if data.has_results and data.latent:
        sections.append("latent")
    if data.has_results and data.ablation:
        sections.append("ablation")
    sections += ["problems"] + (["figures"] if data.has_results else [])
    names = {"metrics": "Metrics", "imputers": "Imputers", "results": "Results",
             "ranks": "Average rank", "runtime": "Runtime", "latent": "Latent models",
             "ablation": "Ablation", "synthesis": "Synthesis",
             "problems": "Failures", "figures": "Figures"}
    nav = "<nav>" + "".join(f'<a href="#{s}">{names[s]}</a>' for s in sections) + "</nav>"
    body = _header(data)
    body[2:2] = [nav] + (_filter(data) if data.has_results else [])  # after title and counts
    if data.has_results:
        body += (_metrics(data) + _imputers(data) + _results(data) + _ranks(data)
                 + _synthesis(data) + _runtime(data) + _latent(data) + _ablation(data)
                 + _diagnostics(data))
    else:
        body += ['<h2 id="results">Results</h2>',
                 "<p>There are no results: no cell finished ok with a metric value.</p>"]
    body += _published(data)
    body += _problems(data)
    if data.has_results:
        body += _figures(figures)
    head = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(data.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>"]
    tail = [f"<script>{_JS}</script>", "</body>", "</html>"]
    return "\n".join(head + body + tail) + "\n"
