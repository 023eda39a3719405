"""``tabddpm``: the contract with tiny budgets, and imputation that uses the other columns."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from imputebench.datasets.errors import ImputebenchError  # noqa: E402
from imputebench.imputers import get_imputer  # noqa: E402
from imputebench.imputers.checks import run_checks  # noqa: E402

RHO = 0.8


FIT = {"widths": (64, 64), "n_steps": 50, "train_steps": 1500, "batch_size": 256,
       "lr": 2e-3, "jump": 5, "resample": 3, "n_draws_impute": 8, "device": "cpu",
       "random_state": 0}


def test_contract_with_fast_params():
    imp = get_imputer("tabddpm", **get_imputer("tabddpm").fast_params)
    assert [(c, e) for c, e in run_checks(imp) if e is not None] == []


@pytest.fixture(scope="module")
def fitted(gaussian_table):
    df, hidden, hide_y, hide_g = gaussian_table()
    return df, hidden, hide_y, hide_g, get_imputer("tabddpm", **FIT).fit(hidden)


def test_imputes_from_the_observed_columns(fitted):
    df, hidden, hide_y, hide_g, imp = fitted
    out = imp.transform(hidden)
    rmse = np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2))
    assert rmse < 0.8                              # mean imputation about 1.0; oracle 0.6
    acc = np.mean(out.loc[hide_g, "g"].to_numpy() == df.loc[hide_g, "g"].to_numpy())
    assert acc > 0.8                               # g is the sign of x
    h = imp.history_
    assert h["steps"] == FIT["train_steps"] and h["loss"][-1] < h["loss"][0]


def test_draws_spread_like_the_conditional(fitted):
    df, hidden, hide_y, _, imp = fitted
    draws = imp.sample(hidden, 6, random_state=1)
    d = np.stack([dr.loc[hide_y, "y"].to_numpy() for dr in draws])
    assert 0.3 < np.median(d.std(axis=0)) < 1.0    # conditional sd 0.6
    again = imp.sample(hidden, 6, random_state=1)
    assert all(a.equals(b) for a, b in zip(draws, again, strict=True))


def test_new_rows_keep_the_dependence(fitted):
    df, _, _, _, imp = fitted
    rows = imp.sample_rows(1500, random_state=0)
    assert rows.shape == df.shape and not rows.isna().any().any()
    from scipy.stats import spearmanr

    assert spearmanr(rows["x"], rows["y"]).statistic > 0.6          # data: 0.79
    agree = np.mean((rows["x"] > 0).to_numpy() == (rows["g"] == "pos").to_numpy())
    assert agree > 0.75                                             # data: 1
    q = np.quantile(rows["x"], [0.25, 0.5, 0.75])
    assert abs(q[1]) < 0.25 and 0.9 < q[2] - q[0] < 1.8              # N(0, 1): 0, 1.35


def test_bad_parameters_are_refused(gaussian_table):
    _, hidden, _, _ = gaussian_table(100)
    for params in ({"widths": []}, {"n_steps": 0}, {"train_steps": 1.5}, {"lr": 0},
                   {"jump": 0}, {"device": "tpu"}, {"cat_input": "logits"}, {"clip_x0": 1}):
        with pytest.raises(ImputebenchError):
            get_imputer("tabddpm", **params).fit(hidden)


@pytest.mark.gpu
def test_trains_and_imputes_on_the_gpu(gaussian_table):
    df, hidden, hide_y, _ = gaussian_table()
    imp = get_imputer("tabddpm", **{**FIT, "device": "cuda"}).fit(hidden)
    assert imp.device_.startswith("cuda")
    out = imp.transform(hidden)
    assert np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2)) < 0.8
