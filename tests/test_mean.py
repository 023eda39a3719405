"""The ``mean`` imputer: column mean and mode, known answers on a hand-built table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imputebench.datasets import MaskSpec, load_dataset, make_mask
from imputebench.imputers import get_imputer

NAN = np.nan


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        # observed 1, 2, 6, 3, 9: mean 21 / 5 = 4.2
        "x": [1.0, 2.0, NAN, 6.0, 3.0, NAN, 9.0],
        # a twice, b twice, c once: the a/b tie goes to "b", first in category order
        "c": pd.Categorical(["a", "b", None, "a", "b", "c", None], categories=["b", "a", "c"]),
        # low twice, mid once, high three times: the mode is "high" (the median level of the
        # six observed, low low mid | high high high, would be "mid")
        "o": pd.Categorical(["low", "low", None, "mid", "high", "high", "high"],
                            categories=["low", "mid", "high"], ordered=True),
    })


def test_known_answers(table):
    out = get_imputer("mean").fit(table).transform(table)
    assert out.loc[2, "x"] == pytest.approx(21 / 5)
    assert out.loc[5, "x"] == pytest.approx(21 / 5)
    assert out.loc[2, "c"] == "b" and out.loc[6, "c"] == "b"
    assert out.loc[2, "o"] == "high"


def test_fill_values_learned_in_fit(table):
    imp = get_imputer("mean").fit(table)
    assert imp.fill_values_ == {"x": pytest.approx(4.2), "c": "b", "o": "high"}


def test_ordinal_tie_goes_to_the_first_level():
    df = pd.DataFrame({"o": pd.Categorical(["high", "low", "high", "low", None],
                                           categories=["low", "mid", "high"], ordered=True)})
    out = get_imputer("mean").fit(df).transform(df)
    assert out.loc[4, "o"] == "low"


def test_observed_cells_dtypes_and_categories_untouched(table):
    before = table.copy()
    out = get_imputer("mean").fit(table).transform(table)
    pd.testing.assert_frame_equal(table, before)                     # input not mutated
    observed = table.notna()
    for col in table.columns:
        assert out[col].dtype == table[col].dtype
        pd.testing.assert_series_equal(out[col][observed[col]], table[col][observed[col]])
    assert not out.isna().any().any()


def test_fit_on_one_table_fills_another():
    train = pd.DataFrame({"x": [0.0, 10.0, NAN]})
    new = pd.DataFrame({"x": [NAN, 7.0, NAN]})
    out = get_imputer("mean").fit(train).transform(new)
    assert out["x"].tolist() == [5.0, 7.0, 5.0]


def test_sample_draws_from_the_observed_values_and_keeps_observed_cells(table):
    imp = get_imputer("mean").fit(table)
    draws = imp.sample(table, n_draws=50, random_state=0)
    assert len(draws) == 50 and draws[0] is not draws[1]
    observed = table.notna()
    seen = {"x": set(), "c": set(), "o": set()}
    for d in draws:
        for col in table.columns:
            pd.testing.assert_series_equal(d[col][observed[col]], table[col][observed[col]])
            assert d[col].dtype == table[col].dtype
            seen[col] |= set(d[col][~observed[col]].tolist())
    assert seen["x"] == {1.0, 2.0, 6.0, 3.0, 9.0}      # only observed values, all of them
    assert seen["c"] == {"a", "b", "c"}
    assert seen["o"] == {"low", "mid", "high"}
    again = imp.sample(table, n_draws=50, random_state=0)
    for a, b in zip(draws, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = imp.sample(table, n_draws=50, random_state=1)
    assert any(not a.equals(b) for a, b in zip(draws, other, strict=True))


def test_sample_follows_the_observed_marginal():
    # x observed: 0 once, 1 three times (p = 1/4, 3/4); c observed: a 1, b 2, c 7 (of 10).
    n_obs, n_miss, n_draws = 10, 200, 100
    x = np.r_[0.0, 1.0, 1.0, 1.0, 1.0 * np.full(n_obs - 4, NAN), np.full(n_miss, NAN)]
    c = ["a", "b", "b"] + ["c"] * 7 + [None] * (x.size - 10)
    df = pd.DataFrame({"x": x, "c": pd.Categorical(c, categories=["a", "b", "c"])})
    imp = get_imputer("mean").fit(df)
    draws = imp.sample(df, n_draws=n_draws, random_state=3)
    mx, mc = df["x"].isna().to_numpy(), df["c"].isna().to_numpy()
    xs = np.concatenate([d["x"].to_numpy()[mx] for d in draws])
    cs = np.concatenate([np.asarray(d["c"])[mc] for d in draws])
    # Binomial standard errors at these sizes are below 0.003: 5 of them as tolerance.
    assert set(np.unique(xs)) == {0.0, 1.0}
    assert np.mean(xs == 0.0) == pytest.approx(0.25, abs=5 * np.sqrt(0.25 * 0.75 / xs.size))
    for level, p in (("a", 0.1), ("b", 0.2), ("c", 0.7)):
        assert np.mean(cs == level) == pytest.approx(p, abs=5 * np.sqrt(p * (1 - p) / cs.size))
    # One cell takes both values across draws.
    a = np.array([d["x"].to_numpy()[mx][0] for d in draws])
    assert len(set(a)) == 2
    # The mean of the draws approaches the transform value.
    assert xs.mean() == pytest.approx(imp.transform(df).loc[mx, "x"].iloc[0], abs=0.02)


def test_mean_on_a_bundled_table_equals_pandas():
    df = load_dataset("penguins")
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.3), 0))
    out = get_imputer("mean").fit(hidden).transform(hidden)
    for col in df.columns:
        miss = hidden[col].isna()
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            counts = hidden[col].value_counts(sort=False)
            mode = counts.index[int(np.argmax(counts.to_numpy()))]
            assert (out.loc[miss, col] == mode).all()
        else:
            np.testing.assert_allclose(out.loc[miss, col], hidden[col].mean(), rtol=1e-12)
