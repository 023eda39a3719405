"""The report's comparison figures (DESIGN.md §9), besides metric vs missing rate:

- **critical-difference diagram** per headline metric (Demšar, JMLR 2006, Fig. 1): average ranks
  on an axis, best on the left; a bar joins imputers whose ranks differ by less than Nemenyi's
  critical difference (not significantly different); the CD itself drawn as a scale bar;
- **rank heatmap**, imputer × dataset: the average rank of each imputer over a dataset's blocks,
  one panel per headline metric;
- **accuracy vs distribution**: RMSE against log-likelihood per dataset, one point per imputer
  (the trade-off a point imputer and a sampler make differently);
- **quality vs time**: average rank against mean fit + impute seconds (log scale), one panel per
  headline metric, with the Pareto front (no other imputer both faster and better) joined.

Every function returns a :class:`matplotlib.figure.Figure` (never pyplot) or ``None`` when the
records hold nothing to draw.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from matplotlib.figure import Figure

from imputebench.benchmarks.report.stats import MetricStats, rank_blocks
from imputebench.benchmarks.report.tables import ReportData, block_means, dataset_name


def cd_diagram(s: MetricStats, style: dict[str, dict]) -> Figure | None:
    """Demšar's critical-difference diagram of one metric's average ranks."""
    if len(s.avg_ranks) < 2:
        return None
    order = sorted(s.avg_ranks, key=lambda lb: (s.avg_ranks[lb], lb))
    k = len(s.labels)
    half = (len(order) + 1) // 2
    left, right = order[:half], order[half:]
    rows = max(len(left), len(right))
    # no layout engine: the labels stand outside the axes and the saved box is fitted to them
    fig = Figure(figsize=(7.2, 1.5 + 0.26 * rows + 0.12 * len(s.groups())))
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.8))
    ax.set_xlim(0.3 - 0.22 * k, k + 0.7 + 0.22 * k)
    top = 0.0
    ax.hlines(top, 1, k, color="black", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, top, top + 0.12, color="black", lw=1)
        ax.text(r, top + 0.18, str(r), ha="center", va="bottom", fontsize=8)
    if s.cd is not None:
        ax.hlines(top + 0.75, 1, 1 + s.cd, color="black", lw=1.5)
        ax.vlines([1, 1 + s.cd], top + 0.68, top + 0.82, color="black", lw=1)
        ax.text(1 + s.cd / 2, top + 0.86, f"CD = {s.cd:.2f}", ha="center", va="bottom",
                fontsize=8)
    groups = s.groups()
    for g_i, g in enumerate(groups):
        y = top - 0.2 - 0.14 * g_i
        ax.hlines(y, s.avg_ranks[g[0]] - 0.03, s.avg_ranks[g[-1]] + 0.03, color="black", lw=3)
    base = top - 0.35 - 0.14 * len(groups)
    for side, names in (("left", left), ("right", right)):
        for i, lb in enumerate(names if side == "left" else names[::-1]):
            y = base - 0.3 * i
            r = s.avg_ranks[lb]
            end = 0.5 - 0.2 * k if side == "left" else k + 0.5 + 0.2 * k
            color = style.get(lb, {}).get("color", "black")
            ax.vlines(r, y, top, color=color, lw=1)
            ax.hlines(y, min(r, end), max(r, end), color=color, lw=1)
            ax.text(end + (-0.05 if side == "left" else 0.05), y, f"{lb} ({r:.2f})",
                    ha="right" if side == "left" else "left", va="center", fontsize=8)
    ax.set_ylim(base - 0.3 * rows, top + 1.1)
    ax.axis("off")
    if s.p_f is not None:
        verdict = (f"Friedman p = {s.p_f:.2g}" + ("" if s.significant else
                                                  ": no significant difference"))
    else:
        verdict = "no test: " + (s.reason or "")
    fig.suptitle(f"{s.metric}: average rank over {s.n_blocks} blocks (1 = best); bars join "
                 f"imputers within Nemenyi's CD at alpha = {s.alpha:g}\n{verdict}", fontsize=9)
    return fig


def _dataset_ranks(data: ReportData, metric: str) -> dict[str, dict[str, float]]:
    """Dataset title -> label -> average rank over that dataset's blocks."""
    minimize = data.metrics[metric].minimize
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    titles = {r.block_key: dataset_name(r.dataset, r.dataset_params) for r in data.rows}
    for block, d in block_means(data.rows, metric).items():
        if len(d) < 2:
            continue
        labels = list(d)
        x = np.array([[d[lb] for lb in labels]])
        for lb, rk in zip(labels, rank_blocks(x, minimize)[0], strict=True):
            per[titles[block]][lb].append(float(rk))
    return {t: {lb: float(np.mean(v)) for lb, v in d.items()} for t, d in sorted(per.items())}


