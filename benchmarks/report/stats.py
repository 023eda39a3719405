"""Significance of a comparison over blocks (DESIGN.md §9): Friedman, Nemenyi, Wilcoxon-Holm.

A *block* is one dataset × mechanism × rate; an imputer's value in a block is its metric averaged
over the repetitions (:func:`~imputebench.benchmarks.report.tables.block_means`). Per metric,
over the blocks where every compared imputer has a value:

- **ranks** within each block (1 = best, ties share the average rank), averaged over blocks;
- **Friedman's test** of "all imputers are equivalent" (Friedman 1937; as recommended by Demšar,
  JMLR 7, 2006): scipy's ``friedmanchisquare`` (chi-square with the tie correction) and the
  Iman–Davenport F statistic ``F = (N-1) chi2 / (N (k-1) - chi2)`` on ``(k-1, (k-1)(N-1))``
  degrees of freedom, the less conservative form Demšar recommends; the report's verdict uses F;
- **Nemenyi's critical difference** ``CD = q_alpha sqrt(k (k+1) / (6 N))`` with ``q_alpha`` the
  studentized range quantile over ``sqrt 2`` (scipy's ``studentized_range``; Demšar's Table 5):
  two imputers whose average ranks differ by less than CD are not significantly different. It
  draws the critical-difference diagram;
- **pairwise Wilcoxon signed-rank tests** (scipy's ``wilcoxon``, two-sided, zero differences
  split between the signs: ``zero_method="zsplit"``, exact when scipy can be) with Holm's
  step-down correction over all pairs (Holm 1979), the post-hoc Benavoli, Corani & Mangili (JMLR
  17, 2016) recommend over mean-rank tests; plus win / tie / loss counts per pair (a tie: equal
  values to 1e-12 relative).

Too few blocks: no test with fewer than :data:`MIN_BLOCKS` blocks (or fewer than two imputers
for the pairwise tests, three for Friedman), said plainly in ``reason``. With ``N`` blocks the
smallest two-sided Wilcoxon p is ``2 / 2^N``, so below 6 blocks no pair can reach alpha = 0.05;
the report says so too.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

ALPHA = 0.05
MIN_BLOCKS = 3
FULL_BLOCKS = 6         # the fewest blocks where a pairwise Wilcoxon test can reach 0.05
BLOCKS = "dataset × mechanism × rate"    # what a block is, unless a caller says otherwise
TIE_RTOL = 1e-12


def rank_blocks(values: np.ndarray, minimize: bool) -> np.ndarray:
    """(N blocks, k imputers) values -> ranks per block, 1 = best, ties averaged."""
    x = np.asarray(values, dtype=float)
    return stats.rankdata(x if minimize else -x, axis=1)


def nemenyi_q(k: int, alpha: float = ALPHA) -> float:
    """Demšar's ``q_alpha`` for ``k`` imputers: the studentized range quantile / sqrt 2."""
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def nemenyi_cd(k: int, n_blocks: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of average ranks for ``k`` imputers over ``n_blocks``."""
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n_blocks))


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * pvalues[i]))
        out[i] = running
    return out


def _wilcoxon(d: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of the paired differences ``d`` (1 when all are 0)."""
    if np.all(d == 0):
        return 1.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d, zero_method="zsplit").pvalue)


def paired(a: np.ndarray, b: np.ndarray, minimize: bool, test: bool = True
           ) -> tuple[int, int, int, float | None]:
    """Blocks where ``a`` beats / ties (1e-12 relative) / loses to ``b``, and the two-sided
    Wilcoxon p of their differences (ties counted as zero; None when ``test`` is False)."""
    d = a - b
    tie = np.abs(d) <= TIE_RTOL * np.maximum(np.abs(a), np.abs(b))
    better = (d < 0) if minimize else (d > 0)
    wins, ties = int(np.sum(better & ~tie)), int(np.sum(tie))
    p = _wilcoxon(np.where(tie, 0.0, d)) if test else None
    return wins, ties, len(d) - wins - ties, p


@dataclass(frozen=True)
class Pair:
    """Imputer ``a`` against ``b`` over the blocks: ``wins`` = blocks where a is better."""

    a: str
    b: str
    wins: int
    ties: int
    losses: int
    p: float | None = None          # Wilcoxon signed-rank, two-sided
    p_holm: float | None = None     # Holm-adjusted over all pairs
    significant: bool = False       # p_holm < alpha
    nemenyi: bool = False           # |rank a - rank b| >= CD


