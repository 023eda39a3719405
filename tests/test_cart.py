"""CART imputation (mice's ``cart``): known answers, leaf donors, draws, categoricals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeRegressor

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import make_typed
from imputebench.imputers import get_imputer

STEP = np.array([0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 7.0, 7.0, 7.0])


def _step_table(n: int = 400, rate: float = 0.25, seed: int = 0):
    """y = STEP[x] with x on a grid of ten values: a tree represents it exactly."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, n).astype(float)
    full = pd.DataFrame({"x": x, "y": STEP[x.astype(int)]})
    hidden = full.copy()
    hidden.loc[rng.random(n) < rate, "y"] = np.nan
    return full, hidden


def test_step_function_is_recovered_exactly():
    full, hidden = _step_table()
    miss = hidden["y"].isna().to_numpy()
    imp = get_imputer("cart", random_state=0).fit(hidden)
    np.testing.assert_allclose(imp.transform(hidden)["y"].to_numpy()[miss],
                               full["y"].to_numpy()[miss], rtol=0, atol=1e-12)
    for draw in imp.sample(hidden, 3, random_state=1):
        assert np.array_equal(draw["y"].to_numpy()[miss], full["y"].to_numpy()[miss])


def test_step_function_out_of_sample():
    full, hidden = _step_table(n=500)
    imp = get_imputer("cart", random_state=0, n_point_draws=3).fit(hidden.iloc[:400])
    new = hidden.iloc[400:]
    miss = new["y"].isna().to_numpy()
    assert miss.any()
    out = imp.transform(new)
    assert out.index.equals(new.index)
    np.testing.assert_allclose(out["y"].to_numpy()[miss], full["y"].iloc[400:].to_numpy()[miss],
                               rtol=0, atol=1e-12)


def test_donors_come_from_the_same_leaf():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.uniform(-2, 2, n)
    y = np.sin(2 * x) + 0.3 * rng.standard_normal(n)
    hidden = pd.DataFrame({"x": x, "y": y})
    hidden.loc[rng.random(n) < 0.3, "y"] = np.nan
    obs = hidden["y"].notna().to_numpy()
    # x is complete, so every sweep fits the same tree on (x, y) over the observed rows: rebuild
    # it with the documented mapping of mice's minbucket=5, cp=1e-4.
    y_obs = y[obs]
    tree = DecisionTreeRegressor(min_samples_leaf=5, min_samples_split=15,
                                 ccp_alpha=1e-4 * np.var(y_obs), random_state=0)
    tree.fit(x[obs, None], y_obs)
    leaf_obs, leaf_mis = tree.apply(x[obs, None]), tree.apply(x[~obs, None])
    assert len(np.unique(leaf_obs)) > 5  # a real tree, not a stump
    imp = get_imputer("cart", n_iter=1, random_state=0).fit(hidden)
    drawn = np.concatenate([d["y"].to_numpy()[~obs] for d in imp.sample(hidden, 5, 2)])
    leaves = np.tile(leaf_mis, 5)
    for value, leaf in zip(drawn, leaves, strict=True):
        assert value in set(y_obs[leaf_obs == leaf])
    # Donors vary within a leaf: not always the same case.
    assert len(np.unique(drawn)) > len(np.unique(leaf_mis))


def test_imputed_values_are_observed_values():
    rng = np.random.default_rng(5)
    n = 200
    u = rng.standard_normal(n)
    full = pd.DataFrame({"a": u, "b": u ** 2 + 0.1 * rng.standard_normal(n),
                         "c": np.exp(u) + 0.1 * rng.standard_normal(n)})
    hidden = full.mask(rng.random(full.shape) < 0.2)
    imp = get_imputer("cart", n_iter=3, random_state=0).fit(hidden)
    for draw in imp.sample(hidden, 2, random_state=0):
        for col in full.columns:
            miss = hidden[col].isna().to_numpy()
            assert np.isin(draw[col].to_numpy()[miss], hidden[col].dropna().to_numpy()).all()


