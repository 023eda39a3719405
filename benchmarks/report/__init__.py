"""Reports rendered from journal records only (DESIGN.md §9).

:func:`render_report` writes ``report.md`` (figures linked as ``figures/*.png``) and one
self-contained ``report.html`` (inline CSS, SVG and JavaScript). The statistics live in
:mod:`~imputebench.benchmarks.report.tables`, the figures in
:mod:`~imputebench.benchmarks.report.figures`, the renderers in
:mod:`~imputebench.benchmarks.report.markdown` and :mod:`~imputebench.benchmarks.report.html`.
Nothing here imports an imputer or re-runs a cell.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from imputebench.benchmarks.report.ablation import ablation_section
from imputebench.benchmarks.report.figures import RenderedFigure, render_figures
from imputebench.benchmarks.report.html import render_html
from imputebench.benchmarks.report.labels import short_labels
from imputebench.benchmarks.report.latent import latent_section
from imputebench.benchmarks.report.markdown import render_markdown
from imputebench.benchmarks.report.published import compare
from imputebench.benchmarks.report.synthesis import synthesis_section
from imputebench.benchmarks.report.tables import (
    STATUSES,
    ReportData,
    average_ranks,
    block_tables,
    dataset_name,
    diagnostics_table,
    imputer_reference,
    metric_info,
    metric_stats,
    normalize_records,
    runtime_by_dataset,
    runtime_table,
    value_text,
)

__all__ = ["RenderedFigure", "ReportData", "build_report_data", "render_figures", "render_html",
           "render_markdown", "render_report"]


def build_report_data(records: list[dict], title: str = "imputebench report",
                      meta: dict | None = None) -> ReportData:
    """Compute every table of the report from journal records.

    Parameters
    ----------
    records : list of dict
        Journal records, one per benchmark cell.
    title : str
        Report title.
    meta : dict, optional
        ``config``, ``command``, ``journal``, ``environment`` (any subset; shown as given);
        ``published`` and ``claims`` (the config's, checked in their sections).

    Returns
    -------
    ReportData
    """
    records = list(records)
    full = normalize_records(records)
    spec = (meta or {}).get("published")
    published = compare(full, spec) if spec else []
    # Everywhere below a configuration of an imputer run with several is named by the
    # parameters that tell them apart; the Imputers section lists the full settings.
    short = short_labels(full, bare_single=False)
    rows = [replace(r, label=short[r.label]) for r in full]
    infos = {m: metric_info(m) for m in sorted({m for r in rows for m in r.metrics})}
    counts = Counter(r.status for r in rows)
    versions: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        for pkg, v in r.versions.items():
            versions[str(pkg)].add(value_text(v))
    stamps = sorted(str(r.finished_at) for r in rows if r.finished_at)
    return ReportData(
        title=title, meta=dict(meta or {}), rows=rows,
        counts={s: counts.get(s, 0) for s in [*STATUSES, *sorted(set(counts) - set(STATUSES))]},
        datasets=sorted({dataset_name(r.dataset, r.dataset_params) for r in rows}),
        mechanisms=sorted({str(r.mask.get("mechanism", "?")) for r in rows}),
        rates=sorted({r.rate for r in rows if r.rate is not None}),
        repetitions=sorted({r.repetition for r in rows}),
        labels=sorted({r.label for r in rows}),
        finished=(stamps[0], stamps[-1]) if stamps else None,
        versions={k: sorted(v) for k, v in sorted(versions.items())},
        metrics=infos, blocks=block_tables(rows, infos), ranks=average_ranks(rows, infos),
        runtime=runtime_table(rows), runtime_datasets=runtime_by_dataset(rows),
        problems=[r for r in rows if r.status != "ok"], published=published,
        diagnostics=diagnostics_table(rows), latent=latent_section(rows, infos),
        ablation=ablation_section(rows, infos),
        synthesis=synthesis_section(records, infos, (meta or {}).get("claims")
                                    or ((meta or {}).get("config") or {}).get("claims")),
        stats=metric_stats(rows, infos),
        imputers=[(name, sorted({r.label for r in full if r.imputer == name}),
                   imputer_reference(name)) for name in sorted({r.imputer for r in rows})],
    )


def render_report(records: Iterable[dict], out_dir: str | Path, title: str = "imputebench report",
                  meta: dict | None = None) -> dict[str, Path | list[Path]]:
    """Write the Markdown report, the HTML report and their figures.

    Parameters
    ----------
    records : iterable of dict
        Journal records, one per benchmark cell (a retried cell's later record wins).
    out_dir : str or Path
        Output folder (created when needed); receives ``report.md``, ``report.html`` and
        ``figures/metric_vs_rate_<metric>.png``.
    title : str
        Report title.
    meta : dict, optional
        Shown when present: ``command`` (str), ``journal`` (path), ``config`` (dict of the
        benchmark config) and ``environment`` ({package: version}); other keys are listed.

    Returns
    -------
    dict
        ``{"markdown": Path, "html": Path, "figures": list[Path]}``.

    Examples
    --------
    >>> from imputebench.benchmarks.report import render_report
    >>> paths = render_report(records, "reports/default")  # doctest: +SKIP
    >>> paths["markdown"].name  # doctest: +SKIP
    'report.md'
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = build_report_data(list(records), title=title, meta=meta)
    figures = render_figures(data, out / "figures", rel_dir="figures")
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(render_markdown(data, figures), encoding="utf-8", newline="\n")
    html_path.write_text(render_html(data, figures), encoding="utf-8", newline="\n")
    return {"markdown": md_path, "html": html_path, "figures": [f.png_path for f in figures],
            "figure_objects": figures}
