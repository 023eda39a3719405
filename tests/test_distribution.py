"""Distribution metrics: wasserstein, total_variation, corr_diff (hand-computed answers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance
from scipy.stats.contingency import association

from imputebench.datasets import make_typed
from imputebench.metrics import ALL, available_metrics, get_metric
from imputebench.metrics.distribution import association_matrix

NAN = np.nan


def cat(values, levels, ordered=False):
    return pd.Categorical(values, categories=levels, ordered=ordered)


def test_registered():
    assert {"wasserstein", "total_variation", "corr_diff"} <= set(available_metrics())
    assert get_metric("corr_diff").level == "table"
    assert get_metric("wasserstein").uses == get_metric("total_variation").uses == "draws"


# ------------------------------------------------------------------------------ wasserstein
@pytest.fixture
def numeric():
    """x: observed 0 and 10 (range 10), hidden 2, 4, 6, 20 (20 is outside the observed range:
    the scale still comes from the observed cells); y: observed 0 and 4, hidden 1, 3, and a
    source NaN that is hidden but never scored."""
    truth = make_typed(pd.DataFrame({
        "x": [0.0, 10.0, 2.0, 4.0, 6.0, 20.0],
        "y": [0.0, 4.0, 1.0, 3.0, NAN, 2.0],
    }))
    mask = np.zeros(truth.shape, dtype=bool)
    mask[2:, 0] = True
    mask[2:5, 1] = True
    return truth, mask


def test_wasserstein_of_a_shift_is_the_shift_over_the_observed_range(numeric):
    truth, mask = numeric
    imp = truth.copy()
    imp.loc[mask[:, 0], "x"] += 3.0          # W1 = 3 / 10
    imp.loc[[2, 3], "y"] = [2.0, 2.0]         # sorted (2, 2) vs (1, 3): W1 = 1, / 4
    imp.loc[4, "y"] = 100.0                   # source NaN: never scored
    got = get_metric("wasserstein").compute(truth, imp, mask)
    assert got["x"] == pytest.approx(0.3)
    assert got["y"] == pytest.approx(0.25)
    assert got[ALL] == pytest.approx((0.3 + 0.25) / 2)     # mean over columns, not pooled


def test_wasserstein_is_zero_for_the_truth_and_for_a_permutation(numeric):
    truth, mask = numeric
    assert get_metric("wasserstein").compute(truth, truth, mask) == {"x": 0.0, "y": 0.0, ALL: 0.0}
    perm = truth.copy()
    perm.loc[[2, 3, 4, 5], "x"] = [20.0, 6.0, 2.0, 4.0]
    assert get_metric("wasserstein").compute(truth, perm, mask)["x"] == pytest.approx(0.0)


def test_wasserstein_averages_the_draws(numeric):
    truth, mask = numeric
    d1, d2 = truth.copy(), truth.copy()
    d1.loc[mask[:, 0], "x"] += 3.0
    d2.loc[mask[:, 0], "x"] = [5.0, 5.0, 5.0, 5.0]
    m = get_metric("wasserstein")
    w1, w2 = (m.compute(truth, [d], mask)["x"] for d in (d1, d2))
    assert w1 == pytest.approx(0.3)
    # (2, 4, 6, 20) vs (5, 5, 5, 5): |3| + 1 + 1 + 15 = 20, / 4 cells, / range 10.
    assert w2 == pytest.approx(0.5)
    assert m.compute(truth, [d1, d2], mask)["x"] == pytest.approx((w1 + w2) / 2)
    # One table is one draw.
    assert m.compute(truth, d1, mask)["x"] == pytest.approx(w1)


def test_wasserstein_matches_scipy_on_random_draws():
    rng = np.random.default_rng(0)
    truth = make_typed(pd.DataFrame({"x": rng.normal(size=300)}))
    hidden = np.zeros(300, dtype=bool)
    hidden[rng.choice(300, 90, replace=False)] = True
    draws = []
    for scale in (0.5, 1.0, 3.0):
        d = truth.copy()
        d.loc[hidden, "x"] = rng.exponential(scale, size=90)
        draws.append(d)
    x = truth["x"].to_numpy()
    expected = np.mean([wasserstein_distance(d["x"].to_numpy()[hidden], x[hidden])
                        for d in draws]) / np.ptp(x[~hidden])
    got = get_metric("wasserstein").compute(truth, draws, hidden[:, None])
    assert got[ALL] == pytest.approx(expected, rel=1e-12)


def test_wasserstein_ignores_observed_cells_and_categorical_tables(numeric):
    truth, mask = numeric
    imp = truth.copy()
    imp.loc[mask[:, 0], "x"] += 1.0
    before = get_metric("wasserstein").compute(truth, imp, mask)
    imp.loc[~mask[:, 0], "x"] = [-50.0, 99.0]
    assert get_metric("wasserstein").compute(truth, imp, mask) == before
    only_cat = make_typed(pd.DataFrame({"c": cat(["a", "b", "a"], ["a", "b"])}))
    assert get_metric("wasserstein").compute(only_cat, only_cat, np.ones((3, 1), bool)) == {}


# -------------------------------------------------------------------------- total_variation
@pytest.fixture
def categorical():
    """c: hidden rows 0-3 hold a, a, b, c (shares 1/2, 1/4, 1/4), row 4 hidden but missing in
    the source, row 5 observed; d (ordinal) never hidden; x numeric."""
    truth = pd.DataFrame({
        "c": cat(["a", "a", "b", "c", None, "b"], ["a", "b", "c"]),
        "d": cat(["lo", "hi", "lo", "hi", "lo", "hi"], ["lo", "hi"], ordered=True),
        "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    mask = np.zeros(truth.shape, dtype=bool)
    mask[:5, 0] = True
    return truth, mask


def with_c(truth, values):
    out = truth.copy()
    out["c"] = cat(values, ["a", "b", "c"])
    return out


def test_total_variation_by_hand(categorical):
    truth, mask = categorical
    # imputed a, b, b, b -> shares (1/4, 3/4, 0) vs (1/2, 1/4, 1/4): TV = (1/4 + 1/2 + 1/4) / 2.
    imp = with_c(truth, ["a", "b", "b", "b", "c", "b"])
    got = get_metric("total_variation").compute(truth, imp, mask)
    assert got == {"c": pytest.approx(0.5), ALL: pytest.approx(0.5)}


def test_total_variation_of_one_category_is_one_minus_its_true_share(categorical):
    truth, mask = categorical
    m = get_metric("total_variation")
    assert m.compute(truth, with_c(truth, ["b"] * 6), mask)["c"] == pytest.approx(1 - 1 / 4)
    assert m.compute(truth, with_c(truth, ["a"] * 6), mask)["c"] == pytest.approx(1 - 1 / 2)


def test_total_variation_is_zero_for_the_truth_and_a_permutation(categorical):
    truth, mask = categorical
    m = get_metric("total_variation")
    assert m.compute(truth, truth.fillna({"c": "a"}), mask)[ALL] == 0.0
    assert m.compute(truth, with_c(truth, ["c", "b", "a", "a", "b", "b"]), mask)[ALL] == 0.0


def test_total_variation_counts_unknown_levels_and_averages_draws(categorical):
    truth, mask = categorical
    m = get_metric("total_variation")
    # Imputed as plain objects, one value outside the truth's levels: shares a, b, c, "z" 1/4
    # each against a 1/2, b 1/4, c 1/4 -> TV = (1/4 + 1/4) / 2 ("z" is not taken for a level).
    odd = truth.copy()
    odd["c"] = pd.Series(["b", "a", "c", "z", "a", "b"], dtype=object)
    assert m.compute(truth, odd, mask)["c"] == pytest.approx(0.25)
    draws = [with_c(truth, ["a", "b", "b", "b", "a", "b"]), with_c(truth, ["b"] * 6)]
    assert m.compute(truth, draws, mask)["c"] == pytest.approx((0.5 + 0.75) / 2)


def test_total_variation_ordinal_columns_and_random_cross_check():
    rng = np.random.default_rng(1)
    levels = ["p", "q", "r", "s"]
    truth = make_typed(pd.DataFrame({"o": rng.choice(levels, 500)}), {"o": "ordinal"})
    mask = np.zeros(truth.shape, dtype=bool)
    mask[rng.choice(500, 150, replace=False), 0] = True
    imp = truth.copy()
    imp.loc[mask[:, 0], "o"] = rng.choice(levels, 150, p=[0.7, 0.1, 0.1, 0.1])
    t = truth["o"][mask[:, 0]].value_counts(normalize=True)
    i = imp["o"][mask[:, 0]].value_counts(normalize=True)
    expected = 0.5 * (t - i).abs().sum()
    assert expected > 0.1
    assert get_metric("total_variation").compute(truth, imp, mask)[ALL] == pytest.approx(expected)


def test_total_variation_returns_nothing_without_hidden_categorical_cells(categorical, numeric):
    truth, mask = categorical
    only_d = mask.copy()
    only_d[:, 0] = False
    only_d[:, 2] = True                      # numeric cells hidden, categorical ones not
    assert get_metric("total_variation").compute(truth, truth, only_d) == {}
    assert get_metric("total_variation").compute(numeric[0], numeric[0], numeric[1]) == {}


# -------------------------------------------------------------------------------- corr_diff
def test_association_matrix_by_hand():
    df = make_typed(pd.DataFrame({
        "x": [1.0, 3.0, 5.0, 2.0, 8.0, 0.0],
        "y": [2.0, 1.0, 4.0, 4.0, 9.0, 1.0],
        "g": ["a", "a", "b", "a", "b", "b"],
        "h": ["a", "a", "b", "a", "b", "b"],          # identical to g
        "k": ["u", "v", "u", "u", "v", "v"],
        "const": [7.0] * 6,
    }))
    a, names = association_matrix(df)
    assert names == ["x", "y", "g", "h", "k", "const"]
    assert np.allclose(a, a.T) and np.all(np.diag(a) == 1.0)
    assert a[0, 1] == pytest.approx(np.corrcoef(df["x"], df["y"])[0, 1])
    assert a[2, 3] == pytest.approx(1.0)                   # identical categorical columns
    # g vs k: 2x2 table [[2, 1], [1, 2]] -> phi = (4 - 1) / sqrt(3^4) = 1/3 (no bias correction)
    assert a[2, 4] == pytest.approx(1 / 3)
    # x by g: groups a (1, 3, 2) and b (5, 8, 0); overall mean 19/6.
    x, g = df["x"].to_numpy(), df["g"].to_numpy()
    ssb = sum((g == v).sum() * (x[g == v].mean() - x.mean()) ** 2 for v in "ab")
    assert a[0, 2] == pytest.approx(math.sqrt(ssb / ((x - x.mean()) ** 2).sum()))
    assert np.all(a[5, :5] == 0.0) and np.all(a[:5, 5] == 0.0)   # constant column: 0, not NaN


def test_correlation_ratio_is_one_for_a_function_of_the_level():
    g = np.array(["a", "b", "c", "a", "b", "c", "a"])
    df = make_typed(pd.DataFrame({"g": g, "y": pd.Series(g).map({"a": 1.0, "b": 5.0, "c": -2.0})}))
    assert association_matrix(df)[0][0, 1] == pytest.approx(1.0)


def test_cramers_v_matches_scipy_and_pearson_handles_missing_pairwise():
    rng = np.random.default_rng(2)
    u = rng.choice(["a", "b", "c", "d"], 400)
    v = np.where(rng.random(400) < 0.5, u, rng.choice(["x", "y", "z"], 400))
    x = rng.normal(size=400)
    y = x + rng.normal(size=400)
    y[:40] = NAN
    df = make_typed(pd.DataFrame({"u": u, "v": v, "x": x, "y": y}))
    a = association_matrix(df)[0]
    table = pd.crosstab(u, v).to_numpy()
    assert a[0, 1] == pytest.approx(association(table, method="cramer", correction=False))
    assert a[2, 3] == pytest.approx(np.corrcoef(x[40:], y[40:])[0, 1])


@pytest.fixture
def mixed():
    """400 rows: y = 2x + noise, c depends on x, z independent; y hidden in 30 % of rows."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    y = 2 * x + rng.normal(scale=0.3, size=400)
    c = np.where(x > 0.5, "hi", np.where(x < -0.5, "lo", "mid"))
    truth = make_typed(pd.DataFrame({"x": x, "y": y, "c": c, "z": rng.normal(size=400)}))
    mask = np.zeros(truth.shape, dtype=bool)
    mask[rng.choice(400, 120, replace=False), 1] = True
    return truth, mask, rng


