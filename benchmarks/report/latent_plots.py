"""The report's "Latent space" figures (DESIGN.md §9), from what latent models record:

- **latent map** per dataset × mask block: a panel per latent configuration with the prior's
  density as filled contours and the encoded posterior means of training rows on top (dots,
  coloured by the table's categorical target when it has one): the aggregated posterior
  against the prior, where prior mass without dots is the prior "hole". From the ``vae``
  imputer's ``diagnostics["latent_map"]`` (the first repetition that has one);
- **KL per latent dimension** per block: the same panels, a bar per latent dimension
  (``diagnostics["kl_per_dim"]``, sorted descending); dimensions with about zero KL carry no
  information about the row (collapsed, inactive).

Records without these diagnostics, or with malformed ones, simply draw nothing. Every function
returns a :class:`matplotlib.figure.Figure` (never pyplot) or ``None``.
"""

from __future__ import annotations

import math
import textwrap
from collections import Counter
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from imputebench.benchmarks.report.labels import short_labels
from imputebench.benchmarks.report.tables import ReportData, Row, dataset_name, mask_name

PER_ROW = 6                 # panels per figure row
MAX_POINTS = 400
MAX_CATEGORIES = 10         # the tab10 palette; more categories share "other"
KL_ACTIVE = 0.01            # nats: below it a dimension reads as collapsed
LEVELS = (0.01, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)   # density / its max
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")
_MISSING_COLOR = "#c7c7c7"
_OTHER_COLOR = "#555555"
_SINGLE_COLOR = "#d62728"

MAP_CAPTION = (
    "The prior's density (filled contours, normalised to its maximum; darker = more prior "
    "mass) against the encoded posterior means of up to 400 training rows (dots: the "
    "aggregated posterior), one panel per latent configuration (its first repetition). Regions "
    "of prior mass with no dots are the prior 'hole': there the decoder has seen no code, yet "
    "the prior samples it. Axes: z1, z2 when the latent space has two dimensions; otherwise the "
    "first two principal axes of the encoded means (PC1, PC2; the share of their variance in "
    "the panel title), the prior's density there a Gaussian KDE of projected prior samples.")
KL_CAPTION = (
    "Mean KL(q(z_d | x) || N(0, 1)) of each latent dimension, sorted descending, one panel per "
    "latent configuration (its first repetition): dimensions with about zero KL are collapsed "
    f"(inactive: the encoder ignores the row); grey bars fall below {KL_ACTIVE:g} nats (dashed "
    "line). N(0, 1) is the yardstick for every prior (the model's own KL term only for the "
    "standard prior). The title gives the active units the imputer counted (Burda et al. "
    "2016: dimensions whose posterior mean varies across rows, variance above 0.01), which "
    "can differ from the count of bars above the line: a dimension can carry KL with a mean "
    "that hardly moves.")


@dataclass(frozen=True)
class LatentMap:
    """A validated ``latent_map``: arrays of the right shapes, finite where it matters."""

    projection: str
    explained: float | None
    points: np.ndarray          # (n, 2) finite
    labels: list[str | None] | None
    label_column: str | None
    grid_x: np.ndarray | None
    grid_y: np.ndarray | None
    density: np.ndarray | None  # (len(grid_y), len(grid_x)) in [0, 1], max 1
    method: str


def _floats(x, ndim: int) -> np.ndarray | None:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a if a.ndim == ndim else None


def parse_latent_map(m) -> LatentMap | None:
    """Validate a record's ``latent_map``; ``None`` when nothing in it can be drawn."""
    if not isinstance(m, dict):
        return None
    pts = _floats(m.get("points"), 2) if m.get("points") else None
    labels = m.get("labels")
    if pts is not None and pts.shape[1] == 2:
        keep = np.isfinite(pts).all(axis=1)
        if isinstance(labels, list) and len(labels) == len(pts):
            labels = [None if lb is None else str(lb) for lb, k in zip(labels, keep, strict=True)
                      if k]
        else:
            labels = None
        pts = pts[keep][:MAX_POINTS]
        labels = labels[:MAX_POINTS] if labels is not None else None
    else:
        pts, labels = np.zeros((0, 2)), None
    gx, gy = _floats(m.get("grid_x"), 1), _floats(m.get("grid_y"), 1)
    logd = _floats(m.get("log_density"), 2)
    density = None
    if (gx is not None and gy is not None and logd is not None and len(gx) >= 2
            and len(gy) >= 2 and logd.shape == (len(gy), len(gx))
            and np.isfinite(gx).all() and np.isfinite(gy).all()
            and np.all(np.diff(gx) > 0) and np.all(np.diff(gy) > 0)):
        logd = np.where(np.isnan(logd), -np.inf, logd)
        top = np.max(logd)
        if np.isfinite(top):
            density = np.exp(logd - top)
    if density is None:
        gx = gy = None
    if density is None and len(pts) == 0:
        return None
    explained = m.get("explained")
    explained = (float(explained) if isinstance(explained, int | float)
                 and not isinstance(explained, bool) and math.isfinite(explained) else None)
    col = m.get("label_column")
    return LatentMap(str(m.get("projection") or "identity"), explained, pts, labels,
                     str(col) if isinstance(col, str) and labels is not None else None,
                     gx, gy, density, str(m.get("density") or ""))


