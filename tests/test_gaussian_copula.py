"""The ``gaussian_copula`` imputer: known answers on Gaussian data; marginals, ordinal, nominal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imputebench.datasets.errors import ImputebenchError
from imputebench.imputers import get_imputer
from imputebench.imputers._copula_core import truncnorm_moments

RHO = 0.8
N = 2000


@pytest.fixture(scope="module")
def gauss():
    """Bivariate standard normal with correlation 0.8, 30 % MCAR (no fully missing row)."""
    rng = np.random.default_rng(0)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, RHO], [RHO, 1.0]], N)
    mask = rng.random((N, 2)) < 0.3
    mask[mask.all(axis=1), 1] = False
    return z, mask


def _frame(a, b, mask):
    return pd.DataFrame({"x": a, "y": b}).mask(mask)


def test_truncnorm_moments_match_closed_forms():
    from scipy.stats import truncnorm

    lo = np.array([-np.inf, -1.0, 5.0, -np.inf, 30.0, -np.inf])
    hi = np.array([np.inf, 0.0, np.inf, -40.0, np.inf, 0.3])
    mu = np.array([0.0, 0.5, 0.0, 0.0, 0.0, 1.0])
    sd = np.array([1.0, 2.0, 1.0, 1.0, 1.0, 0.5])
    mean, var = truncnorm_moments(lo, hi, mu, sd)
    ref_m, ref_v = truncnorm.stats((lo - mu) / sd, (hi - mu) / sd, loc=mu, scale=sd, moments="mv")
    np.testing.assert_allclose(mean, ref_m, rtol=1e-7)
    np.testing.assert_allclose(var, ref_v, rtol=1e-6)


def test_latent_correlation_recovered_with_missing_values(gauss):
    z, mask = gauss
    tight = get_imputer("gaussian_copula", tol=1e-4).fit(_frame(z[:, 0], z[:, 1], mask))
    assert tight.column_types_ == {"x": "continuous", "y": "continuous"}
    assert tight.correlation_[0, 1] == pytest.approx(RHO, abs=0.02)
    # the default tol (0.01, as in gcimpute) stops a few EM steps earlier, a little lower
    default = get_imputer("gaussian_copula").fit(_frame(z[:, 0], z[:, 1], mask))
    assert default.correlation_[0, 1] == pytest.approx(RHO, abs=0.03)
    assert 1 <= default.n_iter_ < tight.n_iter_ <= 50


def test_transform_is_the_conditional_mean(gauss):
    z, mask = gauss
    X = _frame(z[:, 0], z[:, 1], mask)
    out = get_imputer("gaussian_copula", tol=1e-4).fit(X).transform(X)
    only_y = mask[:, 1] & ~mask[:, 0]
    err = out["y"].to_numpy()[only_y] - RHO * z[only_y, 0]
    assert np.sqrt(np.mean(err ** 2)) < 0.05          # marginal estimation error only
    assert np.abs(err).max() < 0.25                    # the extreme tails use few points


def test_sample_has_the_conditional_spread(gauss):
    z, mask = gauss
    X = _frame(z[:, 0], z[:, 1], mask)
    imp = get_imputer("gaussian_copula", tol=1e-4).fit(X)
    draws = imp.sample(X, 40, random_state=0)
    only_y = mask[:, 1] & ~mask[:, 0]
    y = np.stack([d["y"].to_numpy()[only_y] for d in draws])
    resid = y - RHO * z[only_y, 0]
    assert abs(resid.mean()) < 0.03
    assert resid.std() == pytest.approx(np.sqrt(1 - RHO ** 2), rel=0.06)
    # draws average to the point imputation
    point = imp.transform(X)["y"].to_numpy()[only_y]
    assert np.abs(y.mean(axis=0) - point).mean() < 0.12


def test_non_gaussian_marginals_beat_mean_imputation(gauss):
    z, mask = gauss
    X = _frame(np.exp(0.5 * z[:, 0]), np.exp(0.5 * z[:, 1]) ** 3, mask)
    truth = pd.DataFrame({"x": np.exp(0.5 * z[:, 0]), "y": np.exp(0.5 * z[:, 1]) ** 3})
    gc = get_imputer("gaussian_copula").fit(X)
    assert gc.correlation_[0, 1] == pytest.approx(RHO, abs=0.03)   # rank-invariant
    out, mean = gc.transform(X), get_imputer("mean").fit(X).transform(X)
    for j, col in enumerate("xy"):
        m = mask[:, j]
        rmse_gc = np.sqrt(np.mean((out[col][m] - truth[col][m]) ** 2))
        rmse_mean = np.sqrt(np.mean((mean[col][m] - truth[col][m]) ** 2))
        assert rmse_gc < 0.8 * rmse_mean
        assert out[col][m].min() >= X[col].min() and out[col][m].max() <= X[col].max()


def test_ordinal_column(gauss):
    z, mask = gauss
    dtype = pd.CategoricalDtype(["a", "b", "c", "d", "never"], ordered=True)
    lv = pd.cut(z[:, 1], [-np.inf, -1, 0, 1, np.inf], labels=["a", "b", "c", "d"])
    full = pd.DataFrame({"x": z[:, 0], "o": pd.Series(lv).astype(str).astype(dtype)})
    X = full.mask(mask)
    imp = get_imputer("gaussian_copula").fit(X)
    assert imp.column_types_["o"] == "ordinal"
    assert imp.correlation_[0, 1] == pytest.approx(RHO, abs=0.05)  # polyserial
    out = imp.transform(X)
    m = mask[:, 1]
    assert set(out["o"][m]) <= {"a", "b", "c", "d"}               # never an unseen level
    codes, true = out["o"].cat.codes[m], full["o"].cat.codes[m]
    mode = get_imputer("mean").fit(X).transform(X)["o"].cat.codes[m]
    assert (codes == true).mean() > (mode == true).mean() + 0.15
    assert np.abs(codes - true).mean() < 0.7 * np.abs(mode - true).mean()
    # a row with x very high gets the top level
    hi = X.iloc[:1].copy()
    hi["x"] = 3.0
    hi["o"] = pd.Categorical([None], dtype=dtype)
    assert imp.transform(hi)["o"].iloc[0] == "d"


def test_integer_valued_numeric_column_is_ordinal(gauss):
    z, mask = gauss
    counts = np.clip(np.round(2 + 1.5 * z[:, 1]), 0, 6)
    X = _frame(z[:, 0], counts, mask)
    imp = get_imputer("gaussian_copula").fit(X)
    assert imp.column_types_ == {"x": "continuous", "y": "ordinal"}
    imputed = imp.transform(X)["y"].to_numpy()[mask[:, 1]]
    assert set(np.unique(imputed)) <= set(np.unique(counts))
    assert imp.correlation_[0, 1] > 0.7


def test_nominal_column_is_one_hot_and_predictive(gauss):
    z, mask = gauss
    g = np.where(z[:, 1] > 0.5, "p", np.where(z[:, 1] < -0.5, "q", "r"))
    full = pd.DataFrame({"x": z[:, 0], "g": pd.Categorical(g, categories=["r", "q", "p"])})
    X = full.mask(mask)
    imp = get_imputer("gaussian_copula").fit(X)
    assert imp.column_types_["g"] == "nominal"
    assert imp.latent_columns_ == [("x", None), ("g", "r"), ("g", "q"), ("g", "p")]
    assert np.linalg.eigvalsh(imp.correlation_)[0] >= 1e-3 - 1e-9
    assert imp.correlation_[0, 3] > 0.5 and imp.correlation_[0, 2] < -0.5
    m = mask[:, 1]
    out = imp.transform(X)["g"][m]
    mode = get_imputer("mean").fit(X).transform(X)["g"][m]
    acc = (out == full["g"][m]).mean()
    assert acc > (mode == full["g"][m]).mean() + 0.2
    draws = imp.sample(X, 5, random_state=1)
    acc_draw = np.mean([(d["g"][m] == full["g"][m]).mean() for d in draws])
    assert (mode == full["g"][m]).mean() < acc_draw <= acc + 0.02


def test_draws_reproducible_and_distinct(gauss):
    z, mask = gauss
    X = _frame(z[:, 0], z[:, 1], mask).iloc[:300]
    imp = get_imputer("gaussian_copula").fit(X)
    a = imp.sample(X, 2, random_state=7)
    b = imp.sample(X, 2, random_state=7)
    c = imp.sample(X, 1, random_state=8)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not a[0].equals(a[1]) and not a[0].equals(c[0])
    # rows do not share innovations (gcimpute reseeds per row): residuals are uncorrelated
    m = mask[:300, 1] & ~mask[:300, 0]
    r = a[0]["y"].to_numpy()[m] - imp.transform(X)["y"].to_numpy()[m]
    assert r.std() > 0.4


@pytest.mark.parametrize("params", [
    {"max_iter": 0}, {"max_iter": 2.5}, {"max_iter": True}, {"tol": 0}, {"tol": -1.0},
    {"tol": np.nan}, {"num_ord_updates": 0}, {"min_ord_ratio": 0.0}, {"min_ord_ratio": 1.5},
    {"min_ord_ratio": "0.1"}, {"random_state": "seed"},
])
def test_bad_parameters_raise(gauss, params):
    z, mask = gauss
    with pytest.raises(ImputebenchError):
        get_imputer("gaussian_copula", **params).fit(_frame(z[:, 0], z[:, 1], mask))
