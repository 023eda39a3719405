"""Figures of a report: each metric against the nominal missing rate (DESIGN.md §9).

One figure per metric: a grid of panels, rows = datasets, columns = mechanisms (a mask with its
rate removed), a line per imputer with the mean over repetitions and a band of ± one sample sd.
Each figure is saved as a PNG (for the Markdown) and rendered to an SVG string (inlined in the
HTML). Figures are drawn on :class:`matplotlib.figure.Figure` objects, never through pyplot, so
no global backend or figure state is touched; fonts, sizes and the SVG hash salt are fixed so the
same records give the same bytes.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from imputebench.benchmarks.report.tables import (
    MetricInfo,
    ReportData,
    Row,
    dataset_name,
    mask_name,
)

FIGURE_PREFIX = "metric_vs_rate_"
DPI = 110
_RC = {
    "svg.hashsalt": "imputebench-report",
    "svg.fonttype": "none",  # text stays text: a fraction of the size of glyph paths
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 8,
    "path.simplify": False,
    "figure.dpi": DPI,
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


@dataclass(frozen=True)
class RenderedFigure:
    """One saved figure: its PNG on disk, its path relative to the report, its inline SVG;
    ``group`` is the report subsection it belongs to."""

    group: str
    title: str
    png_path: Path
    rel_path: str
    svg: str
    caption: str


GROUPS = ("Critical-difference diagrams", "Ranks by dataset", "Trade-offs", "Latent space",
          "Metrics vs missing rate")


def _style(labels: list[str]) -> dict[str, dict]:
    """A fixed colour and marker per imputer label, the same in every figure."""
    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    n = cmap.N
    out = {}
    for i, lb in enumerate(labels):
        out[lb] = {"color": cmap(i % n), "marker": _MARKERS[i % len(_MARKERS)],
                   "linestyle": ("-", "--", ":", "-.")[(i // n) % 4]}
    return out


def _series(rows: list[Row], metric: str) -> dict:
    """(dataset key, mechanism key) -> label -> rate -> values over repetitions."""
    acc: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in rows:
        if metric in r.metrics and r.rate is not None:
            acc[(r.dataset_key, r.mechanism_key)][r.label][r.rate].append(r.metrics[metric])
    return acc


def metric_vs_rate(data: ReportData, info: MetricInfo) -> Figure | None:
    """Draw one metric against the missing rate; ``None`` when no value has a nominal rate.

    Parameters
    ----------
    data : ReportData
        The aggregated report.
    info : MetricInfo
        The metric to draw.

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    series = _series(data.rows, info.name)
    if not series:
        return None
    ds_title = {r.dataset_key: dataset_name(r.dataset, r.dataset_params) for r in data.rows}
    mech_title = {r.mechanism_key: mask_name(r.mask, with_rate=False) for r in data.rows}
    ds_keys = sorted({d for d, _ in series})
    mech_keys = sorted({m for _, m in series})
    labels = sorted({lb for per in series.values() for lb in per})
    style = _style(data.labels)
    nrows, ncols = len(ds_keys), len(mech_keys)
    legend_rows = -(-len(labels) // 4)
    fig = Figure(figsize=(max(5.5, 3.9 * ncols), max(3.4, 2.6 * nrows + 0.5 + 0.25 * legend_rows)),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    arrow = "lower is better" if info.minimize else "higher is better"
    for i, dk in enumerate(ds_keys):
        for j, mk in enumerate(mech_keys):
            ax = axes[i][j]
            if i == 0:
                ax.set_title(mech_title[mk], fontweight="bold")
            per = series.get((dk, mk))
            if not per:
                ax.text(0.5, 0.5, "no data", ha="center", va="center", color="0.5",
                        transform=ax.transAxes)
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            rates: set[float] = set()
            for lb in sorted(per):
                xs = sorted(per[lb])
                rates.update(xs)
                mean = np.array([np.mean(per[lb][x]) for x in xs])
                sd = np.array([np.std(per[lb][x], ddof=1) if len(per[lb][x]) > 1 else 0.0
                               for x in xs])
                st = style[lb]
                ax.plot(xs, mean, color=st["color"], marker=st["marker"], ls=st["linestyle"],
                        lw=1.4, ms=4)
                if len(xs) > 1:
                    ax.fill_between(xs, mean - sd, mean + sd, color=st["color"], alpha=0.15, lw=0)
                elif sd[0] > 0:
                    ax.errorbar(xs, mean, yerr=sd, color=st["color"], capsize=3, lw=1)
            ticks = sorted(rates)
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            if len(ticks) == 1:
                ax.set_xlim(ticks[0] - 0.05, ticks[0] + 0.05)
            ax.grid(alpha=0.3, lw=0.6)
            if i == nrows - 1:
                ax.set_xlabel("nominal missing rate")
            if j == 0:
                ax.set_ylabel(f"{ds_title[dk]}\n{info.name}")
    handles = [Line2D([], [], color=style[lb]["color"], marker=style[lb]["marker"],
                      ls=style[lb]["linestyle"], lw=1.4, ms=4) for lb in labels]
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
               frameon=False)
    fig.suptitle(f"{info.name} vs missing rate ({arrow}; mean ± sd over repetitions); rows are "
                 "datasets, columns mechanisms", fontsize=10)
    return fig


_ID = re.compile(r'id="([^"]+)"')
_COORDS = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|points|transform)=")([^"]*)"')
_NUM = re.compile(r"-?\d+\.\d{2,}")


