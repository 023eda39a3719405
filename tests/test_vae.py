"""The ``vae`` imputer: every prior through the contract, known answers on a Gaussian table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from imputebench.datasets.errors import ImputebenchError  # noqa: E402
from imputebench.imputers import get_imputer  # noqa: E402
from imputebench.imputers._torch import cuda_available  # noqa: E402
from imputebench.imputers.checks import run_checks  # noqa: E402
from imputebench.imputers.vae import PRIOR_NAMES  # noqa: E402

RHO = 0.8


FIT = {"latent_dim": 2, "hidden": 32, "epochs": 60, "batch_size": 128, "patience": 10,
       "k_impute": 50, "device": "cpu", "random_state": 0}


@pytest.mark.parametrize("prior", PRIOR_NAMES)
def test_every_prior_passes_the_contract(prior):
    imp = get_imputer("vae", prior=prior, **get_imputer("vae").fast_params)
    failures = [(c, e) for c, e in run_checks(imp) if e is not None]
    assert failures == []


@pytest.fixture(scope="module")
def fitted(gaussian_table):
    df, hidden, hide_y, hide_g = gaussian_table()
    imp = get_imputer("vae", **FIT).fit(hidden)
    return df, hidden, hide_y, hide_g, imp


def test_transform_approaches_the_conditional_mean(fitted):
    df, hidden, hide_y, hide_g, imp = fitted
    out = imp.transform(hidden)
    err = out.loc[hide_y, "y"] - RHO * df.loc[hide_y, "x"]
    oracle = np.sqrt(np.mean((RHO * df.loc[hide_y, "x"] - df.loc[hide_y, "y"]) ** 2))
    rmse = np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2))
    assert np.sqrt(np.mean(err**2)) < 0.25       # near E[y | x] = 0.8 x
    assert rmse < oracle + 0.1 < 0.85           # mean imputation would score about 1.0
    acc = np.mean(out.loc[hide_g, "g"].to_numpy() == df.loc[hide_g, "g"].to_numpy())
    assert acc > 0.85                            # g is the sign of x


def test_draws_have_the_conditional_spread(fitted):
    df, hidden, hide_y, _, imp = fitted
    draws = imp.sample(hidden, 20, random_state=1)
    d = np.stack([dr.loc[hide_y, "y"].to_numpy() for dr in draws])
    resid = (d - RHO * df.loc[hide_y, "x"].to_numpy()) / math.sqrt(1 - RHO**2)
    assert abs(resid.mean()) < 0.25
    assert 0.7 < resid.std() < 1.35
    assert not np.array_equal(d[0], d[1])
    again = imp.sample(hidden, 20, random_state=1)
    assert all(a.equals(b) for a, b in zip(draws, again, strict=True))


def test_training_is_seeded_and_stops_early(fitted):
    df, hidden, _, _, imp = fitted
    twin = get_imputer("vae", **FIT).fit(hidden)
    pd.testing.assert_frame_equal(twin.transform(hidden), imp.transform(hidden))
    h = imp.history_
    assert h["epochs_run"] <= FIT["epochs"] and 0 <= h["best_epoch"] < h["epochs_run"]
    assert len(h["val_score"]) == h["epochs_run"]
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_both_early_stopping_scores_train(fitted):
    df, hidden, hide_y, _, imp = fitted
    assert all(np.isfinite(imp.history_["val_score"]))
    # the default score is the held-out imputation error: below mean imputation's (about 1)
    assert min(imp.history_["val_score"]) < 0.8
    ll = get_imputer("vae", **{**FIT, "epochs": 5, "early_stopping": "loglik"}).fit(hidden)
    assert len(ll.history_["val_score"]) == 5 and all(np.isfinite(ll.history_["val_score"]))


def test_bad_parameters_are_refused(gaussian_table):
    df, hidden, _, _ = gaussian_table(100)
    for params in ({"prior": "laplace"}, {"latent_dim": 0}, {"epochs": 1.5}, {"lr": -1},
                   {"val_share": 0.9}, {"early_stopping": "auc"}, {"device": "tpu"}):
        with pytest.raises(ImputebenchError):
            get_imputer("vae", **params).fit(hidden)
    if not cuda_available():
        with pytest.raises(ImputebenchError, match="no CUDA"):
            get_imputer("vae", device="cuda", epochs=1).fit(hidden)


@pytest.mark.gpu
@pytest.mark.parametrize("prior", PRIOR_NAMES)
def test_every_prior_trains_and_imputes_on_the_gpu(prior, gaussian_table):
    df, hidden, hide_y, _ = gaussian_table()
    imp = get_imputer("vae", prior=prior, **{**FIT, "device": "cuda"}).fit(hidden)
    assert imp.device_.startswith("cuda")
    out = imp.transform(hidden)
    rmse = np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2))
    assert rmse < 0.85


def test_diagnostics_measure_collapse_and_the_hole(fitted):
    _, _, _, _, imp = fitted
    d = imp.diagnostics_
    assert len(d["kl_per_dim"]) == FIT["latent_dim"]
    assert 1 <= d["active_units"] <= FIT["latent_dim"]
    # standard prior: the Monte-Carlo KL estimates the analytic sum over dimensions
    assert d["kl_total"] == pytest.approx(sum(d["kl_per_dim"]), rel=0.15)
    assert np.isfinite([d["hole"], d["prior_logp_at_means"], d["prior_logp_at_samples"]]).all()
    assert d["hole"] <= 0.5  # the prior's samples are never far likelier under q_agg


def test_the_journal_records_the_diagnostics(tmp_path):
    from imputebench.benchmarks.config import parse_config
    from imputebench.benchmarks.journal import Journal
    from imputebench.benchmarks.runner import run_benchmark

    params = {**get_imputer("vae").fast_params, "prior": "vamp"}
    cfg = parse_config({"name": "t", "repetitions": 1, "metrics": ["rmse_minmax"],
                        "datasets": [{"name": "iris"}],
                        "masks": [{"mechanism": "mcar", "rate": 0.2}],
                        "imputers": [{"name": "vae", "params": params}]})
    run_benchmark(cfg, tmp_path / "j.jsonl", executor="inprocess", progress=False)
    (rec,) = Journal(tmp_path / "j.jsonl").records()
    assert rec["status"] == "ok", rec.get("reason")
    assert rec["diagnostics"]["prior"] == "vamp"
    assert len(rec["diagnostics"]["kl_per_dim"]) == params["latent_dim"]
    assert rec["device"] == "cpu"



def test_new_rows_from_the_prior_keep_the_dependence(fitted, check_new_rows):
    df, _, _, _, imp = fitted
    check_new_rows(imp, df)