def test_corr_diff_is_zero_for_the_truth(mixed):
    truth, mask, _ = mixed
    # Not exactly 0: tables.align rounds the compared side to the reference's precision (here
    # 10 decimals, within 1e-9 of full precision), which moves the correlations by ~1e-10.
    assert get_metric("corr_diff").compute(truth, truth, mask)[ALL] == pytest.approx(0, abs=1e-8)
    assert get_metric("corr_diff").score(truth, truth)[ALL] == pytest.approx(0, abs=1e-8)
    rounded = truth.round(3)
    assert get_metric("corr_diff").compute(rounded, rounded, mask) == {ALL: 0.0}


def test_corr_diff_sees_a_shuffled_column(mixed):
    truth, mask, rng = mixed
    hidden = mask[:, 1]
    faithful, shuffled = truth.copy(), truth.copy()
    faithful.loc[hidden, "y"] = 2 * truth["x"][hidden] + rng.normal(scale=0.3, size=120)
    shuffled.loc[hidden, "y"] = rng.permutation(truth["y"].to_numpy()[hidden])
    m = get_metric("corr_diff")
    good, bad = m.compute(truth, faithful, mask)[ALL], m.compute(truth, shuffled, mask)[ALL]
    assert good < 0.1
    assert bad > 1.0 and bad > 10 * good
    # The shuffled values have the same marginal distribution: wasserstein cannot see it.
    assert get_metric("wasserstein").compute(truth, shuffled, mask)[ALL] == pytest.approx(0.0)


