"""Draw-based metrics: loglik_knnxkde, loglik_kde, crps, coverage, coverage_error."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from imputebench.datasets import MaskSpec, load_dataset, make_mask
from imputebench.imputers import get_imputer
from imputebench.metrics import ALL, get_metric
from imputebench.metrics.calibration import crps_from_draws
from imputebench.metrics.loglik import knnxkde_likelihood

NAN = np.nan
DRAW_METRICS = ["loglik_knnxkde", "loglik_kde", "crps", "coverage", "coverage_error"]
WIDTH = 1.2 / 121


def frames(truth_cols: dict, draw_cols: list[dict]) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    return pd.DataFrame(truth_cols), [pd.DataFrame(d) for d in draw_cols]


def one_column(observed, hidden_truth, draws):
    """A table with one column ``x``: the observed cells first, then the hidden ones; ``draws``
    is ``(n_draws, n_hidden)``. Returns truth, the list of drawn tables and the mask."""
    observed, hidden_truth = np.asarray(observed, float), np.asarray(hidden_truth, float)
    draws = np.atleast_2d(np.asarray(draws, float))
    truth = pd.DataFrame({"x": np.r_[observed, hidden_truth]})
    mask = np.r_[np.zeros(observed.size, bool), np.ones(hidden_truth.size, bool)][:, None]
    tables = [pd.DataFrame({"x": np.r_[observed, row]}) for row in draws]
    return truth, tables, mask


def their_likelihood(draws_one_cell: np.ndarray, truth: float) -> float:
    """kNNxKDE's compute_sample_likelihood for one cell, written as their code does it."""
    x_axis = np.linspace(start=-0.1, stop=1.1, num=121)
    y_axis, _ = np.histogram(draws_one_cell, bins=np.linspace(start=-0.1, stop=1.1, num=122),
                             density=True)
    ii = (x_axis <= truth).sum()
    if ii == 0:
        return y_axis[0]
    if ii == 121:
        return y_axis[120]
    return (y_axis[ii - 1] + y_axis[ii]) / 2.0


# ------------------------------------------------------------------ loglik_knnxkde
def test_loglik_knnxkde_by_hand():
    # Observed 0 and 1: scale 1 + 1e-6. Cell 1: truth 0.503 lies between grid points 0.50 and
    # 0.51 (ii = 61); bins 60 = [0.49504, 0.50496) and 61 = [0.50496, 0.51488) hold 4 and 3 of
    # the 10 draws: L = (0.4 + 0.3) / 2 / width. Cell 2: truth 0.953, no draw near: L = 0.
    draws = np.array([[0.5] * 4 + [0.51] * 3 + [0.9] * 3, [0.2] * 10]).T
    truth, tables, mask = one_column([0.0, 1.0], [0.503, 0.953], draws)
    got = get_metric("loglik_knnxkde").compute(truth, tables, mask)
    cell1 = math.log(0.35 / WIDTH + 1e-5)
    cell2 = math.log(1e-5)
    assert got["x"] == pytest.approx((cell1 + cell2) / 2, rel=1e-12)
    assert got[ALL] == got["x"]
    assert 0.35 / WIDTH == pytest.approx(35.2917, abs=1e-4)


def test_loglik_knnxkde_equals_their_code_cell_by_cell():
    rng = np.random.default_rng(0)
    n_cells, m = 300, 25
    centre = rng.uniform(-0.3, 1.3, n_cells)
    draws = centre + rng.normal(0, rng.uniform(0.001, 0.2, n_cells), (m, n_cells))
    draws[:, :5] = 7.0                                 # every draw off the grid
    draws[:3, 5:40] = rng.choice(np.linspace(-0.1, 1.1, 122), (3, 35))   # draws on the edges
    truth = np.r_[centre[:200] + rng.normal(0, 0.05, 200), rng.uniform(-0.2, 1.2, 100)]
    truth[250:260] = np.linspace(-0.1, 1.1, 121)[::12][:10]          # truths on the grid
    ours = knnxkde_likelihood(draws, truth)
    with np.errstate(invalid="ignore", divide="ignore"):
        theirs = np.array([their_likelihood(draws[:, c], truth[c]) for c in range(n_cells)])
    # No draw on the grid: their density is 0 / 0 = NaN, ours 0 (the documented deviation).
    off = np.isnan(theirs)
    assert off[:5].all() and (ours[off] == 0).all()
    np.testing.assert_array_equal(ours[~off], theirs[~off])
    assert (~off).sum() > 250 and (ours[~off] > 0).sum() > 100


