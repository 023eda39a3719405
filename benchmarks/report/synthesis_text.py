"""The text of the report's Synthesis section (:mod:`~imputebench.benchmarks.report.synthesis`):
its notes, and :func:`section_parts`, which lays the section's numbers out as :class:`Part`
objects (heading, paragraphs, bullets, one table of text) for the Markdown and HTML renderers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from imputebench.benchmarks.report.stats import ALPHA, FULL_BLOCKS, MetricStats, describe
from imputebench.benchmarks.report.tables import fmt, rank_text

if TYPE_CHECKING:
    from imputebench.benchmarks.report.synthesis import SynthesisSection

UNIT = "dataset × repetition"
TYPE_METRICS = ("pmse", "pmse_cart", "cluster_log")
VERDICTS = ("agree", "disagree", "not significant", "not measured")

PROTOCOL = (
    "Each generator fits on the training rows and samples as many rows as the holdout baseline "
    "holds; every metric here compares those synthetic rows with reference rows that no model "
    "saw (the other half of the holdout), and holdout is real unseen rows, what a perfect "
    "generator scores. The study's protocol (Pathare et al. 2023) scores against the training "
    "rows instead (\"vs train\" below): there a generator that copies training rows beats real "
    "unseen rows, so it rewards memorisation. Lower is better for every metric; higher for the "
    "utility score.")
TYPE_NOTE = (
    "Average rank per generator (1 = best, holdout included) over the datasets of each type; "
    f"a block is one {UNIT}, since with two datasets per type the datasets alone give too few "
    "blocks for a test. Friedman / Iman–Davenport and Nemenyi's critical difference (CD) as in "
    "the Significance section; a test needs at least 3 blocks, a pairwise Wilcoxon test 6.")
CLAIMS_NOTE = (
    f"Per claim and metric, over the blocks ({UNIT}) where both sides have a value (a side's "
    "value: the mean over its generators present): blocks the claimed better side wins / ties / "
    "loses, the two-sided Wilcoxon signed-rank p, and each side's average rank among all the "
    f"generators of the block. Verdict: agree = the claimed better side wins with p < {ALPHA:g}; "
    "disagree = the other side does; not measured = a side has no finished cell. A side \"*\" is "
    "every generator but holdout and the other side.")
MEMO_NOTE = (
    "Means over repetitions. copy rate: share of synthetic rows identical to a training row; DCR "
    "ratio: median distance to the closest training row over that of real unseen rows (below 1: "
    "closer to the training rows than unseen rows are); utility: XGBoost trained on the "
    "synthetic rows, tested on the reference rows, and its gap to training on the real training "
    "rows. \"memorises\": beats holdout against the training rows but not against the "
    "reference rows.")
SANITY_NOTE = (
    "Checks of the protocol itself (if one fails, the metric or the protocol is wrong, not the "
    "generator), per dataset on each pMSE model, means over repetitions against the reference "
    "rows. holdout best or tied: no generator scores significantly better than real unseen rows "
    "(\"best\": none has a lower mean; \"tied\": some have, but none is better by a one-sided "
    "paired t-test over the repetitions (the same split on both sides) with Holm's correction "
    f"over those generators at alpha = {ALPHA:g}; with three repetitions only a gap that is "
    "large against its spread counts, and the best of many generators at the null floor often "
    "lands a little below holdout by chance). cart beats "
    "independent: independent has exact marginals, so a propensity model that tells its rows "
    "from real ones more easily than it tells real unseen rows (on every repetition) has found "
    "dependence between the columns; there CART, which keeps dependence, must score better; "
    "\"no dependence seen\" otherwise.")
DUAL_NOTE = (
    "One fitted model scored on one scale two ways, against the same reference rows: as a "
    "generator (every cell of its rows generated) and as an imputer (the baseline rows with "
    "{rate} of their cells hidden at random and filled with one draw of the model; the other "
    "cells real). holdout (the baseline rows themselves) is what a perfect model scores both "
    "ways. Means over repetitions.")


@dataclass
class Part:
    """One piece of the section: an optional heading, paragraphs, bullets and a text table."""

    heading: str = ""
    level: int = 3
    text: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    bold: set[tuple[int, int]] = field(default_factory=set)      # (row, column) cells
    align: str = ""             # "l" / "r" per column; default: the first left, others right

    def aligns(self) -> list[str]:
        return list(self.align) if self.align else ["l"] + ["r"] * (len(self.header) - 1)


def _arrow(m: str, minimize: bool = True) -> str:
    return f"{m} {'↓' if minimize else '↑'}"


def _sizes(d: dict) -> str:
    return " or ".join("/".join("?" if v is None else str(v) for v in s) for s in d["sizes"])


def _type_part(dim: str, value: str, per: dict[str, MetricStats], datasets: list[str]) -> Part:
    labels = sorted({lb for s in per.values() for lb in [*s.labels, *s.left_out]},
                    key=lambda lb: (np.mean([s.avg_ranks.get(lb, math.inf)
                                             for s in per.values()]), lb))
    part = Part(f"{dim}: {value} ({', '.join(datasets)})", 4,
                header=["generator", *[_arrow(m, s.minimize) for m, s in per.items()]])
    for i, lb in enumerate(labels):
        row = [lb]
        for j, s in enumerate(per.values()):
            r = s.avg_ranks.get(lb)
            row.append(rank_text(r) if r is not None else "—")
            if r is not None and rank_text(r) == rank_text(min(s.avg_ranks.values())):
                part.bold.add((i, j + 1))
        part.rows.append(row)
    for s in per.values():
        # the section shows no pairwise table: Nemenyi's groups instead
        text = describe(s).replace("; pairwise Wilcoxon signed-rank with Holm's correction.", ".")
        groups = [g for g in s.groups() if len(g) > 1]
        if groups:
            text += (" Not separated by the CD: " + "; ".join("{" + ", ".join(g) + "}"
                                                               for g in groups) + ".")
        part.bullets.append(text)
    return part


def _claim_parts(sec: SynthesisSection) -> list[Part]:
    part = Part("Claims of Pathare et al. (2023)", 3, [CLAIMS_NOTE],
                header=["claim", "metric", "better side", "worse side", "blocks",
                        "wins / ties / losses", "Wilcoxon p", "avg rank (better)",
                        "avg rank (worse)",
                        "verdict"], align="llllrrrrrl")
    for c in sec.claims:
        part.rows.append([c.text, c.metric, ", ".join(c.better) or "—",
                          ", ".join(c.worse) or "—", str(c.n_blocks),
                          f"{c.wins} / {c.ties} / {c.losses}" if c.n_blocks else "—",
                          fmt(c.p, 3), fmt(c.rank_better, 3), fmt(c.rank_worse, 3), c.verdict])
    measured = [c for c in sec.claims if c.verdict != "not measured"]
    counts = {v: sum(c.verdict == v for c in sec.claims) for v in VERDICTS}
    part.text.append(f"{len(sec.claims)} claim × metric checks: "
                     + ", ".join(f"{v} {n}" for v, n in counts.items()) + ".")
    seen = set()
    for c in sec.claims:
        if c.missing and c.text not in seen:
            seen.add(c.text)
            part.bullets.append(f"{c.text}: no finished cell for {', '.join(c.missing)}.")
    few = sorted({c.n_blocks for c in measured if c.n_blocks < FULL_BLOCKS})
    if few:
        part.bullets.append(f"{' or '.join(map(str, few))} blocks: below {FULL_BLOCKS} no "
                            f"two-sided Wilcoxon p can reach {ALPHA:g}, so no verdict can be "
                            "significant.")
    return [part]


def _memo_part(ds: str, rows: list[dict], metric: str | None, kind: dict) -> Part:
    score = {"numeric": "R²", "balanced": "accuracy", "unbalanced": "accuracy"}.get(
        str(kind.get("target")), "")
    util = next((r for r in rows if r["target"]), None)
    text = [f"Utility: XGBoost {score or 'score'} on the target {util['target']}; trained on "
            f"the real training rows it scores {fmt(util['real'])}." if util else
            "No declared target: no utility score."]
    m = metric or "pmse_cart"
    part = Part(ds, 4, text, header=["generator", "copy rate", "DCR ratio",
                                     f"utility ({score}) ↑" if score else "utility ↑",
                                     "utility gap ↓",
                                     f"{m} vs reference ↓", f"{m} vs train ↓", "memorisation"],
                align="lrrrrrrl")
    for r in rows:
        part.rows.append([r["label"], fmt(r["copy_rate"]), fmt(r["dcr_ratio"]),
                          fmt(r["utility"]), fmt(r["gap"]), fmt(r["ref"]), fmt(r["train"]),
                          "memorises" if r["memorises"] else ""])
    flagged = [r["label"] for r in rows if r["memorises"]]
    if flagged:
        part.text.append(f"{', '.join(flagged)} beat{'s' if len(flagged) == 1 else ''} holdout "
                         f"on {m} against the training rows but not against the reference "
                         "rows: memorisation.")
    return part


def section_parts(sec: SynthesisSection, metrics: list[str], memo_metric: str | None,
                  has_claims: bool) -> list[Part]:
    """The section as parts: protocol, ranks by dataset type, claims, memorisation."""
    sizes = {_sizes(d) for d in sec.datasets}
    n_text = (f"n_train / n_synthetic / n_reference: {sizes.pop()} on every dataset."
              if len(sizes) == 1
              else "n_train / n_synthetic / n_reference per dataset: see the table.")
    parts = [Part("Protocol", 3, [PROTOCOL, n_text],
                  header=["dataset", "columns", "target", "n_train / n_synthetic / n_reference",
                          "repetitions"], align="lllrr",
                  rows=[[d["dataset"], str(d.get("columns", "?")), str(d.get("target", "?")),
                         _sizes(d), str(d["repetitions"])] for d in sec.datasets])]
    parts.append(Part("By dataset type", 3, [TYPE_NOTE]))
    if not metrics:
        parts[-1].text.append("No run measured " + ", ".join(TYPE_METRICS) + ".")
    for (dim, value), per in sec.types.items():
        names = [d["dataset"] for d in sec.datasets if d.get(dim) == value]
        parts.append(_type_part(dim, value, per, names))
    if has_claims:
        parts += _claim_parts(sec)
    else:
        parts.append(Part("Claims of Pathare et al. (2023)", 3,
                          ["The config lists no [[claims]] to check."]))
    if sec.sanity:
        part = Part("Sanity checks", 3, [SANITY_NOTE],
                    header=["dataset", "check", "metric", "verdict", "values"], align="lllll")
        part.rows = [[r["dataset"], r["check"], r["metric"], r["verdict"], r["detail"]]
                     for r in sec.sanity]
        failed = [r for r in sec.sanity if r["verdict"] == "fails"]
        part.text.append(f"{len(sec.sanity) - len(failed)} of {len(sec.sanity)} checks hold"
                         + ("." if not failed else "; failing: " + "; ".join(
                             f"{r['dataset']} {r['check']} on {r['metric']}" for r in failed)
                            + "."))
        parts.append(part)
    if sec.dual:
        rates = {r["rate"] for rows in sec.dual.values() for r in rows if r["rate"]}
        rate = " or ".join(f"{x:.0%}" for x in sorted(rates)) or "a share"
        parts.append(Part("As imputers and as generators", 3, [DUAL_NOTE.format(rate=rate)]))
        for ds, rows in sec.dual.items():
            ms = [m for m in metrics if m in rows[0]]
            part = Part(ds, 4, header=["model"] + [f"{m} {w} ↓" for m in ms
                                                   for w in ("as generator", "as imputer")])
            hold = ["holdout"] + [fmt(rows[0][m][2]) for m in ms for _ in range(2)]
            part.rows = [hold] + [[r["label"]] + [fmt(r[m][k]) for m in ms for k in (0, 1)]
                                  for r in rows]
            parts.append(part)
    parts.append(Part("Memorisation and utility", 3, [MEMO_NOTE]))
    kinds = {d["dataset"]: d for d in sec.datasets}
    parts += [_memo_part(ds, rows, memo_metric, kinds[ds]) for ds, rows in sec.memo.items()]
    return parts
