"""Private core of ``bayesian_network``: discretisation, GreedyBayes and ancestral sampling.

Pure numpy, no pgmpy: the adapter (``bayesian_network.py``) learns the structure and the
conditional probability tables with pgmpy and hands them here as arrays. Columns are addressed
by position; every discrete state is an integer ``0 .. r - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

BINS, VALUES, LEVELS = "bins", "values", "levels"


@dataclass(frozen=True)
class ColumnCoder:
    """How one column maps to discrete states and back.

    ``mode`` is ``BINS`` (numeric, equal-width histogram bins with ``edges``), ``VALUES``
    (numeric with few distinct values: each distinct value in ``support`` is a state) or
    ``LEVELS`` (categorical: each observed category code in ``support`` is a state).
    """

    mode: str
    support: np.ndarray          # VALUES: the distinct values; LEVELS: observed category codes
    edges: np.ndarray | None = None

    @property
    def n_states(self) -> int:
        return len(self.edges) - 1 if self.mode == BINS else len(self.support)

    def encode(self, x: np.ndarray) -> np.ndarray:
        if self.mode == BINS:
            # bin j holds [e_j, e_j+1), the last bin also its right edge (np.histogram's rule)
            j = np.searchsorted(self.edges, x, side="right") - 1
            return np.clip(j, 0, self.n_states - 1).astype(np.int64)
        return np.searchsorted(self.support, x).astype(np.int64)

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Numeric values (float64) or category codes (int64) for the sampled states."""
        if self.mode == BINS:
            lo, hi = self.edges[states], self.edges[states + 1]
            return lo + rng.random(len(states)) * (hi - lo)   # uniform within the bin
        return self.support[states]


def numeric_coder(x: np.ndarray, bins: int, category_threshold: int) -> ColumnCoder:
    """Equal-width bins over [min, max], or the distinct values when there are at most
    ``category_threshold`` of them (always when the column is constant)."""
    distinct = np.unique(x)
    if len(distinct) <= max(category_threshold, 1):
        return ColumnCoder(VALUES, distinct)
    return ColumnCoder(BINS, distinct[:0], np.histogram_bin_edges(x, bins=bins))


def level_coder(codes: np.ndarray) -> ColumnCoder:
    return ColumnCoder(LEVELS, np.unique(codes))


def hot_deck(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy with each NaN replaced by one of the column's observed values, uniformly."""
    out = values.astype(np.float64, copy=True)
    miss = np.isnan(out)
    if miss.any():
        observed = out[~miss]
        out[miss] = observed[rng.integers(0, len(observed), int(miss.sum()))]
    return out


# ---------------------------------------------------------------------------- GreedyBayes
def _joint_code(codes: np.ndarray, cols: tuple[int, ...]) -> np.ndarray:
    """One integer per row for the combination of ``cols``, compressed to 0 .. m - 1."""
    if len(cols) == 1:
        return codes[:, cols[0]]
    _, inverse = np.unique(codes[:, list(cols)], axis=0, return_inverse=True)
    return inverse.ravel()


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """Empirical mutual information (nats) of two integer-coded arrays, as sklearn's
    ``mutual_info_score`` that DataSynthesizer uses."""
    ny = int(y.max()) + 1
    joint = np.bincount(x * ny + y, minlength=(int(x.max()) + 1) * ny).reshape(-1, ny)
    joint = joint / len(x)
    px, py = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / np.outer(px, py)[nz])))


def greedy_bayes(codes: np.ndarray, degree: int, root: int) -> list[tuple[int, tuple[int, ...]]]:
    """DataSynthesizer's ``greedy_bayes`` with privacy off (epsilon = 0).

    Starting from ``root``, repeatedly add the (unvisited column, set of ``min(degree,
    visited)`` visited columns) pair of highest mutual information, the first in
    DataSynthesizer's order on ties (unvisited columns in table order, parent sets in
    ``itertools.combinations`` order of the visit list). Returns ``[(child, parents), ...]``
    in visit order, the root first with no parents.
    """
    d = codes.shape[1]
    visited, rest = [root], [j for j in range(d) if j != root]
    network: list[tuple[int, tuple[int, ...]]] = [(root, ())]
    joint_cache: dict[tuple[int, ...], np.ndarray] = {}
    while rest:
        k = min(len(visited), degree)
        best, best_mi = None, -np.inf
        for child in rest:
            for parents in combinations(visited, k):
                key = tuple(sorted(parents))
                if key not in joint_cache:
                    joint_cache[key] = _joint_code(codes, key)
                mi = mutual_information(codes[:, child], joint_cache[key])
                if mi > best_mi:
                    best, best_mi = (child, parents), mi
        network.append(best)
        visited.append(best[0])
        rest.remove(best[0])
    return network


# ---------------------------------------------------------------------------- sampling
def ancestral_sample(order: list[int], parents: dict[int, list[int]],
                     tables: dict[int, np.ndarray], cards: list[int], n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Forward (ancestral) sampling: ``n`` rows of states, nodes visited in topological
    ``order``. ``tables[j]`` is column ``j``'s conditional probability table of shape
    ``(cards[j], prod(cards of parents[j]))``, parent configurations in C order of
    ``parents[j]`` (pgmpy's ``TabularCPD`` layout); each column sums to 1."""
    out = np.zeros((n, len(cards)), dtype=np.int64)
    for j in order:
        table, pa, r = tables[j], parents[j], cards[j]
        config = (np.ravel_multi_index(tuple(out[:, p] for p in pa), [cards[p] for p in pa])
                  if pa else np.zeros(n, dtype=np.int64))
        cum = np.cumsum(table, axis=0)
        cum = cum / cum[-1]
        cum[-1] = 1.0
        # One sorted array over all configurations (offset by the configuration's index),
        # so that every row's inverse-CDF lookup is one searchsorted, in O(table) memory.
        flat = (cum + np.arange(cum.shape[1])).T.ravel()
        hit = np.searchsorted(flat, rng.random(n) + config, side="right")
        out[:, j] = np.clip(hit - config * r, 0, r - 1)
    return out


def normalise_columns(table: np.ndarray) -> np.ndarray:
    """Columns of a count or probability table scaled to sum to 1; a column with no mass
    (a parent configuration never seen, under maximum likelihood) becomes uniform, as
    DataSynthesizer's ``normalize_given_distribution``."""
    table = np.nan_to_num(np.asarray(table, dtype=np.float64), nan=0.0).clip(min=0.0)
    total = table.sum(axis=0, keepdims=True)
    empty = total[0] <= 0
    table[:, empty] = 1.0
    total[:, empty] = table.shape[0]
    return table / total
