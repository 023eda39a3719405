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
                   {"jump": 0}, {"device": "tpu"}, {"cat_input": "logits"}, {"clip_x0": 1},
                   {"compile": "fast"}):
        with pytest.raises(ImputebenchError):
            get_imputer("tabddpm", **params).fit(hidden)


def test_the_loss_split_from_its_random_numbers_is_the_same_loss():
    """``loss`` = ``loss_from(draws(...))`` with the generator in the same state: the split
    that lets the step be compiled changes no number."""
    from imputebench.imputers._ddpm_model import TabDiffusion

    model = TabDiffusion(2, (3, 2), (16, 16), 10, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(32, 2, generator=gen)
    codes = torch.stack([torch.randint(0, 3, (32,), generator=gen),
                         torch.randint(0, 2, (32,), generator=gen)], dim=1)
    m_num = (torch.rand(32, 2, generator=gen) > 0.3).float()
    m_cat = (torch.rand(32, 2, generator=gen) > 0.3).float()
    a = model.loss(x, m_num, codes, m_cat, torch.Generator().manual_seed(5))
    draws = model.draws(32, x.device, torch.Generator().manual_seed(5))
    b = model.loss_from(x, m_num, codes, m_cat, *draws)
    assert torch.equal(a, b)
    other = model.loss(x, m_num, codes, m_cat, torch.Generator().manual_seed(6))
    assert not torch.equal(a, other)


@pytest.mark.slow
def test_the_compiled_step_trains_like_the_eager_one(gaussian_table):
    """compile="default" (torch.compile of the loss and its backward; CPU inductor here)
    follows the eager loss curve to float precision and imputes the same way."""
    _, hidden, hide_y, _ = gaussian_table(300)
    fit = {**FIT, "widths": (32, 32), "train_steps": 60, "n_steps": 10, "batch_size": 64,
           "n_draws_impute": 2, "jump": 2, "resample": 2}
    eager = get_imputer("tabddpm", **fit).fit(hidden)
    compiled = get_imputer("tabddpm", **fit, compile="default").fit(hidden)
    np.testing.assert_allclose(compiled.history_["loss"], eager.history_["loss"], rtol=1e-4)
    a = eager.transform(hidden).loc[hide_y, "y"].to_numpy()
    b = compiled.transform(hidden).loc[hide_y, "y"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


@pytest.mark.gpu
def test_the_step_captured_in_cuda_graphs_trains(gaussian_table):
    df, hidden, hide_y, _ = gaussian_table()
    imp = get_imputer("tabddpm", **{**FIT, "device": "cuda", "compile": "reduce-overhead"})
    imp.fit(hidden)
    out = imp.transform(hidden)
    assert np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2)) < 0.8


@pytest.mark.gpu
def test_trains_and_imputes_on_the_gpu(gaussian_table):
    df, hidden, hide_y, _ = gaussian_table()
    imp = get_imputer("tabddpm", **{**FIT, "device": "cuda"}).fit(hidden)
    assert imp.device_.startswith("cuda")
    out = imp.transform(hidden)
    assert np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2)) < 0.8