@dataclass
class MetricStats:
    """Every statistic of one metric; ``reason`` says why a test is missing."""

    metric: str
    minimize: bool
    labels: list[str]
    n_blocks: int
    alpha: float = ALPHA
    avg_ranks: dict[str, float] = field(default_factory=dict)
    chi2: float | None = None
    p_chi2: float | None = None
    f_stat: float | None = None
    p_f: float | None = None
    cd: float | None = None
    pairs: list[Pair] = field(default_factory=list)
    reason: str | None = None
    left_out: list[str] = field(default_factory=list)   # labels without a value everywhere
    unit: str = BLOCKS                                   # what one block is

    @property
    def significant(self) -> bool | None:
        """Friedman (Iman–Davenport F) rejects equivalence at ``alpha``; None if not run."""
        return None if self.p_f is None else self.p_f < self.alpha

    def pair(self, a: str, b: str) -> Pair | None:
        for p in self.pairs:
            if (p.a, p.b) == (a, b):
                return p
            if (p.a, p.b) == (b, a):
                return Pair(a, b, p.losses, p.ties, p.wins, p.p, p.p_holm, p.significant,
                            p.nemenyi)
        return None

    def groups(self) -> list[tuple[str, ...]]:
        """Maximal runs of imputers (in rank order) whose ranks all lie within CD of each
        other: the bars of a critical-difference diagram (Nemenyi cliques)."""
        if self.cd is None:
            return []
        order = sorted(self.avg_ranks, key=lambda lb: (self.avg_ranks[lb], lb))
        r = [self.avg_ranks[lb] for lb in order]
        runs = []
        for i in range(len(order)):
            j = i
            while j + 1 < len(order) and r[j + 1] - r[i] < self.cd:
                j += 1
            if j > i and not any(a <= i and j <= b for a, b in runs):
                runs.append((i, j))
        return [tuple(order[i:j + 1]) for i, j in runs]


def compare_blocks(metric: str, means: dict[tuple, dict[str, float]], minimize: bool,
                   alpha: float = ALPHA, unit: str = BLOCKS) -> MetricStats:
    """All the module's statistics for one metric from block key -> label -> value.

    Which imputers: all of them when at least :data:`FULL_BLOCKS` blocks have a value for every
    one; otherwise the least-covered imputers are dropped (those with a value in the fewest
    blocks, ties together) until that many blocks remain, or only the best-covered are left.
    Blocks missing any compared imputer are left out (``n_blocks`` counts the blocks used,
    ``left_out`` names the imputers dropped). E.g. the default benchmark: imputers for numeric
    tables only are compared with the others over the numeric tables' blocks. ``unit`` says
    what a block is in the texts (the synthesis section's blocks are dataset × repetition).
    """
    labels_all = sorted({lb for d in means.values() for lb in d})
    cover = {lb: sum(lb in d for d in means.values()) for lb in labels_all}
    labels, blocks = [], []
    for c in sorted(set(cover.values())):
        labels = [lb for lb in labels_all if cover[lb] >= c]
        blocks = [d for d in means.values() if all(lb in d for lb in labels)]
        if len(blocks) >= FULL_BLOCKS:
            break
    left_out = [lb for lb in labels_all if lb not in labels]
    x = np.array([[d[lb] for lb in labels] for d in blocks], dtype=float).reshape(-1, len(labels))
    ok = np.isfinite(x).all(axis=1)
    x = x[ok]
    n, k = x.shape
    out = MetricStats(metric, minimize, labels, n, alpha, left_out=left_out, unit=unit)
    if n == 0 or k == 0:
        out.reason = "no block where every imputer has a value"
        return out
    ranks = rank_blocks(x, minimize)
    out.avg_ranks = {lb: float(v) for lb, v in zip(labels, ranks.mean(axis=0), strict=True)}
    if k < 2:
        out.reason = "only one imputer: nothing to compare"
        return out
    if n < MIN_BLOCKS:
        out.reason = (f"too few blocks for a test: {n} (at least {MIN_BLOCKS} needed; blocks are "
                      f"{unit})")
    else:
        if k >= 3:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                res = stats.friedmanchisquare(*x.T)
            chi2 = float(res.statistic)
            out.chi2, out.p_chi2 = chi2, float(res.pvalue)
            if math.isfinite(chi2):
                denom = n * (k - 1) - chi2
                if denom > 0:
                    out.f_stat = (n - 1) * chi2 / denom
                    out.p_f = float(stats.f.sf(out.f_stat, k - 1, (k - 1) * (n - 1)))
                else:   # the ranks are identical in every block: the strongest possible evidence
                    out.f_stat, out.p_f = math.inf, 0.0
            else:       # every block ties every imputer
                out.chi2, out.p_chi2, out.f_stat, out.p_f = 0.0, 1.0, 0.0, 1.0
        else:
            out.reason = "two imputers: Friedman's test needs three; the Wilcoxon test decides"
        out.cd = nemenyi_cd(k, n, alpha)
        if n < 6:
            out.reason = (f"{n} blocks: no pairwise Wilcoxon test can reach alpha = {alpha:g} "
                          f"(its smallest two-sided p is 2/2^{n} = {2 / 2 ** n:.3g})")
    raw = [(i, j, *paired(x[:, i], x[:, j], minimize, n >= MIN_BLOCKS))
           for i, j in itertools.combinations(range(k), 2)]
    adjusted = holm([r[5] for r in raw]) if n >= MIN_BLOCKS else [None] * len(raw)
    for (i, j, w, t, lo, p), ph in zip(raw, adjusted, strict=True):
        diff = abs(out.avg_ranks[labels[i]] - out.avg_ranks[labels[j]])
        out.pairs.append(Pair(labels[i], labels[j], w, t, lo, p, ph,
                              ph is not None and ph < alpha,
                              out.cd is not None and diff >= out.cd))
    return out


