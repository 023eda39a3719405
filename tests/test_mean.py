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


def test_sample_returns_n_identical_draws(table):
    imp = get_imputer("mean").fit(table)
    point = imp.transform(table)
    draws = imp.sample(table, n_draws=4, random_state=0)
    assert len(draws) == 4
    for d in draws:
        pd.testing.assert_frame_equal(d, point)
    assert draws[0] is not draws[1]


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