def parse_kl(kl) -> np.ndarray | None:
    """A record's ``kl_per_dim`` as a finite 1-D array (``None`` when malformed or empty)."""
    a = _floats(kl, 1) if isinstance(kl, list | tuple) and kl else None
    return a if a is not None and np.isfinite(a).all() else None


def _is_latent(r: Row) -> bool:
    return r.status == "ok" and isinstance(r.diagnostics.get("prior"), str)


def latent_panels(data: ReportData) -> list[tuple[str, list[tuple[str, Row]]]]:
    """Per block with a latent model: (block title, [(short label, rows of that config)])."""
    rows = [r for r in data.rows if _is_latent(r)]
    if not rows:
        return []
    short = short_labels([r for r in data.rows if r.status == "ok"])
    blocks: dict[tuple, dict[str, list[Row]]] = {}
    titles = {}
    for r in rows:       # rows are sorted by block, repetition, label
        blocks.setdefault(r.block_key, {}).setdefault(short.get(r.label, r.label), []).append(r)
        titles[r.block_key] = f"{dataset_name(r.dataset, r.dataset_params)}, {mask_name(r.mask)}"
    return [(titles[k], sorted(blocks[k].items())) for k in sorted(blocks)]


def _grid(n: int, panel: float, extra_h: float) -> tuple[Figure, list]:
    ncols = min(PER_ROW, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(panel * ncols + 0.4, panel * nrows + extra_h), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.axis("off")
    return fig, axes[:n]


def _title(label: str) -> str:
    return "\n".join(textwrap.wrap(label, 30, break_long_words=True)) or label


def _categories(maps: list[LatentMap]) -> list[str]:
    """The categories that get their own colour: the most frequent, ties by name."""
    count = Counter(lb for m in maps for lb in (m.labels or []) if lb is not None)
    top = sorted(count, key=lambda c: (-count[c], c))
    if len(top) > MAX_CATEGORIES:
        top = top[:MAX_CATEGORIES - 1]
    return sorted(top)


def latent_map_figure(title: str, panels: list[tuple[str, LatentMap]]) -> Figure | None:
    """The prior's density and the encoded means, a panel per configuration."""
    if not panels:
        return None
    maps = [m for _, m in panels]
    cats = _categories(maps)
    color = {c: _PALETTE[i] for i, c in enumerate(cats)}
    labelled = any(m.labels is not None for m in maps)
    legend_rows = math.ceil((len(cats) + 2) / 6) if labelled else 0
    fig, axes = _grid(len(panels), 2.35, 0.55 + 0.22 * legend_rows)
    seen: set[str] = set()
    norm = Normalize(vmin=-0.35, vmax=1.25)      # the lightest band still shows, none is black
    for ax, (label, m) in zip(axes, panels, strict=True):
        xs = [m.points[:, 0]] if len(m.points) else []
        ys = [m.points[:, 1]] if len(m.points) else []
        if m.density is not None:
            ax.contourf(m.grid_x, m.grid_y, m.density, levels=LEVELS, cmap="Greys", norm=norm,
                        zorder=1, rasterized=True)
            xs.append(m.grid_x[[0, -1]])
            ys.append(m.grid_y[[0, -1]])
        if m.labels is None:
            groups = [(None, np.ones(len(m.points), bool), _SINGLE_COLOR)]
        else:
            lab = np.array([("\0missing" if lb is None else lb if lb in color else "\0other")
                            for lb in m.labels], dtype=object)
            groups = [(c, lab == c, color[c]) for c in cats]
            groups += [("other", lab == "\0other", _OTHER_COLOR),
                       ("missing", lab == "\0missing", _MISSING_COLOR)]
        for name, sel, col in groups:
            if np.any(sel):
                # rasterized: hundreds of dots per panel as one image, not one element each
                ax.plot(m.points[sel, 0], m.points[sel, 1], ls="none", marker="o", ms=2.2,
                        mew=0, color=col, zorder=3, rasterized=True)
                if name is not None:
                    seen.add(name)
        x, y = np.concatenate(xs), np.concatenate(ys)
        pad_x, pad_y = 0.03 * (np.ptp(x) or 1.0), 0.03 * (np.ptp(y) or 1.0)
        ax.set_xlim(x.min() - pad_x, x.max() + pad_x)
        ax.set_ylim(y.min() - pad_y, y.max() + pad_y)
        pca = m.projection == "pca"
        ax.set_xlabel("PC1" if pca else "z1", labelpad=1)
        ax.set_ylabel("PC2" if pca else "z2", labelpad=1)
        sub = []
        if pca:
            sub.append(f"PCA, {m.explained:.0%} of var." if m.explained is not None else "PCA")
        if m.method == "kde":
            sub.append("prior by KDE")
        ax.set_title(_title(label) + (f"\n({', '.join(sub)})" if sub else ""), fontsize=7.5)
        ax.tick_params(labelsize=6.5)
    if labelled:
        names = [c for c in [*cats, "other", "missing"] if c in seen]
        colors = {**color, "other": _OTHER_COLOR, "missing": _MISSING_COLOR}
        handles = [Line2D([], [], ls="none", marker="o", ms=4, mew=0, color=colors[c])
                   for c in names]
        column = next((m.label_column for m in maps if m.label_column), None)
        if handles:
            fig.legend(handles, names, loc="outside lower center", ncols=min(6, len(names)),
                       frameon=False, title=column, fontsize=7, title_fontsize=7.5)
    fig.suptitle(f"Latent space, {title}: prior density (contours) vs encoded means (dots)",
                 fontsize=9)
    return fig


def kl_figure(title: str, panels: list[tuple[str, np.ndarray, int | None]]) -> Figure | None:
    """KL per latent dimension, sorted descending, a panel per configuration."""
    if not panels:
        return None
    fig, axes = _grid(len(panels), 2.1, 0.45)
    for ax, (label, kl, active) in zip(axes, panels, strict=True):
        order = np.argsort(-kl, kind="stable")
        vals = kl[order]
        colors = ["#4c72b0" if v >= KL_ACTIVE else "#b0b0b0" for v in vals]
        pos = np.arange(len(vals))
        ax.bar(pos, vals, color=colors, width=0.8)
        ax.axhline(KL_ACTIVE, color="0.3", ls="--", lw=0.8)
        if len(vals) <= 16:
            ax.set_xticks(pos, [f"z{i + 1}" for i in order], fontsize=6,
                          rotation=90 if len(vals) > 8 else 0)
        else:
            ax.set_xticks([])
        ax.set_ylim(0, max(float(vals.max()) * 1.08, 3 * KL_ACTIVE))
        over = int(np.sum(kl >= KL_ACTIVE))
        counts = f"KL > {KL_ACTIVE:g}: {over} of {len(kl)}"
        if active is not None:
            counts = f"active units {active}, {counts}"
        ax.set_title(f"{_title(label)}\n{counts}", fontsize=7.5)
        ax.set_ylabel("KL (nats)", labelpad=1)
        ax.tick_params(labelsize=6.5)
        ax.grid(axis="y", alpha=0.3, lw=0.6)
    fig.suptitle(f"KL per latent dimension, {title}", fontsize=9)
    return fig


def specs(data: ReportData, group: str, safe):
    """(group, stem, title, caption, draw) of the latent figures, block by block."""
    for title, configs in latent_panels(data):
        maps, kls = [], []
        for label, rows in configs:
            parsed = [(r, parse_latent_map(r.diagnostics.get("latent_map"))) for r in rows]
            first = next(((r, m) for r, m in parsed if m is not None), None)
            if first is not None:
                maps.append((label, first[1]))
            # the map's repetition when it has a KL too, else the first one that has
            pick = ([first[0]] if first else []) + rows
            kr = next((r for r in pick if parse_kl(r.diagnostics.get("kl_per_dim")) is not None),
                      None)
            if kr is not None:
                au = kr.diagnostics.get("active_units")
                au = au if isinstance(au, int) and not isinstance(au, bool) else None
                kls.append((label, parse_kl(kr.diagnostics["kl_per_dim"]), au))
        if maps:
            yield (group, f"latent_map_{safe(title)}", f"Latent space: {title}", MAP_CAPTION,
                   lambda t=title, p=maps: latent_map_figure(t, p))
        if kls:
            yield (group, f"latent_kl_{safe(title)}", f"KL per latent dimension: {title}",
                   KL_CAPTION, lambda t=title, p=kls: kl_figure(t, p))
