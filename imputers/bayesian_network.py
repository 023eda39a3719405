"""A discrete Bayesian network synthesizer of whole tables (DataSynthesizer's correlated mode)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError, require
from imputebench.datasets.schema import NUMERIC
from imputebench.imputers._bn_core import (
    ancestral_sample,
    greedy_bayes,
    hot_deck,
    level_coder,
    normalise_columns,
    numeric_coder,
)
from imputebench.imputers.base import Capabilities, Imputer, register_imputer

STRUCTURES = ("hill_climb", "greedy_bayes")
SCORES = ("bic", "k2", "bdeu")


def _int_at_least(value, low: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ImputebenchError(f"bayesian_network: {what} must be an integer >= {low}, "
                               f"got {value!r}")


def _topological_order(parents: dict[int, list[int]]) -> list[int]:
    """Kahn's order, ties to the leftmost column (so the order is a function of the graph)."""
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(parents):
        ready = [j for j in sorted(parents) if j not in done and set(parents[j]) <= done]
        if not ready:
            raise RuntimeError("bayesian_network: the learned graph has a cycle")
        order.append(ready[0])
        done.add(ready[0])
    return order


@register_imputer
class BayesianNetworkSynthesizer(Imputer):
    """Whole-table synthesis from a discrete Bayesian network, as DataSynthesizer's correlated
    attribute mode with privacy off (the "Bayesian network" generator of Pathare et al. 2023).

    DataSynthesizer (Ping, Stoyanovich & Howe 2017) discretises every column, learns a
    Bayesian network of bounded in-degree ``k`` on the discrete table (PrivBayes' GreedyBayes),
    estimates each column's conditional distribution given its parents from counts, samples
    discrete rows forward through the network and turns each numeric bin back into a value drawn
    uniformly within the bin. Ours does the same with pgmpy (Ankan & Panda 2015) for the
    structure search and the conditional probability tables; each step and where it differs:

    1. **Missing training cells** are completed first by a seeded hot deck: each missing cell a
       uniform draw from its own column's observed values (with the fit's generator).
       DataSynthesizer instead adds a "missing" state to every column and can generate NaN;
       these generators must not.
    2. **Discretisation.** A categorical or ordinal column's states are its categories observed
       in training (DataSynthesizer's value counts; ordinal order is not used, as there). A
       numeric column with at most ``category_threshold`` distinct values (DataSynthesizer's
       ``category_threshold``, default 20; always a constant column) has its distinct values as
       states and is generated exactly. Any other numeric column is cut into ``bins``
       equal-width bins over [min, max] (``numpy.histogram_bin_edges``; DataSynthesizer's
       ``histogram_size=20`` histograms), bin ``j`` holding ``[e_j, e_j+1)`` and the last bin its
       right edge too.
    3. **Structure** (``structure``), at most ``degree`` parents per column (DataSynthesizer's
       ``k``; its tutorials use 2):

       * ``"hill_climb"`` (default): pgmpy's ``causal_discovery.HillClimbSearch`` (greedy add /
         remove / reverse-edge search from the empty graph with a tabu list, Koller & Friedman
         2009, §18.4.3) with ``max_indegree=degree``, maximising ``score`` on the discrete
         table: ``"bic"`` (Schwarz 1978; the default), ``"k2"`` (Cooper & Herskovits 1992) or
         ``"bdeu"`` (Heckerman, Geiger & Chickering 1995, with ``equivalent_sample_size``);
         pgmpy's defaults otherwise (tabu list of 100 moves; stop when no move gains 1e-4),
         with its candidate moves taken in sorted order so that ties between moves (an edge's
         two directions often score the same) are broken by the data and the column order,
         not by Python's string hash seed.
         This differs from DataSynthesizer: its GreedyBayes gives *every* column after the
         first ``k`` exactly ``k`` parents, chosen by mutual information, whereas a penalised
         score adds an edge only when the data support it, so independent columns stay
         unconnected and a column with many states (20 bins) rarely takes parents on a small
         table under BIC;
       * ``"greedy_bayes"``: DataSynthesizer's own GreedyBayes without the exponential
         mechanism (epsilon = 0), in numpy (pgmpy has no such learner): a root column drawn
         with the fit's generator (DataSynthesizer's ``random.choice``), then repeatedly the
         (unvisited column, ``min(k, visited)`` visited columns) pair of largest empirical
         mutual information, first in DataSynthesizer's order on ties. For ``degree=1`` this is
         Prim's algorithm on mutual information: the Chow & Liu (1968) tree.
    4. **Parameters**: pgmpy's ``DiscreteBayesianEstimator`` with a BDeu prior of
       ``equivalent_sample_size`` (pseudo-count ``ess / (r q)`` in each cell of a column's
       table with ``r`` states and ``q`` parent configurations), so no state has probability
       zero. ``equivalent_sample_size=0`` is DataSynthesizer's noise-free estimate exactly:
       relative frequencies, and a uniform distribution for a parent configuration never seen.
    5. **Sampling**: ancestral sampling in topological order (ties to the leftmost column)
       from the fitted tables with our own generator (inverse CDF per row); pgmpy's sampler
       is not used, so the process's global random state is never touched. A numeric bin
       becomes a value uniform within its edges (DataSynthesizer's ``uniform`` within a bin),
       so values stay within the training range. DataSynthesizer also truncates the values of
       integer-typed columns; we keep floats (a column with few distinct values is exact by
       step 2). Output: float64 numeric columns, categoricals with the fitted categories.

    Parameters
    ----------
    degree : int
        Maximum number of parents per column (DataSynthesizer's ``k``), >= 1.
    bins : int
        Equal-width bins of a numeric column with more than ``category_threshold`` distinct
        values (DataSynthesizer's ``histogram_size``), >= 2.
    category_threshold : int
        Numeric columns with at most this many distinct values are modelled on their values
        (0: always binned, except a constant column).
    structure : {"hill_climb", "greedy_bayes"}
        The structure learner (step 3).
    score : {"bic", "k2", "bdeu"}
        The score of ``"hill_climb"`` (unused by ``"greedy_bayes"``).
    equivalent_sample_size : float
        BDeu equivalent sample size of the parameter prior (and of the ``"bdeu"`` score), >= 0;
        0 = maximum likelihood with uniform rows for unseen parent configurations.
    random_state : int, numpy Generator or None
        Seeds the hot deck and the GreedyBayes root at fit; ``sample_rows`` takes its own.

    Attributes
    ----------
    network_ : pgmpy.models.DiscreteBayesianNetwork
        The fitted network on the discrete table (nodes ``c0, c1, ...`` in column order,
        states ``0 .. r - 1``).
    diagnostics_ : dict
        ``edges`` (``[parent, child]`` column names), ``n_parameters`` (free parameters of the
        tables, sum of ``(r - 1) q``), ``states`` per column, ``hot_deck_cells``, ``structure``,
        ``score``, ``root`` (GreedyBayes) and ``pgmpy_version``.

    References
    ----------
    Ping, H., Stoyanovich, J., Howe, B. (2017). DataSynthesizer: Privacy-preserving synthetic
    datasets. Proceedings of SSDBM '17, 42:1-42:5.
    Zhang, J., Cormode, G., Procopiuc, C. M., Srivastava, D., Xiao, X. (2017). PrivBayes:
    Private data release via Bayesian networks. ACM TODS 42(4), 25:1-25:41.
    Ankan, A., Panda, A. (2015). pgmpy: Probabilistic graphical models using Python.
    Proceedings of the 14th Python in Science Conference (SciPy 2015), 6-11.
    Koller, D., Friedman, N. (2009). Probabilistic Graphical Models: Principles and Techniques.
    MIT Press, section 18.4.3 (hill climbing over structures).
    Schwarz, G. (1978). Estimating the dimension of a model. Annals of Statistics 6(2), 461-464.
    Cooper, G. F., Herskovits, E. (1992). A Bayesian method for the induction of probabilistic
    networks from data. Machine Learning 9, 309-347.
    Heckerman, D., Geiger, D., Chickering, D. M. (1995). Learning Bayesian networks: The
    combination of knowledge and statistical data. Machine Learning 20, 197-243.
    Chow, C., Liu, C. (1968). Approximating discrete probability distributions with dependence
    trees. IEEE Transactions on Information Theory 14(3), 462-467.
    Pathare, A. et al. (2023). Comparison of tabular synthetic data generation techniques using
    propensity and cluster log metric. International Journal of Information Management Data
    Insights, 100177. doi:10.1016/j.jjimei.2023.100177.

    Examples
    --------
    Needs pgmpy (the ``synth`` extra):

    >>> from imputebench.datasets import load_dataset
    >>> df = load_dataset("penguins", include_target=True)
    >>> bn = BayesianNetworkSynthesizer(random_state=0).fit(df)  # doctest: +SKIP
    >>> bn.diagnostics_["edges"][:2]  # doctest: +SKIP
    [['species', 'island'], ['species', 'flipper_length_mm']]
    >>> rows = bn.sample_rows(500, random_state=1)  # doctest: +SKIP
    >>> rows.shape, bool(rows.notna().all().all())  # doctest: +SKIP
    ((500, 8), True)
    """

    name = "bayesian_network"
    capabilities = Capabilities(categorical=True, stochastic=True, generates=True,
                                imputes=False)
    fast_params = {"degree": 2, "bins": 5, "random_state": 0}

    def __init__(self, degree: int = 2, bins: int = 20, category_threshold: int = 20,
                 structure: str = "hill_climb", score: str = "bic",
                 equivalent_sample_size: float = 1.0, random_state=None) -> None:
        self.degree = degree
        self.bins = bins
        self.category_threshold = category_threshold
        self.structure = structure
        self.score = score
        self.equivalent_sample_size = equivalent_sample_size
        self.random_state = random_state

    def _check_params(self) -> None:
        _int_at_least(self.degree, 1, "degree")
        _int_at_least(self.bins, 2, "bins")
        _int_at_least(self.category_threshold, 0, "category_threshold")
        for what, value, choices in (("structure", self.structure, STRUCTURES),
                                     ("score", self.score, SCORES)):
            if value not in choices:
                raise ImputebenchError(f"bayesian_network: {what} must be one of "
                                       f"{list(choices)}, got {value!r}")
        ess = self.equivalent_sample_size
        if isinstance(ess, bool) or not isinstance(ess, int | float | np.integer | np.floating) \
                or not np.isfinite(ess) or ess < 0:
            raise ImputebenchError("bayesian_network: equivalent_sample_size must be a finite "
                                   f"number >= 0, got {ess!r}")
        if self.structure == "hill_climb" and self.score == "bdeu" and ess <= 0:
            raise ImputebenchError("bayesian_network: equivalent_sample_size must be > 0 for "
                                   "score='bdeu'")

    # ------------------------------------------------------------------ fit
    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        pgmpy = require("pgmpy", self.name, "synth")
        states, filled = self._discretise(X, kinds, rng)
        nodes = [f"c{j}" for j in range(states.shape[1])]
        cards = [c.n_states for c in self.coders_]
        state_names = {v: list(range(r)) for v, r in zip(nodes, cards, strict=True)}
        data = pd.DataFrame({v: pd.Categorical(states[:, j], categories=state_names[v])
                             for j, v in enumerate(nodes)})
        root = None
        if self.structure == "hill_climb":
            edges = self._hill_climb(data, state_names)
        else:
            root = int(rng.integers(0, len(nodes)))
            edges = [(nodes[p], nodes[child])
                     for child, parents in greedy_bayes(states, int(self.degree), root)
                     for p in parents]
        self.network_ = self._estimate(nodes, edges, data, state_names)
        index = {v: j for j, v in enumerate(nodes)}
        self.parents_, self.tables_ = {}, {}
        for cpd in self.network_.get_cpds():
            j = index[cpd.variable]
            self.parents_[j] = [index[p] for p in cpd.variables[1:]]
            self.tables_[j] = cpd.get_values()
        self.order_ = _topological_order(self.parents_)
        n_params = sum((cards[j] - 1) * int(np.prod([cards[p] for p in pa]))
                       for j, pa in self.parents_.items())
        self.diagnostics_ = {
            "edges": [[self.columns_[index[a]], self.columns_[index[b]]] for a, b in edges],
            "n_parameters": int(n_params),
            "states": dict(zip(self.columns_, cards, strict=True)),
            "hot_deck_cells": filled, "structure": self.structure,
            "score": self.score if self.structure == "hill_climb" else None,
            "root": None if root is None else self.columns_[root],
            "pgmpy_version": pgmpy.__version__,
        }

    def _discretise(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator
                    ) -> tuple[np.ndarray, int]:
        """The hot-decked table as states, one ``ColumnCoder`` per column in ``coders_``."""
        states = np.empty(X.shape, dtype=np.int64)
        self.coders_, filled = [], 0
        for j, col in enumerate(X.columns):
            if kinds[col] == NUMERIC:
                raw = X[col].to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                raw = X[col].cat.codes.to_numpy().astype(np.float64)
                raw[raw < 0] = np.nan
            filled += int(np.isnan(raw).sum())
            x = hot_deck(raw, rng)
            coder = (numeric_coder(x, int(self.bins), int(self.category_threshold))
                     if kinds[col] == NUMERIC else level_coder(x.astype(np.int64)))
            self.coders_.append(coder)
            states[:, j] = coder.encode(x)
        return states, filled

    def _hill_climb(self, data: pd.DataFrame, state_names: dict) -> list[tuple[str, str]]:
        from pgmpy.causal_discovery import HillClimbSearch
        from pgmpy.structure_score import BIC, K2, BDeu

        if len(data) < 2:                   # nothing to learn a dependence from (pgmpy refuses)
            return []
        if self.score == "bdeu":
            score = BDeu(data, equivalent_sample_size=float(self.equivalent_sample_size),
                         state_names=state_names)
        else:
            score = {"bic": BIC, "k2": K2}[self.score](data, state_names=state_names)
        if not hasattr(HillClimbSearch, "_legal_operations_dag"):
            raise RuntimeError(f"{self.name}: this pgmpy's HillClimbSearch has no "
                               "_legal_operations_dag to order; pin pgmpy 1.1")

        class OrderedHillClimb(HillClimbSearch):
            """pgmpy's search with its candidate moves in sorted order: pgmpy draws them from a
            set of node-name pairs and keeps the first of tied moves, so without the sort the
            graph would depend on Python's string hash seed (PYTHONHASHSEED), not on the data."""

            def _legal_operations_dag(self, *args, **kwargs):
                moves = super()._legal_operations_dag(*args, **kwargs)
                return iter(sorted(moves, key=lambda move: move[0]))

        search = OrderedHillClimb(scoring_method=score, max_indegree=int(self.degree),
                                  return_type="dag", show_progress=False)
        return list(search.fit(data).causal_graph_.edges())

    def _estimate(self, nodes: list[str], edges: list[tuple[str, str]], data: pd.DataFrame,
                  state_names: dict):
        from pgmpy.models import DiscreteBayesianNetwork
        from pgmpy.parameter_estimator import DiscreteBayesianEstimator

        network = DiscreteBayesianNetwork()
        network.add_nodes_from(nodes)
        network.add_edges_from(edges)
        estimator = DiscreteBayesianEstimator(
            state_names=state_names, prior_type="BDeu",
            equivalent_sample_size=float(self.equivalent_sample_size))
        with np.errstate(invalid="ignore", divide="ignore"):   # 0/0 for unseen parents at ess=0
            cpds = estimator.fit(network, data).parameters_
        for cpd in cpds:
            if cpd.state_names[cpd.variable] != state_names[cpd.variable]:
                raise RuntimeError(f"{self.name}: pgmpy reordered the states of {cpd.variable}")
            cpd.values = normalise_columns(cpd.get_values()).reshape(cpd.cardinality)
        network.add_cpds(*cpds)
        network.check_model()
        return network

    # ------------------------------------------------------------------ sample
    def _sample_rows(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        cards = [c.n_states for c in self.coders_]
        states = ancestral_sample(self.order_, self.parents_, self.tables_, cards, n, rng)
        cols = {}
        for j, col in enumerate(self.columns_):
            values = self.coders_[j].decode(states[:, j], rng)
            if self.kinds_[col] == NUMERIC:
                cols[col] = values.astype(np.float64)
            else:
                cols[col] = pd.Categorical.from_codes(values.astype(np.int64),
                                                      dtype=self.dtypes_[col])
        return pd.DataFrame(cols, index=pd.RangeIndex(n))