def describe(s: MetricStats) -> str:
    """One sentence: the test, alpha, the number of blocks and the verdict."""
    head = (f"{s.metric}: {len(s.labels)} imputers over {s.n_blocks} blocks ({s.unit}"
            + (", repetitions averaged)" if s.unit == BLOCKS else ")"))
    if s.left_out:
        head += f"; left out for missing values: {', '.join(s.left_out)}"
    if s.p_f is None:
        return head + (f". No Friedman test: {s.reason}." if s.reason else ".")
    verdict = ("the imputers differ significantly" if s.significant
               else "no significant difference among the imputers")
    text = (f"{head}. Friedman chi2 = {s.chi2:.3g} (p = {s.p_chi2:.3g}); Iman–Davenport "
            f"F = {s.f_stat:.3g}, p = {s.p_f:.3g}: {verdict} at alpha = {s.alpha:g}. "
            f"Nemenyi CD = {s.cd:.3g} ranks; pairwise Wilcoxon signed-rank with Holm's "
            "correction.")
    if s.reason:
        text += f" Note: {s.reason}."
    return text


PAIR_HEADER = ["imputer A", "imputer B", "A wins / ties / losses", "Wilcoxon p", "Holm p",
               "verdict", "Nemenyi"]


MAX_PAIRWISE = 10     # more compared imputers: list only the best-ranked one's pairs


def pair_note(s: MetricStats) -> str | None:
    """What the pairwise table leaves out, or None when it lists every pair."""
    n = len(s.labels)
    if n <= MAX_PAIRWISE:
        return None
    best = min(s.labels, key=lambda lb: (s.avg_ranks.get(lb, math.inf), lb))
    return (f"{n} imputers: only the {n - 1} pairs of the best-ranked one ({best}) are listed "
            f"of all {n * (n - 1) // 2}; Holm's correction still runs over all pairs.")


def pair_rows(s: MetricStats, fmt) -> list[list[str]]:
    """The pairwise table of one metric as text cells (``fmt`` formats a p-value), pairs in
    the order of the better imputer's average rank; with more than :data:`MAX_PAIRWISE`
    imputers only the best-ranked imputer's pairs (:func:`pair_note`)."""
    rows = []
    order = {lb: (s.avg_ranks.get(lb, math.inf), lb) for lb in s.labels}
    pairs = s.pairs
    if len(s.labels) > MAX_PAIRWISE:
        best = min(s.labels, key=lambda lb: order[lb])
        pairs = [p for p in pairs if best in (p.a, p.b)]
    for p in sorted(pairs, key=lambda p: (min(order[p.a], order[p.b]),
                                          max(order[p.a], order[p.b]))):
        if order[p.b] < order[p.a]:
            p = s.pair(p.b, p.a)
        if p.p_holm is None:
            verdict = "not tested"
        elif p.significant:
            verdict = f"{p.a} better" if p.wins >= p.losses else f"{p.b} better"
        else:
            verdict = "not significant"
        nem = MISSING_TEXT if s.cd is None else ("differ" if p.nemenyi else "within CD")
        rows.append([p.a, p.b, f"{p.wins} / {p.ties} / {p.losses}",
                     MISSING_TEXT if p.p is None else fmt(p.p),
                     MISSING_TEXT if p.p_holm is None else fmt(p.p_holm), verdict, nem])
    return rows


MISSING_TEXT = "—"

IMPUTERS_NOTE = ("Where an imputer runs with several configurations, the tables and figures "
                 "name each by the parameters that tell them apart; the full settings are "
                 "here.")

SIGNIFICANCE_NOTE = (
    "Per metric, over the blocks (dataset × mechanism × rate, repetitions averaged) where every "
    "compared imputer has a value: Friedman's test of equal ranks, decided by the Iman–Davenport "
    f"F statistic at alpha = {ALPHA:g} (Demšar, JMLR 2006); then every pair by a two-sided "
    "Wilcoxon signed-rank test with Holm's correction over the pairs (Benavoli, Corani & "
    "Mangili, JMLR 2016), and by Nemenyi's critical difference (CD) of average ranks, which "
    "the critical-difference diagrams draw. 'A wins / ties / losses' counts blocks where A is "
    "better / equal / worse than B.")