def test_loglik_knnxkde_reads_one_bin_beyond_the_grid_and_renormalizes():
    # Truth below -0.1 (ii = 0): y[0]; all 10 draws in bin 0 -> 1 / width.
    assert knnxkde_likelihood(np.full((10, 1), -0.099), np.array([-0.5]))[0] == \
        pytest.approx(1 / WIDTH)
    # Truth above 1.1 (ii = 121): y[120]. Draws off the grid are dropped before the density:
    # 5 of 10 at 1.099 (bin 120), 5 at 3.0 -> the 5 in range make density 1 / width.
    d = np.r_[np.full(5, 1.099), np.full(5, 3.0)][:, None]
    assert knnxkde_likelihood(d, np.array([2.0]))[0] == pytest.approx(1 / WIDTH)


def test_perfect_spike_beats_spread_beats_wrong_spike():
    rng = np.random.default_rng(1)
    n, m = 200, 400
    t = rng.uniform(0.2, 0.8, n)
    spread = t + rng.normal(0, 0.05, (m, n))
    for name in ("loglik_knnxkde", "loglik_kde", "crps"):
        metric = get_metric(name)
        scores = []
        for draws in (np.repeat(t[None], m, 0), spread, np.repeat(t[None] + 0.3, m, 0)):
            truth, tables, mask = one_column([0.0, 1.0], t, draws)
            scores.append(metric.compute(truth, tables, mask)[ALL])
        if name == "crps":
            scores = [-s for s in scores]
        assert scores[0] > scores[1] > scores[2], name
    # A perfect spike takes the best value of each metric (normalized 1).
    truth, tables, mask = one_column([0.0, 1.0], t, np.repeat(t[None], 3, 0))
    for name in ("loglik_knnxkde", "crps"):
        got = get_metric(name).compute(truth, tables, mask)[ALL]
        assert get_metric(name).normalize(got) == 1.0, name


# ------------------------------------------------------------------ loglik_kde
def test_loglik_kde_of_normal_draws_is_the_normal_log_density():
    # Draws from N(0.5, 0.1) (scale 1: observed 0 and 1); Silverman's h for m = 20000 is
    # 0.9 * 0.1 * 20000^-0.2 = 0.0124, so the KDE is N(0.5, sqrt(0.01 + h^2)), within 0.01 of
    # the N(0.5, 0.1) log density for |y - 0.5| <= 2 sd.
    rng = np.random.default_rng(2)
    y = np.linspace(0.3, 0.7, 9)
    draws = rng.normal(0.5, 0.1, (20000, y.size))
    truth, tables, mask = one_column([0.0, 1.0], y, draws)
    got = get_metric("loglik_kde").compute(truth, tables, mask)
    want = norm.logpdf(y, 0.5, 0.1)
    assert got[ALL] == pytest.approx(want.mean(), abs=0.03)
    assert got[ALL] == pytest.approx(norm.logpdf(y, 0.5, math.hypot(0.1, 0.01245)).mean(),
                                     abs=0.01)


def test_loglik_kde_spike_uses_the_bandwidth_floor_and_scales_by_the_observed_range():
    # Identical draws at 5 on a column observed over [0, 10]: h = 0.01 on the scaled data;
    # truth 5.2 is 0.02 away, two bandwidths: log N(0.02; 0, 0.01).
    truth, tables, mask = one_column([0.0, 10.0], [5.2], np.full((4, 1), 5.0))
    got = get_metric("loglik_kde").compute(truth, tables, mask)[ALL]
    assert got == pytest.approx(norm.logpdf(0.02, 0, 0.01), rel=1e-9)
    # Far from the spike the log score is very low but finite, and normalize does not overflow.
    truth, tables, mask = one_column([0.0, 10.0], [9.9], np.full((4, 1), 0.1))
    far = get_metric("loglik_kde").compute(truth, tables, mask)[ALL]
    assert math.isfinite(far) and far < -4000
    assert get_metric("loglik_kde").normalize(far) == 0.0


