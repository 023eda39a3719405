"""Bayesian-network synthesizer (DataSynthesizer's correlated mode on pgmpy): known answers."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mutual_info_score

from imputebench.datasets.errors import ImputebenchError, MissingPackage
from imputebench.datasets.schema import make_typed
from imputebench.imputers import get_imputer
from imputebench.imputers._bn_core import ancestral_sample, greedy_bayes, mutual_information

pytestmark = pytest.mark.synth


@pytest.fixture
def pgmpy():
    return pytest.importorskip("pgmpy")


def _pair_table(n: int = 2000, agree: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """A uniform on four levels; B = A with probability ``agree``, else another level; an
    unrelated numeric column u."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = np.where(rng.random(n) < agree, a, (a + rng.integers(1, 4, n)) % 4)
    df = pd.DataFrame({"A": np.array(list("pqrs"))[a], "B": np.array(list("pqrs"))[b],
                       "u": rng.uniform(0, 1, n)})
    return make_typed(df, {"A": "categorical", "B": "categorical", "u": "numeric"})


def _independent_table(n: int = 2000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"X": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
                       "Y": rng.choice(["k", "l", "m", "n"], n, p=[0.4, 0.3, 0.2, 0.1])})
    return make_typed(df, {"X": "categorical", "Y": "categorical"})


def _connected(edges, a: str, b: str) -> bool:
    return [a, b] in edges or [b, a] in edges


# ------------------------------------------------------------------------- dependence
@pytest.mark.parametrize("structure", ["hill_climb", "greedy_bayes"])
def test_dependent_pair_gets_an_edge_and_keeps_its_agreement(pgmpy, structure):
    df = _pair_table()
    bn = get_imputer("bayesian_network", structure=structure, random_state=0).fit(df)
    assert _connected(bn.diagnostics_["edges"], "A", "B")
    rows = bn.sample_rows(8000, random_state=1)
    train = float((df["A"].astype(str) == df["B"].astype(str)).mean())
    synth = float((rows["A"].astype(str) == rows["B"].astype(str)).mean())
    assert abs(train - 0.95) < 0.015
    assert abs(synth - train) < 0.015          # binomial sd of synth ~ 0.0025
    if structure == "hill_climb":               # u is unrelated to A and B: BIC leaves it alone
        assert bn.diagnostics_["edges"] in ([["A", "B"]], [["B", "A"]])


def test_independent_columns_get_no_edge_and_sample_the_product(pgmpy):
    df = _independent_table()
    bn = get_imputer("bayesian_network", random_state=0).fit(df)
    assert bn.diagnostics_["edges"] == []
    assert bn.diagnostics_["n_parameters"] == (3 - 1) + (4 - 1)
    rows = bn.sample_rows(20000, random_state=2)
    joint = pd.crosstab(rows["X"], rows["Y"], normalize=True).to_numpy()
    product = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    assert np.abs(joint - product).max() < 0.01
    # and the marginals are the training ones (smoothed by a BDeu pseudo-count of 1 / 3)
    for col in ("X", "Y"):
        want = df[col].value_counts(normalize=True).sort_index()
        got = rows[col].value_counts(normalize=True).sort_index()
        assert np.abs(want.to_numpy() - got.to_numpy()).max() < 0.015


def test_maximum_likelihood_tables_are_the_empirical_conditionals(pgmpy):
    df = _pair_table()
    bn = get_imputer("bayesian_network", equivalent_sample_size=0, random_state=0).fit(df)
    (parent, child), = bn.diagnostics_["edges"]
    j = bn.columns_.index(child)
    assert bn.parents_[j] == [bn.columns_.index(parent)]
    want = pd.crosstab(df[child], df[parent], normalize="columns").to_numpy()
    np.testing.assert_allclose(bn.tables_[j], want, rtol=0, atol=1e-12)
    root = bn.columns_.index(parent)
    np.testing.assert_allclose(bn.tables_[root][:, 0],
                               df[parent].value_counts(normalize=True).sort_index().to_numpy(),
                               rtol=0, atol=1e-12)


