"""pMSE (three propensity models), its null and ratio; cluster-log; the shared table core."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import make_typed
from imputebench.metrics import get_metric
from imputebench.metrics.cluster_log import cluster_log_tables, cluster_utility
from imputebench.metrics.propensity import logistic_design, logistic_fit, pmse_tables
from imputebench.metrics.tables import align, comparison_rows, decimals, distinct, round_like


def _mixed(n: int, seed: int, rho: float = 0.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)
    g = np.where(x + 0.5 * rng.standard_normal(n) > 0, "hi", "lo")
    h = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    return make_typed(pd.DataFrame({"x": x, "y": y, "g": g, "h": h}),
                      {"g": "categorical", "h": "categorical"})


def _imputations(n=2000, seed=0, rate=0.4):
    """Truth, mask (y hidden MCAR), y imputed by its mean, y drawn from the true conditional."""
    df = _mixed(n, seed)
    rng = np.random.default_rng(seed + 100)
    hide = rng.random(n) < rate
    mask = np.zeros(df.shape, dtype=bool)
    mask[:, 1] = hide
    by_mean = df.copy()
    by_mean.loc[hide, "y"] = df.loc[~hide, "y"].mean()
    by_draw = df.copy()
    by_draw.loc[hide, "y"] = 0.8 * df.loc[hide, "x"] + 0.6 * rng.standard_normal(hide.sum())
    return df, mask, by_mean, by_draw


# ------------------------------------------------------------------------------ table core

def test_decimals_and_rounding_to_the_reference_precision():
    assert decimals(np.array([1.0, 2.0, 30.0])) == 0
    assert decimals(np.array([0.5, 1.25, 3.0])) == 2
    assert decimals(np.array([0.1, 0.2, 0.3])) == 1
    assert decimals(np.random.default_rng(0).random(50)) is None  # full precision
    ref = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.1234567891234, 0.5, 0.25]})
    comp = pd.DataFrame({"a": [1.4, 2.6, 3.0], "b": [0.3333333, 0.5, 0.1]})
    out = round_like(ref, comp)
    assert out["a"].tolist() == [1.0, 3.0, 3.0]
    assert out["b"].tolist() == comp["b"].tolist()  # b has full precision: not rounded


def test_comparison_rows_keep_hidden_rows_and_fill_source_gaps_on_both_sides():
    truth = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [5.0, 6.0, 7.0, 8.0]})
    imputed = pd.DataFrame({"a": [1.0, 9.0, 3.5, 4.0], "b": [5.0, 6.0, 0.0, 8.0]})
    mask = np.array([[False, False], [True, False], [False, True], [False, False]])
    ref, comp = comparison_rows(truth, imputed, mask)
    assert list(ref.index) == [1, 2]
    assert ref.loc[2, "a"] == 3.5 == comp.loc[2, "a"]  # source NaN: the imputed value on both
    assert (ref.loc[1, "a"], comp.loc[1, "a"]) == (2.0, 9.0)
    with pytest.raises(ImputebenchError, match="no hidden cell"):
        comparison_rows(truth, imputed, np.zeros((4, 2), dtype=bool))


def test_distinct_draws_count_once():
    df, mask, by_mean, by_draw = _imputations(200)
    kept = distinct([by_mean, by_mean.copy(), by_draw, by_mean], mask, limit=5)
    assert len(kept) == 2
    assert len(distinct([by_mean, by_draw], mask, limit=1)) == 1


def test_align_refuses_tables_that_cannot_be_compared():
    df = _mixed(50, 0)
    with pytest.raises(ImputebenchError, match="different columns"):
        align(df, df[["x", "y"]])
    with pytest.raises(ImputebenchError, match="empty"):
        align(df, df.iloc[:0])
    with pytest.raises(ImputebenchError, match="kinds"):
        align(df, df.assign(g=np.arange(50.0)))


# ------------------------------------------------------------------------------ pMSE

def test_two_copies_are_indistinguishable():
    df = _mixed(500, 1)
    for model in ("logistic", "cart", "xgb"):
        out = pmse_tables(*align(df, df.copy()), model=model)
        assert out["__all__"] == pytest.approx(0.0, abs=1e-10), model


def test_logistic_null_agrees_with_permutations_and_independent_samples_score_one():
    a, b = _mixed(1500, 2), _mixed(1500, 3)
    ref, comp = align(a, b)
    out = pmse_tables(ref, comp, model="logistic")
    # the analytic null (k - 1) c (1 - c) / N against 20 label permutations
    x, _ = logistic_design(ref, comp)
    y = np.r_[np.zeros(len(ref)), np.ones(len(comp))]
    rng = np.random.default_rng(0)
    perm = [np.mean((logistic_fit(x, rng.permutation(y)) - 0.5) ** 2) for _ in range(20)]
    assert np.mean(perm) == pytest.approx(out["null"], rel=0.15)
    spread = np.std(perm) / out["null"]
    assert abs(out["ratio"] - 1.0) < 3 * spread + 0.1
    # Snoke et al.'s printed form, (k-1)(1-c)^2 c / N, is half of what permutations give
    assert out["null"] == pytest.approx(2 * (out["k"] - 1) * 0.25 * 0.5 / 3000, rel=1e-12)


@pytest.mark.parametrize("model", ["cart", "xgb"])
def test_tree_ratio_is_about_one_for_independent_samples(model):
    a, b = _mixed(1500, 4), _mixed(1500, 5)
    out = pmse_tables(*align(a, b), model=model, n_permutations=8)
    assert out["null"] > 0
    assert 0.7 < out["ratio"] < 1.3


@pytest.mark.parametrize("name", ["pmse", "pmse_cart", "pmse_xgb", "cluster_log"])
def test_mean_imputation_scores_worse_than_conditional_draws(name):
    df, mask, by_mean, by_draw = _imputations()
    metric = get_metric(name)
    bad, good = metric.compute(df, [by_mean], mask), metric.compute(df, [by_draw], mask)
    assert bad["__all__"] > good["__all__"]
    if name == "cluster_log":
        assert bad["U"] > 3 * good["U"]
    else:
        assert bad["ratio"] > 2 * good["ratio"]


def test_logistic_fit_is_the_maximum_likelihood_fit():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(6)
    x = rng.standard_normal((800, 3))
    y = (x @ [1.0, -0.5, 0.2] + rng.logistic(size=800) > 0).astype(float)
    ref = LogisticRegression(C=1e6, tol=1e-10, max_iter=1000).fit(x, y).predict_proba(x)[:, 1]
    np.testing.assert_allclose(logistic_fit(x, y), ref, atol=1e-5)


def test_design_respects_the_parameter_cap_by_lumping_levels():
    rng = np.random.default_rng(7)
    n = 3000
    df = make_typed(pd.DataFrame({
        **{f"x{i}": rng.standard_normal(n) for i in range(5)},
        "many": rng.choice([f"l{i}" for i in range(60)], size=n),
        "few": rng.choice(["a", "b"], size=n)}), {"many": "categorical", "few": "categorical"})
    ref, comp = align(df, df.sample(frac=1.0, random_state=0).reset_index(drop=True))
    x, info = logistic_design(ref, comp, max_params=400)
    assert x.shape[1] + 1 <= 400
    assert info["lumped_below"] > 0.01  # 60 levels of about 1.7 % each had to be lumped
    full, info_full = logistic_design(ref, comp, max_params=10**6)
    assert info_full["lumped_below"] == 0.01 and full.shape[1] > x.shape[1]
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-10)


def test_ratio_metrics_are_read_from_their_parent():
    df, mask, by_mean, _ = _imputations(600)
    parent = get_metric("pmse").compute(df, [by_mean], mask)
    assert get_metric("pmse_ratio").compute(df, [by_mean], mask) == {
        "__all__": parent["ratio"]}


# ------------------------------------------------------------------------------ cluster-log

def test_cluster_utility_worked_example():
    # clusters: {0: 3 rows, 2 reference}, {1: 4 rows, 1 reference}, {2: 1 row, reference}
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    is_ref = np.array([1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)
    c = 4 / 8
    by_hand = ((2 / 3 - c) ** 2 + (1 / 4 - c) ** 2 + (1 - c) ** 2) / 3
    assert cluster_utility(labels, is_ref) == pytest.approx(by_hand, rel=1e-15)
    assert by_hand == pytest.approx((1 / 36 + 1 / 16 + 1 / 4) / 3)
    sized = (3 * 3 / 8 * (2 / 3 - c) ** 2 + 3 * 4 / 8 * (1 / 4 - c) ** 2
             + 3 * 1 / 8 * (1 - c) ** 2) / 3
    assert cluster_utility(labels, is_ref, "size") == pytest.approx(sized, rel=1e-15)


def test_cluster_log_is_deterministic_and_floors_identical_tables():
    df, mask, by_mean, _ = _imputations(800)
    m = get_metric("cluster_log")
    assert m.compute(df, [by_mean], mask) == m.compute(df, [by_mean], mask)
    same = cluster_log_tables(*align(df, df.copy()))
    assert same["U"] == 0.0 and same["__all__"] == pytest.approx(math.log(1e-12))
    with pytest.raises(ImputebenchError, match="n_clusters"):
        cluster_log_tables(df, df, n_clusters=1)


def test_score_compares_any_two_tables_of_different_sizes():
    real, synth = _mixed(600, 8), _mixed(1200, 9)
    out = get_metric("pmse").score(real, synth)
    # c = 2/3 compared rows: the null scales with c (1 - c)
    assert out["null"] == pytest.approx((out["k"] - 1) * (2 / 3) * (1 / 3) / 1800)
    assert 0.5 < out["ratio"] < 1.6
    broken = synth.assign(y=np.random.default_rng(0).permutation(synth["y"].to_numpy()))
    assert get_metric("pmse").score(real, broken)["ratio"] > 3 * out["ratio"]
    assert get_metric("cluster_log").score(real, synth)["G"] == 20


def test_an_all_categorical_table_keeps_its_main_effects_when_interactions_do_not_fit():
    """22 categorical columns of 4 levels: the full pairwise interactions cannot fit in 400
    parameters at any lumping, so the main effects stay (at the finest lumping) and the
    interactions are coarsened to one indicator per column (66 + 231 + 1 <= 400); lumping
    every level first would leave no column (pMSE 0)."""
    rng = np.random.default_rng(3)
    n = 2000
    cols = {f"c{i}": rng.choice(list("abcd"), size=n) for i in range(22)}
    df = make_typed(pd.DataFrame(cols), {c: "categorical" for c in cols})
    other = df.copy()
    other["c0"] = pd.Categorical(rng.choice(list("abcd"), size=n, p=[0.7, 0.1, 0.1, 0.1]),
                                 categories=df["c0"].cat.categories)
    ref, comp = align(df, other)
    x, info = logistic_design(ref, comp, max_params=400)
    assert info == {"lumped_below": 0.01, "interactions": 231.0, "interaction_levels": 1.0}
    assert x.shape[1] == 22 * 3 + 231                     # every level but the baseline
    assert get_metric("pmse").score(df, other)["__all__"] > 0.01


def test_coarse_interactions_see_dependence_that_main_effects_cannot():
    """Columns that copy each other, against the same columns shuffled independently (the
    marginals exact, the dependence gone): with interactions too many for 400 parameters, a
    main-effects model scores the shuffled table like real rows; the coarse interactions
    separate it (mushroom's case: the independent generator beat CART on pMSE)."""
    rng = np.random.default_rng(4)
    n = 2000
    base = rng.choice(list("abcd"), size=n)
    cols = {f"c{i}": np.where(rng.random(n) < 0.8, base, rng.choice(list("abcd"), size=n))
            for i in range(22)}
    real = make_typed(pd.DataFrame(cols), {c: "categorical" for c in cols})
    shuffled = real.apply(lambda s: s.sample(frac=1.0, random_state=int(s.name[1:]))
                          .reset_index(drop=True))
    main_only = get_metric("pmse")
    ref, comp = align(real, shuffled)
    x, info = logistic_design(ref, comp, max_params=400)
    assert info["interactions"] > 0
    out = main_only.score(real, shuffled)
    assert out["ratio"] > 5
    from imputebench.metrics.propensity import logistic_fit
    y = np.r_[np.zeros(n), np.ones(n)]
    p_main = logistic_fit(x[:, :66], y)                   # the main effects alone
    assert np.mean((p_main - 0.5) ** 2) < out["__all__"] / 5