# ------------------------------------------------------------------ crps
def crps_normal(y):
    return y * (2 * norm.cdf(y) - 1) + 2 * norm.pdf(y) - 1 / math.sqrt(math.pi)


def test_crps_of_standard_normal_draws_matches_the_closed_form():
    rng = np.random.default_rng(3)
    y = np.array([-1.5, 0.0, 0.7, 2.0])
    draws = rng.standard_normal((40000, y.size))
    truth, tables, mask = one_column([0.0, 1.0], y, draws)      # scale 1
    got = get_metric("crps").compute(truth, tables, mask)
    assert crps_normal(0.0) == pytest.approx((math.sqrt(2) - 1) / math.sqrt(math.pi))
    per_cell = crps_from_draws(draws, y)
    np.testing.assert_allclose(per_cell, crps_normal(y), atol=0.01)
    assert got[ALL] == pytest.approx(crps_normal(y).mean(), abs=0.006)


def test_crps_sorted_formula_equals_the_pairwise_sum_and_mae_for_a_spike():
    rng = np.random.default_rng(4)
    d, y = rng.normal(size=(7, 5)), rng.normal(size=5)
    brute = (np.abs(d - y).mean(axis=0)
             - np.abs(d[:, None, :] - d[None, :, :]).sum(axis=(0, 1)) / (2 * 7 * 7))
    np.testing.assert_allclose(crps_from_draws(d, y), brute, rtol=1e-12)
    # Identical draws: crps is the absolute error, so the metric equals mae (range 4 here).
    truth, tables, mask = one_column([0.0, 4.0], [1.0, 3.0], np.array([[2.0, 2.5]] * 3))
    assert get_metric("crps").compute(truth, tables, mask)[ALL] == \
        pytest.approx((1 / 4 + 0.5 / 4) / 2)
    assert get_metric("crps").compute(truth, tables, mask)[ALL] == \
        get_metric("mae").compute(truth, tables[0], mask)[ALL]


# ------------------------------------------------------------------ coverage
def test_coverage_of_the_true_predictive_is_nominal():
    rng = np.random.default_rng(5)
    n, m = 4000, 400
    mu = rng.uniform(-3, 3, n)
    y = mu + rng.standard_normal(n)
    truth, tables, mask = one_column([-6.0, 6.0], y, mu + rng.standard_normal((m, n)))
    got = get_metric("coverage").compute(truth, tables, mask)[ALL]
    # Binomial sd sqrt(0.09 / 4000) = 0.0047, plus the quantile noise of 400 draws.
    assert got == pytest.approx(0.9, abs=0.025)
    assert get_metric("coverage_error").compute(truth, tables, mask)[ALL] == \
        pytest.approx(abs(got - 0.9))
    # Draws three times too narrow cover 2 * Phi(1.645 / 3) - 1 = 0.42 of the truths.
    truth, tables, mask = one_column([-6.0, 6.0], y, mu + rng.standard_normal((m, n)) / 3)
    narrow = get_metric("coverage").compute(truth, tables, mask)[ALL]
    assert narrow == pytest.approx(2 * norm.cdf(1.645 / 3) - 1, abs=0.03)
    assert get_metric("coverage_error").compute(truth, tables, mask)[ALL] > 0.4


def test_coverage_counts_interval_ends_as_inside():
    # Draws 0..10: q05 = 0.5, q95 = 9.5 (linear). A spike covers only its own value.
    draws = np.c_[np.arange(11.0), np.arange(11.0), np.arange(11.0), np.full(11, 3.0),
                  np.full(11, 3.0)]
    truth, tables, mask = one_column([0.0, 10.0], [0.5, 9.5, 9.6, 3.0, 3.0001], draws)
    got = get_metric("coverage").compute(truth, tables, mask)
    assert got["x"] == pytest.approx(3 / 5)


