"""MICE and MissForest (IterativeImputer with the kNNxKDE paper's settings)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import BayesianRidge

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import make_typed
from imputebench.imputers import get_imputer

RHO = 0.8


def _gaussian(n: int = 2000, rate: float = 0.3, seed: int = 0):
    """Standard bivariate Gaussian with correlation RHO; y hidden completely at random."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = RHO * x + np.sqrt(1 - RHO ** 2) * rng.standard_normal(n)
    full = pd.DataFrame({"x": x, "y": y})
    hidden = full.copy()
    hidden.loc[rng.random(n) < rate, "y"] = np.nan
    return full, hidden


def _paper_protocol(hidden: pd.DataFrame, imputer: IterativeImputer) -> np.ndarray:
    """What DeltaFloflo/knnxkde's hyperparam_rmse.py does: normalize, fit_transform, undo."""
    A = hidden.to_numpy()
    lo = np.nanmin(A, axis=0)
    span = np.nanmax(A - lo, axis=0)
    norm = (A - lo) / (span + 1e-6)
    return imputer.fit_transform(norm) * (span + 1e-6) + lo


def test_mice_transform_is_the_regression_line():
    full, hidden = _gaussian()
    miss = hidden["y"].isna().to_numpy()
    out = get_imputer("mice", random_state=0).fit(hidden).transform(hidden)
    x = full["x"].to_numpy()[miss]
    err = out["y"].to_numpy()[miss] - RHO * x  # E[y | x] = rho x
    assert np.abs(err).max() < 0.15  # slope error ~0.02 times |x| up to ~3.5
    assert np.sqrt(np.mean(err ** 2)) < 0.05


def test_mice_transform_matches_the_paper_protocol():
    _, hidden = _gaussian(n=500)
    hidden.loc[hidden.index[::7], "x"] = np.nan
    hidden.loc[hidden.index[::14], "y"] = np.nan
    out = get_imputer("mice", random_state=0).fit(hidden).transform(hidden)
    ref = _paper_protocol(hidden, IterativeImputer(estimator=BayesianRidge(), max_iter=10,
                                                   tol=2e-1))
    np.testing.assert_allclose(out.to_numpy(), ref, rtol=0, atol=1e-9)


def test_mice_sample_spread_is_the_conditional_sd():
    full, hidden = _gaussian(n=1000)
    miss = hidden["y"].isna().to_numpy()
    imp = get_imputer("mice", random_state=0).fit(hidden)
    draws = np.stack([d["y"].to_numpy()[miss] for d in imp.sample(hidden, 40, random_state=1)])
    per_cell_sd = draws.std(axis=0, ddof=1)
    assert abs(per_cell_sd.mean() - np.sqrt(1 - RHO ** 2)) < 0.06  # sqrt(1 - 0.64) = 0.6
    # Centred on the regression line, and draws differ.
    x = full["x"].to_numpy()[miss]
    assert abs((draws.mean(axis=0) - RHO * x).mean()) < 0.05
    assert not np.array_equal(draws[0], draws[1])


def test_mice_sample_reproducible_and_out_of_sample():
    _, hidden = _gaussian(n=400)
    imp = get_imputer("mice", random_state=0).fit(hidden.iloc[:300])
    new = hidden.iloc[300:]
    a = imp.sample(new, 2, random_state=5)
    b = imp.sample(new, 2, random_state=5)
    for u, v in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(u, v)
    assert not a[0].equals(a[1])
    out = imp.transform(new)
    assert out.index.equals(new.index) and not out.isna().any().any()


def _sine(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, n)
    y = np.sin(3 * x) + 0.05 * rng.standard_normal(n)
    full = pd.DataFrame({"x": x, "y": y})
    hidden = full.copy()
    hidden.loc[rng.random(n) < 0.3, "y"] = np.nan
    return full, hidden


def test_missforest_beats_mean_on_a_sine():
    full, hidden = _sine()
    miss = hidden["y"].isna().to_numpy()
    truth = full["y"].to_numpy()[miss]

    def rmse(name, **params):
        out = get_imputer(name, **params).fit(hidden).transform(hidden)
        return np.sqrt(np.mean((out["y"].to_numpy()[miss] - truth) ** 2))

    forest, mean, mice = rmse("missforest", random_state=0), rmse("mean"), rmse("mice")
    assert forest < 0.25 * mean
    assert forest < 0.5 * mice  # a linear model cannot follow the sine
    assert forest < 0.15


def test_missforest_matches_the_paper_protocol_and_draws_vary():
    full, hidden = _sine(n=300)
    imp = get_imputer("missforest", n_estimators=5, random_state=0).fit(hidden)
    out = imp.transform(hidden)
    seed = np.random.default_rng(0).integers(0, 2**31 - 1)  # the seed fit derives
    ref = _paper_protocol(hidden, IterativeImputer(
        estimator=ExtraTreesRegressor(n_estimators=5, random_state=seed), max_iter=10,
        tol=2e-1, random_state=seed))
    np.testing.assert_allclose(out.to_numpy(), ref, rtol=0, atol=1e-9)
    miss = hidden["y"].isna().to_numpy()
    a = imp.sample(hidden, 3, random_state=1)
    b = imp.sample(hidden, 3, random_state=1)
    for u, v in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(u, v)
    draws = np.stack([d["y"].to_numpy()[miss] for d in a])
    assert (draws.std(axis=0) > 0).mean() > 0.5  # reruns differ per cell
    # The spread is the algorithm's own randomness: small next to the signal.
    assert draws.std(axis=0).mean() < 0.2 * full["y"].std()


def test_missforest_keeps_no_forest_and_imputes_unseen_rows():
    """Memory stays linear in n (issue 13): no fitted forest is kept after fit or transform.

    Rows unseen in fit are imputed by the seeded run on the fitted table with them appended.
    """
    import pickle

    full, hidden = _sine(n=1200)
    train, new = hidden.iloc[:800], hidden.iloc[800:]
    imp = get_imputer("missforest", random_state=0).fit(train)
    table_bytes = train.to_numpy().nbytes
    assert len(pickle.dumps(imp)) < 6 * table_bytes  # the table, its result; no trees
    out = imp.transform(new)
    miss = new["y"].isna().to_numpy()
    err = out["y"].to_numpy()[miss] - full["y"].to_numpy()[800:][miss]
    assert np.sqrt(np.mean(err ** 2)) < 0.15           # the sine, learnt for unseen rows
    pd.testing.assert_frame_equal(out, imp.transform(new))       # deterministic
    pd.testing.assert_frame_equal(imp.transform(train),
                                  get_imputer("missforest", random_state=0).fit(train)
                                  .transform(train))
    assert len(pickle.dumps(imp)) < 6 * table_bytes
    draws = imp.sample(new, 2, random_state=0)
    assert all(not d.isna().any().any() for d in draws)


def test_numeric_only():
    df = make_typed(pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0], "g": ["a", "b", "a", None]}),
                    {"x": "numeric", "g": "categorical"})
    for name in ("mice", "missforest"):
        with pytest.raises(ImputebenchError, match="numeric columns only"):
            get_imputer(name).fit(df)


@pytest.mark.parametrize("name, params", [
    ("mice", {"max_iter": 0}), ("mice", {"tol": -0.1}), ("mice", {"tol": "big"}),
    ("missforest", {"n_estimators": 0}), ("missforest", {"n_estimators": 2.0}),
    ("missforest", {"max_iter": True}), ("mice", {"random_state": "seed"}),
])
def test_bad_parameters(name, params):
    _, hidden = _gaussian(n=50)
    with pytest.raises(ImputebenchError):
        get_imputer(name, **params).fit(hidden)