def test_unseen_parent_configuration_is_uniform_under_maximum_likelihood(pgmpy):
    # Three binary columns on three patterns only: every pair of columns misses one
    # combination, so GreedyBayes' last column (two parents, degree 2) has one parent
    # configuration never seen; DataSynthesizer's estimate makes it uniform, the others are
    # the (deterministic) empirical conditionals.
    rows = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1]])[np.arange(300) % 3]
    df = make_typed(pd.DataFrame(rows.astype(str), columns=list("XZY")),
                    dict.fromkeys("XZY", "categorical"))
    bn = get_imputer("bayesian_network", structure="greedy_bayes", equivalent_sample_size=0,
                     random_state=0).fit(df)
    last = next(j for j, pa in bn.parents_.items() if len(pa) == 2)
    table = bn.tables_[last]
    uniform = np.isclose(table, 0.5).all(axis=0)
    assert uniform.sum() == 1
    assert np.isin(table[:, ~uniform], [0.0, 1.0]).all()
    out = bn.sample_rows(3000, random_state=0).astype(int).to_numpy()
    # the unseen configuration is never generated (its parents' own tables exclude it), so
    # every synthetic row is one of the three training patterns
    assert {tuple(r) for r in out} == {tuple(r) for r in rows}


# ------------------------------------------------------------------------- numeric columns
def test_numeric_values_stay_in_range_and_follow_the_histogram(pgmpy):
    rng = np.random.default_rng(3)
    n = 2000
    x = np.where(rng.random(n) < 0.4, rng.normal(-3, 0.4, n), rng.normal(3, 0.4, n))
    df = make_typed(pd.DataFrame({"x": x, "g": np.where(x > 0, "pos", "neg")}),
                    {"x": "numeric", "g": "categorical"})
    bn = get_imputer("bayesian_network", random_state=0).fit(df)
    rows = bn.sample_rows(20000, random_state=4)
    s = rows["x"].to_numpy()
    assert rows["x"].dtype == np.float64
    assert s.min() >= x.min() and s.max() <= x.max()
    edges = np.histogram_bin_edges(x, bins=20)
    want = np.histogram(x, bins=edges)[0] / n
    got = np.histogram(s, bins=edges)[0] / len(s)
    assert np.abs(want - got).max() < 0.012      # each bin's mass kept (BDeu adds 1 / 20 / n)
    assert abs((s < 0).mean() - (x < 0).mean()) < 0.02                  # both modes kept
    assert ((s > -1.5) & (s < 1.5)).mean() < 0.005                      # and the gap between
    assert _connected(bn.diagnostics_["edges"], "x", "g")
    assert ((rows["g"] == "pos") == (s > 0)).mean() > 0.97              # sign follows g


def test_constant_and_few_valued_numeric_columns_are_generated_exactly(pgmpy):
    rng = np.random.default_rng(6)
    n = 500
    df = make_typed(pd.DataFrame({"c": np.full(n, 2.5), "k": rng.integers(0, 3, n) * 1.5,
                                  "z": rng.normal(size=n)}),
                    {"c": "numeric", "k": "numeric", "z": "numeric"})
    rows = get_imputer("bayesian_network", random_state=0).fit(df).sample_rows(
        3000, random_state=1)
    assert (rows["c"] == 2.5).all()
    assert set(np.unique(rows["k"])) == {0.0, 1.5, 3.0}
    assert len(np.unique(rows["z"])) == 3000        # binned: uniform within the bins
    binned = get_imputer("bayesian_network", category_threshold=0, random_state=0).fit(df)
    assert binned.diagnostics_["states"] == {"c": 1, "k": 20, "z": 20}
    rows = binned.sample_rows(3000, random_state=1)
    assert (rows["c"] == 2.5).all()
    assert rows["k"].between(0.0, 3.0).all() and len(np.unique(rows["k"])) == 3000