# ------------------------------------------------------------------ the contract
@pytest.fixture(scope="module")
def penguins_draws():
    truth = load_dataset("penguins")                     # mixed, with source NaN
    mask = make_mask(truth, MaskSpec("mcar", 0.3), 4)
    hidden = truth.mask(mask)
    draws = get_imputer("knn").fit(hidden).sample(hidden, 8, random_state=0)
    return truth, draws, mask


@pytest.mark.parametrize("name", DRAW_METRICS)
def test_changing_observed_cells_never_changes_the_score(penguins_draws, name):
    truth, draws, mask = penguins_draws
    changed = []
    for d in draws:
        c = d.copy()
        for j, col in enumerate(truth.columns):
            if not isinstance(truth[col].dtype, pd.CategoricalDtype):
                c.loc[~mask[:, j], col] = c.loc[~mask[:, j], col] * 7.0 + 1000.0
        changed.append(c)
    base = get_metric(name).compute(truth, draws, mask)
    assert base and set(base) == {ALL} | {c for c in truth.columns
                                          if not isinstance(truth[c].dtype, pd.CategoricalDtype)}
    assert get_metric(name).compute(truth, changed, mask) == base


@pytest.mark.parametrize("name", DRAW_METRICS)
def test_source_nan_is_never_scored(name):
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, 12)
    truth = pd.DataFrame({"x": x})
    truth.loc[3, "x"] = NAN                                    # hidden but missing in the source
    mask = np.zeros((12, 1), bool)
    mask[[1, 3, 5, 7], 0] = True
    draws = [pd.DataFrame({"x": x + rng.normal(0, 0.1, 12)}) for _ in range(20)]
    base = get_metric(name).compute(truth, draws, mask)
    other = [d.assign(x=np.where(np.arange(12) == 3, 1e9, d["x"])) for d in draws]
    assert get_metric(name).compute(truth, other, mask) == base
    unmasked = mask.copy()
    unmasked[3, 0] = False
    assert get_metric(name).compute(truth, draws, unmasked) == base


@pytest.mark.parametrize("name", DRAW_METRICS)
def test_metrics_that_do_not_apply_return_nothing(name):
    categorical = pd.DataFrame({"c": pd.Categorical(["a", "b", "a"], categories=["a", "b"])})
    numeric = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    mask = np.array([[True], [False], [True]])
    assert get_metric(name).compute(categorical, [categorical] * 3, mask) == {}
    assert get_metric(name).compute(numeric, [numeric] * 3, np.zeros((3, 1), bool)) == {}


@pytest.mark.parametrize("name", DRAW_METRICS)
def test_metadata_and_normalize(name):
    metric = get_metric(name)
    assert metric.uses == "draws" and metric.level == "cell" and metric.definition
    lo = metric.min_value if math.isfinite(metric.min_value) else -1e6
    hi = metric.max_value if math.isfinite(metric.max_value) else 1e6
    raws = np.linspace(lo, hi, 50)
    normed = [metric.normalize(r) for r in raws]
    assert all(0.0 <= v <= 1.0 for v in normed)
    diffs = np.diff(normed)
    assert (diffs >= 0).all() if metric.goal == "maximize" else (diffs <= 0).all()
    assert math.isnan(metric.normalize(NAN))


def test_stochastic_knn_draws_score_better_than_a_deterministic_spike(penguins_draws):
    # The knn predictive covers truths far more often than its own point imputation repeated.
    truth, draws, mask = penguins_draws
    hidden = truth.mask(mask)
    point = get_imputer("knn").fit(hidden).transform(hidden)
    spread = get_metric("coverage").compute(truth, draws, mask)[ALL]
    spike = get_metric("coverage").compute(truth, [point] * 8, mask)[ALL]
    assert spread > 0.5 > spike
    assert get_metric("loglik_knnxkde").compute(truth, draws, mask)[ALL] > \
        get_metric("loglik_knnxkde").compute(truth, [point] * 8, mask)[ALL]