def rank_heatmap(data: ReportData, metrics: list[str]) -> Figure | None:
    """Average rank of each imputer on each dataset, a panel per metric."""
    tables = {m: _dataset_ranks(data, m) for m in metrics}
    tables = {m: t for m, t in tables.items() if t}
    if not tables:
        return None
    labels = data.labels
    datasets = sorted({d for t in tables.values() for d in t})
    n = len(tables)
    label_in = 0.065 * max(len(lb) for lb in labels)     # room for the y tick labels
    fig = Figure(figsize=((min(3.0 + 0.55 * len(datasets), 7.5) + label_in) * min(n, 2) + 0.8,
                          (1.2 + 0.28 * len(labels)) * math.ceil(n / 2) + 0.4
                          + 0.06 * max(len(d) for d in datasets)),
                 layout="constrained")
    axes = fig.subplots(math.ceil(n / 2), min(n, 2), squeeze=False).ravel()
    kmax = len(labels)
    for ax, (m, t) in zip(axes, tables.items(), strict=False):
        grid = np.full((len(labels), len(datasets)), np.nan)
        for j, d in enumerate(datasets):
            for i, lb in enumerate(labels):
                grid[i, j] = t.get(d, {}).get(lb, np.nan)
        # pcolormesh, not imshow: vector cells, so the inline SVG holds no raster image
        im = ax.pcolormesh(np.arange(len(datasets) + 1) - 0.5, np.arange(len(labels) + 1) - 0.5,
                           np.ma.masked_invalid(grid), cmap="RdYlGn_r", vmin=1,
                           vmax=max(kmax, 2))
        ax.invert_yaxis()
        ax.set_xticks(range(len(datasets)), datasets, rotation=35, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i in range(len(labels)):
            for j in range(len(datasets)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=6.5)
        ax.set_title(f"{m} ({'lower' if data.metrics[m].minimize else 'higher'} is better)")
    for ax in axes[len(tables):]:
        ax.axis("off")
    cb = fig.colorbar(im, ax=list(axes[:len(tables)]), shrink=0.8, label="average rank (1 = best)")
    cb.solids.set_rasterized(False)     # matplotlib rasterizes colorbars in SVG by default
    fig.suptitle("Rank of each imputer on each dataset (over its mechanisms and rates)",
                 fontsize=10)
    return fig


def _dataset_means(data: ReportData, metric: str) -> dict[str, dict[str, float]]:
    """Dataset title -> label -> mean of ``metric`` over the dataset's ok cells."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in data.rows:
        if metric in r.metrics:
            acc[dataset_name(r.dataset, r.dataset_params)][r.label].append(r.metrics[metric])
    return {d: {lb: float(np.mean(v)) for lb, v in per.items()} for d, per in sorted(acc.items())}


def accuracy_vs_likelihood(data: ReportData, rmse: str, loglik: str,
                           style: dict[str, dict]) -> Figure | None:
    """RMSE (x) against log-likelihood (y) per dataset, one point per imputer."""
    a, b = _dataset_means(data, rmse), _dataset_means(data, loglik)
    datasets = [d for d in a if d in b and set(a[d]) & set(b[d])]
    if not datasets:
        return None
    ncols = min(3, len(datasets))
    nrows = math.ceil(len(datasets) / ncols)
    fig = Figure(figsize=(3.3 * ncols + 1.6, 2.8 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    shown = set()
    for ax, d in zip(axes, datasets, strict=False):
        for lb in sorted(set(a[d]) & set(b[d])):
            st = style.get(lb, {})
            ax.scatter(a[d][lb], b[d][lb], color=st.get("color"), marker=st.get("marker", "o"),
                       s=30, label=lb if lb not in shown else None, zorder=3)
            shown.add(lb)
        ax.set_title(d)
        ax.set_xlabel(f"{rmse} (lower is better)")
        ax.set_ylabel(f"{loglik} (higher is better)")
        ax.grid(alpha=0.3, lw=0.6)
    for ax in axes[len(datasets):]:
        ax.axis("off")
    fig.legend(loc="outside right upper", frameon=False)
    fig.suptitle("Point accuracy against the likelihood of the true values (means over each "
                 "dataset's cells): up and left is better", fontsize=10)
    return fig


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """Labels no other point dominates (another both <= in x and y and < in one), by x."""
    front = []
    for lb, (x, y) in points.items():
        if not any((x2 <= x and y2 <= y and (x2 < x or y2 < y))
                   for lb2, (x2, y2) in points.items() if lb2 != lb):
            front.append(lb)
    return sorted(front, key=lambda lb: points[lb])


def quality_vs_time(data: ReportData, metrics: list[str], style: dict[str, dict]
                    ) -> Figure | None:
    """Average rank (y) against mean fit + impute seconds (x, log), a panel per metric."""
    secs: dict[str, list[float]] = defaultdict(list)
    for r in data.rows:
        if r.status == "ok" and r.fit_seconds is not None and r.impute_seconds is not None:
            secs[r.label].append(r.fit_seconds + r.impute_seconds)
    time = {lb: max(float(np.mean(v)), 1e-4) for lb, v in secs.items()}
    panels = []
    for m in metrics:
        pts = {lb: (time[lb], data.ranks.ranks[(lb, m)][0]) for lb in time
               if (lb, m) in data.ranks.ranks}
        if len(pts) >= 2:
            panels.append((m, pts))
    if not panels:
        return None
    ncols = min(2, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(4.4 * ncols + 0.6, 3.0 * nrows + 0.5 + 0.25 * math.ceil(len(time) / 4)),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    shown = set()
    for ax, (m, pts) in zip(axes, panels, strict=False):
        front = pareto_front(pts)
        for lb, (x, y) in sorted(pts.items()):
            st = style.get(lb, {})
            ax.scatter(x, y, color=st.get("color"), marker=st.get("marker", "o"), s=30,
                       edgecolors="black" if lb in front else "none", linewidths=1.2,
                       label=lb if lb not in shown else None, zorder=3)
            shown.add(lb)
        fx, fy = zip(*[pts[lb] for lb in front], strict=True)
        ax.step(fx, fy, where="post", color="0.35", lw=1, ls="--", zorder=2)
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_title(m)
        ax.set_xlabel("mean fit + impute seconds (log)")
        ax.set_ylabel("average rank (1 = best)")
        ax.grid(alpha=0.3, lw=0.6, which="both")
    for ax in axes[len(panels):]:
        ax.axis("off")
    fig.legend(loc="outside lower center", ncols=min(4, len(shown)), frameon=False)
    fig.suptitle("Quality against time; the dashed line joins the Pareto front (outlined "
                 "points: no imputer is both faster and better ranked)", fontsize=10)
    return fig