# ------------------------------------------------------------------------- kinds, missing cells
def test_categories_dtypes_and_missing_training_cells(pgmpy):
    rng = np.random.default_rng(7)
    n = 600
    df = make_typed(pd.DataFrame({"v": rng.normal(size=n),
                                  "lvl": rng.choice(["1", "2", "3"], n),
                                  "col": rng.choice(["red", "blue"], n)}),
                    {"v": "numeric", "lvl": "ordinal", "col": "categorical"})
    # a category that never occurs in training stays a category and is never generated
    df["col"] = df["col"].cat.add_categories(["green"])
    hidden = df.mask(rng.random(df.shape) < 0.2)
    n_missing = int(hidden.isna().to_numpy().sum())
    bn = get_imputer("bayesian_network", random_state=0).fit(hidden)
    assert bn.diagnostics_["hot_deck_cells"] == n_missing
    rows = bn.sample_rows(2000, random_state=0)
    assert not rows.isna().to_numpy().any()
    for col in df.columns:
        assert rows[col].dtype == df[col].dtype
    assert rows["lvl"].cat.ordered
    assert list(rows["col"].cat.categories) == ["blue", "red", "green"]
    assert "green" not in set(rows["col"].astype(str))
    assert rows["v"].between(hidden["v"].min(), hidden["v"].max()).all()


# ------------------------------------------------------------------------- seeding
@pytest.mark.parametrize("structure", ["hill_climb", "greedy_bayes"])
def test_seeded_reproducible_and_seeds_differ(pgmpy, structure):
    df = _pair_table(n=800)
    df = df.mask(np.random.default_rng(0).random(df.shape) < 0.1)
    a = get_imputer("bayesian_network", structure=structure, random_state=3).fit(df)
    b = get_imputer("bayesian_network", structure=structure, random_state=3).fit(df)
    assert a.diagnostics_ == b.diagnostics_
    pd.testing.assert_frame_equal(a.sample_rows(300, random_state=5),
                                  b.sample_rows(300, random_state=5), check_exact=True)
    assert not a.sample_rows(300, random_state=5).equals(a.sample_rows(300, random_state=6))


def test_global_random_state_is_untouched(pgmpy):
    df = _pair_table(n=500)
    np_state = np.random.get_state()  # noqa: NPY002 - the global state is what is checked
    py_state = random.getstate()
    torch = sys.modules.get("torch")
    torch_state = torch.get_rng_state() if torch is not None else None
    for structure in ("hill_climb", "greedy_bayes"):
        bn = get_imputer("bayesian_network", structure=structure, random_state=0).fit(df)
        bn.sample_rows(200, random_state=1)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert random.getstate() == py_state
    if torch_state is not None:
        assert torch.equal(torch.get_rng_state(), torch_state)


# ------------------------------------------------------------------------- GreedyBayes
def test_greedy_bayes_gives_every_column_its_parents_and_follows_a_chain(pgmpy):
    # A -> B -> C, each copying its parent 90 % of the time; D unrelated.
    rng = np.random.default_rng(8)
    n = 2000

    def noisy(p):
        return np.where(rng.random(n) < 0.9, p, rng.integers(0, 4, n))

    a = rng.integers(0, 4, n)
    b = noisy(a)
    c = noisy(b)
    d = rng.integers(0, 4, n)
    df = make_typed(pd.DataFrame({k: v.astype(str) for k, v in zip("ABCD", (a, b, c, d),
                                                                   strict=True)}),
                    dict.fromkeys("ABCD", "categorical"))
    codes = np.column_stack([a, b, c, d])
    tree = greedy_bayes(codes, 1, root=0)
    assert tree[:3] == [(0, ()), (1, (0,)), (2, (1,))]      # the Chow-Liu tree of the chain
    assert len(tree[3][1]) == 1                               # D too gets a parent
    bn = get_imputer("bayesian_network", structure="greedy_bayes", degree=2,
                     random_state=0).fit(df)
    n_parents = sorted(len(p) for p in bn.parents_.values())
    assert n_parents == [0, 1, 2, 2]                          # min(k, visited) parents each
    assert bn.diagnostics_["root"] in list("ABCD")
    assert _connected(bn.diagnostics_["edges"], "A", "B")
    assert _connected(bn.diagnostics_["edges"], "B", "C")
    hill = get_imputer("bayesian_network", random_state=0).fit(df)
    assert not any("D" in e for e in hill.diagnostics_["edges"])