def _round(m: re.Match) -> str:
    text = f"{float(m.group(0)):.1f}"
    return "0" if text in ("0.0", "-0.0") else text.removesuffix(".0")


def clean_svg(svg: str, prefix: str) -> str:
    """Make matplotlib's SVG fit inline in HTML.

    Drops the XML prolog, doctype, metadata, comments, indentation, null rotations and ids
    nothing refers to; rounds the coordinates of paths and positions to 0.1 of a point
    (matplotlib writes six decimals: together these cut the default report from 5.0 to 3.7 MB);
    prefixes the remaining ids, since all inline SVGs of a page share one id space. Width and
    height stay; the page's CSS lets it shrink.
    """
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = _COORDS.sub(lambda m: m.group(1) + _NUM.sub(_round, m.group(2)).replace(" \n", " ")
                      + '"', svg)
    svg = re.sub(r"\n[ \t]+", "\n", svg)
    svg = re.sub(r' transform="rotate\(-?0 [^")]*\)"', "", svg)
    used = set(re.findall(r'(?:url\(#|href="#)([^")]+)', svg))
    svg = re.sub(r' id="([^"]+)"', lambda m: m.group(0) if m.group(1) in used else "", svg)
    ids = set(_ID.findall(svg))

    def repl(m: re.Match) -> str:
        name = m.group(2)
        return f"{m.group(1)}{prefix}{name}" if name in ids else m.group(0)

    return re.sub(r'(id="|url\(#|href="#)([^")]+)', repl, svg).strip() + "\n"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "metric"


def _specs(data: ReportData):
    """(group, stem, title, caption, draw) for every figure the report has, in order."""
    from imputebench.benchmarks.report import latent_plots, plots
    from imputebench.benchmarks.report.tables import headline_metrics

    style = _style(data.labels)
    heads = headline_metrics(data.metrics)
    for m in heads:
        if m in data.stats:
            yield (GROUPS[0], f"cd_{_safe(m)}", f"{m}: critical-difference diagram",
                   f"Average ranks of {m} over the blocks; imputers joined by a bar are not "
                   "significantly different (Nemenyi, Demšar 2006).",
                   lambda m=m: plots.cd_diagram(data.stats[m], style))
    yield (GROUPS[1], "rank_heatmap", "Rank heatmap, imputer × dataset",
           "Average rank of each imputer over each dataset's blocks, per headline metric.",
           lambda: plots.rank_heatmap(data, heads))
    rmse = next((m for m in heads if m in ("rmse_zscore", "rmse_minmax", "nrmse_col", "mae")),
                None)
    loglik = next((m for m in heads if m.startswith("loglik")), None)
    if rmse and loglik:
        yield (GROUPS[2], "rmse_vs_loglik", f"{rmse} vs {loglik} by dataset",
               "Point accuracy against distributional fit, one point per imputer: a point "
               "imputer can win one and lose the other.",
               lambda: plots.accuracy_vs_likelihood(data, rmse, loglik, style))
    yield (GROUPS[2], "quality_vs_time", "Quality vs fit + impute time",
           "Average rank against mean seconds per cell (log scale), with the Pareto front.",
           lambda: plots.quality_vs_time(data, heads, style))
    yield from latent_plots.specs(data, GROUPS[3], _safe)
    for name in sorted(data.metrics):
        info = data.metrics[name]
        yield (GROUPS[4], f"{FIGURE_PREFIX}{_safe(name)}", f"{name} vs missing rate",
               f"{name} against the nominal missing rate: rows are datasets, columns "
               "mechanisms; lines are means over repetitions, bands ± one sd.",
               lambda info=info: metric_vs_rate(data, info))


OWN_PNG = ("cd_*.png", "rank_heatmap.png", "rmse_vs_loglik.png", "quality_vs_time.png",
           "latent_map_*.png", "latent_kl_*.png", f"{FIGURE_PREFIX}*.png")


def render_figures(data: ReportData, fig_dir: str | Path,
                   rel_dir: str = "figures") -> list[RenderedFigure]:
    """Draw and save every figure of the report (:data:`GROUPS`).

    PNGs this module wrote before that the new report no longer has are removed, so a
    directory always matches its report.

    Parameters
    ----------
    data : ReportData
        The aggregated report.
    fig_dir : str or Path
        Folder for the PNG files (created when needed).
    rel_dir : str
        The same folder relative to the report files, for links.

    Returns
    -------
    list of RenderedFigure
        In :data:`GROUPS` order.
    """
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    out: list[RenderedFigure] = []
    used: set[str] = set()
    with matplotlib.rc_context(_RC):
        for k, (group, stem, title, caption, draw) in enumerate(_specs(data)):
            fig = draw()
            if fig is None:
                continue
            while stem in used:
                stem += "_"
            used.add(stem)
            png = fig_dir / f"{stem}.png"
            # a tight box: long imputer labels (legends, CD diagrams) are never cut off
            fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None},
                        bbox_inches="tight", pad_inches=0.05)
            fig.set_layout_engine("none")  # keep the PNG's layout; computing it again is slow
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                        bbox_inches="tight", pad_inches=0.05)
            out.append(RenderedFigure(group, title, png, f"{rel_dir}/{png.name}",
                                      clean_svg(buf.getvalue(), f"f{k}-"), caption))
    keep = {f.png_path.name for f in out}
    for pattern in OWN_PNG:
        for old in sorted(fig_dir.glob(pattern)):
            if old.name not in keep:
                old.unlink()
    return out
