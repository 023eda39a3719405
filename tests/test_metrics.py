"""Metrics: hand-computed answers, the metric contract and the published conventions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from imputebench.datasets import MaskSpec, load_dataset, make_mask
from imputebench.imputers import get_imputer
from imputebench.metrics import ALL, Goal, available_metrics, get_metric

NAN = np.nan
NUMERIC_METRICS = ["rmse_minmax", "rmse_zscore", "mae", "nrmse_col"]
METRICS = NUMERIC_METRICS + ["accuracy"]


def cat(values, levels, ordered=False):
    return pd.Categorical(values, categories=levels, ordered=ordered)


@pytest.fixture
def tiny():
    """truth, imputed and mask of a 5-row table: x varies, y is constant, c and d categorical."""
    truth = pd.DataFrame({
        "x": [0.0, 2.0, 4.0, 6.0, 8.0],
        "y": [1.0, 1.0, 1.0, 1.0, 1.0],
        "c": cat(["a", "b", "c", "a", None], ["a", "b", "c"]),
        "d": cat(["x", "y", "x", "y", "x"], ["x", "y"], ordered=True),
    })
    imputed = pd.DataFrame({
        "x": [0.0, 3.0, 4.0, 2.0, 8.0],          # hidden rows 1, 3: errors +1 and -4
        "y": [3.0, 1.0, 1.0, 1.0, 1.0],          # hidden row 0: error +2
        "c": cat(["a", "c", "c", "a", "b"], ["a", "b", "c"]),   # right, wrong, right
        "d": cat(["x", "y", "x", "y", "x"], ["x", "y"], ordered=True),   # right
    })
    mask = np.zeros(truth.shape, dtype=bool)
    mask[[1, 3], 0] = True
    mask[0, 1] = True
    mask[[0, 1, 2, 4], 2] = True       # row 4 is missing in the source: never scored
    mask[1, 3] = True
    return truth, imputed, mask


def test_registry_lists_the_metrics():
    assert set(METRICS) <= set(available_metrics())
    assert get_metric("accuracy").goal == Goal.MAXIMIZE
    for name in NUMERIC_METRICS:
        assert get_metric(name).goal == Goal.MINIMIZE


# ------------------------------------------------------------------ known answers
def test_rmse_minmax_by_hand(tiny):
    # x: observed cells 0, 4, 8 -> range 8; scaled errors 1/8 and 4/8.
    # y: constant, range 0 -> scale 1; error 2.
    got = get_metric("rmse_minmax").compute(*tiny)
    assert set(got) == {"x", "y", ALL}
    assert got["x"] == pytest.approx(math.sqrt(((1 / 8) ** 2 + (4 / 8) ** 2) / 2))
    assert got["x"] == pytest.approx(math.sqrt(17 / 128))
    assert got["y"] == pytest.approx(2.0)
    # Pooled over the 3 hidden numeric cells, not averaged over columns.
    assert got[ALL] == pytest.approx(math.sqrt((1 / 64 + 16 / 64 + 4) / 3))


def test_mae_by_hand(tiny):
    got = get_metric("mae").compute(*tiny)
    assert got["x"] == pytest.approx((1 / 8 + 4 / 8) / 2)
    assert got["y"] == pytest.approx(2.0)
    assert got[ALL] == pytest.approx((1 / 8 + 4 / 8 + 2) / 3) == pytest.approx(7 / 8)


def test_rmse_zscore_by_hand(tiny):
    # x: observed 0, 4, 8 -> mean 4, population variance (16 + 0 + 16) / 3 = 32 / 3.
    var = 32 / 3
    got = get_metric("rmse_zscore").compute(*tiny)
    assert got["x"] == pytest.approx(math.sqrt((1 + 16) / 2 / var))
    assert got["y"] == pytest.approx(2.0)                       # constant column: sd 1
    assert got[ALL] == pytest.approx(math.sqrt((1 / var + 16 / var + 4) / 3))


def test_nrmse_col_by_hand(tiny):
    # x: hidden true values 2 and 6 -> population sd 2; RMSE sqrt((1 + 16) / 2).
    # y: one hidden cell (sd 0), and the whole column is constant too -> sd 1.
    got = get_metric("nrmse_col").compute(*tiny)
    assert got["x"] == pytest.approx(math.sqrt(17 / 2) / 2)
    assert got["y"] == pytest.approx(2.0)
    assert got[ALL] == pytest.approx((math.sqrt(17 / 2) / 2 + 2.0) / 2)   # mean over columns


def test_nrmse_col_falls_back_to_the_spread_of_all_true_values():
    truth = pd.DataFrame({"z": [5.0, 5.0, 1.0, 9.0, 5.0]})
    imputed = pd.DataFrame({"z": [6.0, 7.0, 1.0, 9.0, 5.0]})
    mask = np.array([[True], [True], [False], [False], [False]])
    # Hidden true values 5, 5 have no spread; all true values 5 5 1 9 5: mean 5, variance
    # (0 + 0 + 16 + 16 + 0) / 5 = 6.4. RMSE sqrt((1 + 4) / 2) = sqrt(2.5).
    got = get_metric("nrmse_col").compute(truth, imputed, mask)
    assert got["z"] == pytest.approx(math.sqrt(2.5 / 6.4)) == pytest.approx(0.625)


def test_accuracy_by_hand(tiny):
    got = get_metric("accuracy").compute(*tiny)
    assert got["c"] == pytest.approx(2 / 3)          # a=a, c!=b, c=c; row 4 not scored
    assert got["d"] == 1.0
    assert got[ALL] == pytest.approx(3 / 4)          # pooled: 3 hits of 4 cells, not 5/6
    assert set(got) == {"c", "d", ALL}


def test_accuracy_compares_levels_not_codes():
    truth = pd.DataFrame({"c": cat(["a", "b", "c"], ["a", "b", "c"])})
    imputed = pd.DataFrame({"c": cat(["a", "b", "c"], ["c", "b", "a"])})   # other code order
    mask = np.ones((3, 1), dtype=bool)
    assert get_metric("accuracy").compute(truth, imputed, mask)[ALL] == 1.0
    imputed = pd.DataFrame({"c": ["a", "c", "z"]})                          # plain strings
    assert get_metric("accuracy").compute(truth, imputed, mask)[ALL] == pytest.approx(1 / 3)


# ------------------------------------------------------------------ the contract
@pytest.fixture(scope="module")
def penguins():
    truth = load_dataset("penguins")                     # mixed, with source NaN
    mask = make_mask(truth, MaskSpec("mcar", 0.3), 4)
    hidden = truth.mask(mask)
    imputed = get_imputer("mean").fit(hidden).transform(hidden)
    return truth, imputed, mask


@pytest.mark.parametrize("name", METRICS)
def test_perfect_imputation_scores_the_best_value(penguins, name):
    truth, imputed, mask = penguins
    perfect = imputed.copy()
    for j, col in enumerate(truth.columns):
        keep = mask[:, j]
        perfect.loc[keep, col] = truth.loc[keep, col]
    got = get_metric(name).compute(truth, perfect, mask)
    best = 1.0 if name == "accuracy" else 0.0
    assert got and all(v == best for v in got.values())
    assert get_metric(name).normalize(got[ALL]) == 1.0
    assert get_metric(name).compute(truth, imputed, mask)[ALL] != best


@pytest.mark.parametrize("name", METRICS)
def test_changing_observed_cells_never_changes_the_score(penguins, name):
    truth, imputed, mask = penguins
    changed = imputed.copy()
    for j, col in enumerate(truth.columns):
        keep = ~mask[:, j]
        if isinstance(truth[col].dtype, pd.CategoricalDtype):
            codes = changed[col].cat.codes.to_numpy().copy()
            n = len(changed[col].cat.categories)
            codes[keep] = (codes[keep] + 1) % n                     # another level
            changed[col] = pd.Categorical.from_codes(codes, dtype=changed[col].dtype)
        else:
            changed.loc[keep, col] = changed.loc[keep, col] * 7.0 + 1000.0
    assert (changed != imputed).to_numpy().sum() > 100
    assert get_metric(name).compute(truth, changed, mask) == \
        get_metric(name).compute(truth, imputed, mask)


@pytest.mark.parametrize("name", METRICS)
def test_source_nan_is_never_scored(tiny, name):
    truth, imputed, mask = tiny
    truth = truth.copy()
    truth.loc[3, "x"] = NAN      # hidden cells that are missing in the source
    truth.loc[1, "d"] = None     # (c's row 4 already is one)
    base = get_metric(name).compute(truth, imputed, mask)
    other = imputed.copy()
    other.loc[3, "x"] = 1e9
    other["c"] = cat(["a", "c", "c", "a", "c"], ["a", "b", "c"])
    other["d"] = cat(["x", "x", "x", "y", "x"], ["x", "y"], ordered=True)
    assert get_metric(name).compute(truth, other, mask) == base
    unmasked = mask.copy()
    unmasked[3, 0] = unmasked[4, 2] = unmasked[1, 3] = False
    assert get_metric(name).compute(truth, imputed, unmasked) == base
    assert "d" not in base


def test_source_nan_stays_out_of_the_scaling():
    truth = pd.DataFrame({"x": [NAN, 2.0, 4.0, 6.0, 8.0]})
    imputed = pd.DataFrame({"x": [0.0, 3.0, 4.0, 2.0, 8.0]})
    mask = np.array([[True], [True], [False], [True], [False]])
    # Observed cells 4 and 8 -> range 4; errors 1 and -4 on the two scored cells.
    got = get_metric("rmse_minmax").compute(truth, imputed, mask)
    assert got[ALL] == pytest.approx(math.sqrt(((1 / 4) ** 2 + (4 / 4) ** 2) / 2))


@pytest.mark.parametrize("name", NUMERIC_METRICS)
def test_constant_column_does_not_divide_by_zero(name):
    truth = pd.DataFrame({"k": [3.0, 3.0, 3.0, 3.0]})
    imputed = pd.DataFrame({"k": [3.0, 4.5, 3.0, 3.0]})
    mask = np.array([[False], [True], [True], [False]])
    with np.errstate(all="raise"):
        got = get_metric(name).compute(truth, imputed, mask)
    # Scale 1 everywhere: errors 1.5 and 0.
    want = 1.5 / 2 if name == "mae" else math.sqrt(1.5**2 / 2)
    assert got[ALL] == pytest.approx(want)


def test_metrics_that_do_not_apply_return_nothing():
    numeric = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    categorical = pd.DataFrame({"c": cat(["a", "b", "a"], ["a", "b"])})
    mask = np.array([[True], [False], [True]])
    assert get_metric("accuracy").compute(numeric, numeric, mask) == {}
    for name in NUMERIC_METRICS:
        assert get_metric(name).compute(categorical, categorical, mask) == {}
        assert get_metric(name).compute(numeric, numeric, np.zeros((3, 1), bool)) == {}


@pytest.mark.parametrize("name", METRICS)
def test_normalize_maps_into_the_unit_interval_with_one_best(name):
    metric = get_metric(name)
    if metric.goal == Goal.MINIMIZE:
        raws = [0.0, 0.01, 0.3, 1.0, 2.5, 100.0, math.inf]
        assert metric.normalize(0.0) == 1.0
    else:
        raws = [1.0, 0.99, 0.75, 0.5, 0.1, 0.0]
        assert metric.normalize(1.0) == 1.0 and metric.normalize(0.0) == 0.0
    normed = [metric.normalize(r) for r in raws]        # from the best raw to the worst
    assert all(0.0 <= v <= 1.0 for v in normed)
    assert all(a > b for a, b in zip(normed, normed[1:], strict=False))
    assert math.isnan(metric.normalize(NAN))


# ------------------------------------------------------------------ published conventions
def test_rmse_minmax_follows_the_knnxkde_convention():
    truth = load_dataset("breast_cancer")
    mask = make_mask(truth, MaskSpec("mcar", 0.2), 11)
    hidden = truth.mask(mask)
    imputed = get_imputer("mean").fit(hidden).transform(hidden)
    # kNNxKDE (Lalande & Doya 2023): min-max parameters from the table with its hidden cells
    # set to NaN, i.e. from the observed cells; RMSE over all hidden cells of the scaled table.
    X, T, I = hidden.to_numpy(), truth.to_numpy(), imputed.to_numpy()
    lo, hi = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    want = np.sqrt(np.mean((((I - lo) / (hi - lo) - (T - lo) / (hi - lo))[mask]) ** 2))
    got = get_metric("rmse_minmax").compute(truth, imputed, mask)[ALL]
    assert got == pytest.approx(want, rel=1e-12)
    # Their code adds 1e-6 to each range: a relative difference below 1e-6 / smallest range.
    want_eps = np.sqrt(np.mean(((I - T) / (hi - lo + 1e-6))[mask] ** 2))
    assert got == pytest.approx(want_eps, rel=2e-6 / (hi - lo).min())
    # Min-max parameters of the full truth would give another number.
    full = np.sqrt(np.mean(((I - T) / (T.max(axis=0) - T.min(axis=0)))[mask] ** 2))
    assert got != pytest.approx(full, rel=1e-6)