def test_mutual_information_matches_sklearn():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 5, 1000)
    y = (x + rng.integers(0, 3, 1000)) % 4
    assert mutual_information(x, y) == pytest.approx(mutual_info_score(x, y), rel=1e-12)


def test_ancestral_sampling_draws_the_table_and_never_a_zero_state():
    rng = np.random.default_rng(10)
    root = np.array([[0.0], [0.7], [0.3]])
    child = np.array([[0.0, 0.5, 0.2],          # column = the root's state
                      [1.0, 0.0, 0.0],
                      [0.0, 0.5, 0.8]])
    out = ancestral_sample([0, 1], {0: [], 1: [0]}, {0: root, 1: child}, [3, 3], 40000, rng)
    assert not (out[:, 0] == 0).any()
    np.testing.assert_allclose(np.bincount(out[:, 0], minlength=3) / 40000, root[:, 0],
                               atol=0.01)
    for s in (1, 2):
        got = np.bincount(out[out[:, 0] == s, 1], minlength=3) / (out[:, 0] == s).sum()
        np.testing.assert_allclose(got, child[:, s], atol=0.015)
    assert not ((out[:, 0] == 1) & (out[:, 1] == 1)).any()


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("params, name", [
    ({"degree": 0}, "degree"),
    ({"degree": 1.5}, "degree"),
    ({"bins": 1}, "bins"),
    ({"category_threshold": -1}, "category_threshold"),
    ({"structure": "tabu"}, "structure"),
    ({"score": "aic"}, "score"),
    ({"equivalent_sample_size": -1.0}, "equivalent_sample_size"),
    ({"score": "bdeu", "equivalent_sample_size": 0}, "equivalent_sample_size"),
])
def test_bad_parameters_raise_at_fit_naming_the_parameter(params, name):
    bn = get_imputer("bayesian_network", **params)     # the constructor only stores them
    with pytest.raises(ImputebenchError, match=name):
        bn.fit(_independent_table(n=50))


def test_missing_pgmpy_is_a_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "pgmpy", None)    # import pgmpy now raises ImportError
    with pytest.raises(MissingPackage, match=r"pgmpy.*imputebench\[synth\]"):
        get_imputer("bayesian_network").fit(_independent_table(n=50))


def test_diagnostics_name_the_columns_and_pgmpy(pgmpy):
    bn = get_imputer("bayesian_network", random_state=0).fit(_pair_table())
    d = bn.diagnostics_
    assert d["pgmpy_version"] == pgmpy.__version__
    assert d["states"] == {"A": 4, "B": 4, "u": 20}
    assert d["n_parameters"] == 3 + 4 * 3 + 19              # P(root), P(child | root), P(u)
    assert type(bn.network_).__name__ == "DiscreteBayesianNetwork"


_EDGES_SCRIPT = """
from imputebench.datasets import load_dataset
from imputebench.imputers import get_imputer
df = load_dataset("letter", max_rows=4000).iloc[:2000]
print(get_imputer("bayesian_network", random_state=0).fit(df).diagnostics_["edges"])
"""


@pytest.mark.slow
def test_learned_graph_does_not_depend_on_the_string_hash_seed(pgmpy, data_dir):
    # pgmpy's hill climbing keeps the first of tied moves drawn from a set of node names; on
    # these rows of letter an edge's direction is such a tie, and without our sorted moves it
    # followed PYTHONHASHSEED (x2ybr -> y_bar under 0, y_bar -> x2ybr under 1).
    outputs = []
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONSAFEPATH": "1"}
        done = subprocess.run([sys.executable, "-c", _EDGES_SCRIPT], env=env, check=True,
                              capture_output=True, text=True, timeout=300)
        outputs.append(done.stdout.strip().splitlines()[-1])
    assert outputs[0] == outputs[1]
    assert "'x2ybr', 'y_bar'" in outputs[0]