def test_draws_differ_and_are_reproducible():
    _, hidden = _step_table()
    hidden["z"] = hidden["x"] + np.random.default_rng(9).standard_normal(len(hidden))
    hidden.loc[hidden.index[::5], "z"] = np.nan
    imp = get_imputer("cart", n_iter=2, random_state=0).fit(hidden)
    a = imp.sample(hidden, 3, random_state=11)
    b = imp.sample(hidden, 3, random_state=11)
    c = imp.sample(hidden, 3, random_state=12)
    for u, v in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(u, v)
    assert not a[0]["z"].equals(a[1]["z"])
    assert not a[0]["z"].equals(c[0]["z"])
    t1 = get_imputer("cart", n_iter=2, random_state=0).fit(hidden).transform(hidden)
    t2 = get_imputer("cart", n_iter=2, random_state=0).fit(hidden).transform(hidden)
    pd.testing.assert_frame_equal(t1, t2)


def _categorical_target(seed: int = 0):
    """x in {0, 1, 2, 3}; level sets per x: {a, b}, {c}, {d, e}, {a}."""
    rng = np.random.default_rng(seed)
    n = 600
    x = np.repeat(np.arange(4), n // 4).astype(float)
    coin = rng.random(n) < 0.5
    g = np.select([x == 0, x == 1, x == 2], [np.where(coin, "a", "b"), "c",
                                             np.where(coin, "d", "e")], "a")
    full = make_typed(pd.DataFrame({"x": x, "g": g}), {"x": "numeric", "g": "categorical"})
    hidden = full.copy()
    hidden.loc[rng.random(n) < 0.25, "g"] = np.nan
    return full, hidden


def test_categorical_target_draws_levels_of_its_leaf():
    full, hidden = _categorical_target()
    miss = hidden["g"].isna().to_numpy()
    x = hidden["x"].to_numpy()
    allowed = {0: {"a", "b"}, 1: {"c"}, 2: {"d", "e"}, 3: {"a"}}
    imp = get_imputer("cart", random_state=0).fit(hidden)
    seen = {k: set() for k in allowed}
    for draw in imp.sample(hidden, 4, random_state=3):
        assert draw["g"].dtype == full["g"].dtype
        for xi, level in zip(x[miss], draw["g"].to_numpy()[miss], strict=True):
            assert level in allowed[int(xi)]
            seen[int(xi)].add(level)
    assert seen[0] == {"a", "b"} and seen[2] == {"d", "e"}  # the draw is random within a leaf
    point = imp.transform(hidden)["g"].to_numpy()
    assert (point[miss & (x == 1)] == "c").all() and (point[miss & (x == 3)] == "a").all()


def test_categorical_and_ordinal_predictors():
    rng = np.random.default_rng(4)
    n = 400
    g = rng.choice(["p", "q", "r"], n)
    o = rng.choice(["1", "2", "3"], n)
    y = np.select([g == "p", g == "q"], [0.0, 5.0], 10.0) + np.where(o == "3", 1.0, 0.0)
    full = make_typed(pd.DataFrame({"g": g, "o": o, "y": y}),
                      {"g": "categorical", "o": "ordinal", "y": "numeric"})
    hidden = full.copy()
    hidden.loc[rng.random(n) < 0.25, "y"] = np.nan
    miss = hidden["y"].isna().to_numpy()
    out = get_imputer("cart", random_state=0, n_point_draws=3).fit(hidden).transform(hidden)
    np.testing.assert_allclose(out["y"].to_numpy()[miss], y[miss], rtol=0, atol=1e-12)
    assert out["o"].dtype == full["o"].dtype


@pytest.mark.parametrize("params", [
    {"n_iter": 0}, {"n_iter": 2.5}, {"min_samples_leaf": 0}, {"min_samples_leaf": True},
    {"ccp_alpha": -1.0}, {"ccp_alpha": np.nan}, {"n_point_draws": 0},
])
def test_bad_parameters(params):
    _, hidden = _step_table(n=50)
    with pytest.raises(ImputebenchError):
        get_imputer("cart", **params).fit(hidden)