def test_corr_diff_is_the_frobenius_norm_without_the_diagonal():
    rng = np.random.default_rng(4)
    ref = make_typed(pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"]))
    cmp_ = make_typed(pd.DataFrame(rng.normal(size=(200, 3)) @ np.triu(np.ones((3, 3))),
                                   columns=["a", "b", "c"]))
    d = np.corrcoef(ref.to_numpy(), rowvar=False) - np.corrcoef(cmp_.to_numpy(), rowvar=False)
    assert np.linalg.norm(d) > 0.5
    got = get_metric("corr_diff").score(ref, cmp_)[ALL]
    assert got == pytest.approx(np.linalg.norm(d))         # diagonal of d is 0 already
    iu = np.triu_indices(3, 1)
    assert got == pytest.approx(math.sqrt(2 * np.sum(d[iu] ** 2)))


def test_corr_diff_on_one_column_and_averages_draws(mixed):
    truth, mask, rng = mixed
    one = truth[["y"]]
    assert get_metric("corr_diff").compute(one, one, mask[:, [1]]) == {}
    m = get_metric("corr_diff")
    d1, d2 = truth.copy(), truth.copy()
    d1.loc[mask[:, 1], "y"] = rng.normal(size=120)
    d2.loc[mask[:, 1], "y"] = -truth["y"][mask[:, 1]]
    v1, v2 = m.compute(truth, d1, mask)[ALL], m.compute(truth, d2, mask)[ALL]
    assert v1 != pytest.approx(v2)
    assert m.compute(truth, [d1, d2, d1], mask)[ALL] == pytest.approx((v1 + v2) / 2)


@pytest.mark.parametrize("name", ["wasserstein", "total_variation", "corr_diff"])
def test_normalize_is_in_the_unit_interval_with_one_best(name):
    m = get_metric(name)
    assert m.normalize(0.0) == 1.0
    assert 0.0 <= m.normalize(0.7) < 1.0
