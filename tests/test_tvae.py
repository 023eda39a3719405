"""``tvae``: mode-specific normalisation, CTGAN's loss on observed cells, imputation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from imputebench.datasets.errors import ImputebenchError  # noqa: E402
from imputebench.imputers import get_imputer  # noqa: E402
from imputebench.imputers._mode_norm import ModeNormalizer  # noqa: E402
from imputebench.imputers._tvae_core import TVAEModel  # noqa: E402
from imputebench.imputers._vae_core import Batch, Layout  # noqa: E402
from imputebench.imputers.checks import run_checks  # noqa: E402

RHO = 0.8


def test_contract_with_fast_params():
    imp = get_imputer("tvae", **get_imputer("tvae").fast_params)
    assert [(c, e) for c, e in run_checks(imp) if e is not None] == []


# ---------------------------------------------------------------- mode-specific normalisation
def _bimodal(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    left = rng.random(n) < 0.3
    return np.where(left, rng.normal(-10, 1.0, n), rng.normal(10, 0.5, n)), left


def test_mode_normalizer_finds_the_two_modes():
    x, _ = _bimodal()
    m = ModeNormalizer(random_state=0).fit(x)
    assert m.n_modes == 2
    order = np.argsort(m.means_)
    np.testing.assert_allclose(m.means_[order], [-10, 10], atol=0.1)
    # the covariance prior (the data variance, ~100) widens the posterior sds a little
    np.testing.assert_allclose(m.stds_[order], [1.0, 0.5], rtol=0.2)


def test_mode_normalizer_round_trips_and_keeps_missing():
    x, left = _bimodal()
    x[:5] = np.nan
    m = ModeNormalizer(random_state=0).fit(x)
    alpha, mode = m.transform(x, np.random.default_rng(1))
    assert np.isnan(alpha[:5]).all() and (mode[:5] == -1).all()
    obs = ~np.isnan(x)
    assert (np.abs(alpha[obs]) <= 0.99).all()
    # values far from the other mode get their own mode, and the inverse gives them back
    near = m.means_[mode[obs]]
    assert np.mean(np.abs(near - x[obs]) < 5) > 0.999
    inside = obs.copy()
    inside[obs] = np.abs(alpha[obs]) < 0.99
    np.testing.assert_allclose(m.inverse(alpha[inside], mode[inside]), x[inside], atol=1e-9)


def test_diag_fit_is_rdts_full_covariance_fit():
    from sklearn.mixture import BayesianGaussianMixture

    x, _ = _bimodal(1500)
    m = ModeNormalizer(random_state=3).fit(x)
    full = BayesianGaussianMixture(n_components=10, weight_concentration_prior_type=
                                   "dirichlet_process", weight_concentration_prior=0.001,
                                   n_init=1, random_state=3).fit(x[:, None])
    np.testing.assert_allclose(m.gm_.weights_, full.weights_, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(m.gm_.means_[:, 0], full.means_[:, 0], rtol=1e-7)
    valid = full.weights_ > 0.005
    np.testing.assert_allclose(m.stds_, np.sqrt(full.covariances_[valid, 0, 0]), rtol=1e-7)


def test_fit_columns_in_threads_equals_one_by_one():
    from imputebench.imputers._mode_norm import fit_columns

    cols = [_bimodal(800, s)[0] for s in range(3)]
    a = fit_columns(cols, 10, 0.005, [0, 1, 2], n_jobs=1)
    b = fit_columns(cols, 10, 0.005, [0, 1, 2], n_jobs=3)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u.means_, v.means_)


def test_mode_normalizer_refuses_an_empty_column():
    with pytest.raises(ImputebenchError, match="no observed value"):
        ModeNormalizer().fit(np.array([np.nan, np.nan]))


# ---------------------------------------------------------------- the loss
def _tiny_model(seed=0):
    layout = Layout(2, (2, 3, 4), mode_blocks=2)          # 2 numeric (2 and 3 modes), 1 cat
    means = torch.tensor([[0.0, 5.0, 0.0], [1.0, 2.0, 3.0]])
    stds = torch.tensor([[1.0, 2.0, 1.0], [0.5, 0.5, 0.5]])
    g = torch.Generator().manual_seed(seed)
    return TVAEModel(layout, means, stds, latent_dim=3, compress=(8,), decompress=(8, 8),
                     generator=g)


def _tiny_batch(m_num=None, m_cat=None):
    x = torch.tensor([[0.3, -0.5], [0.9, 0.1], [-0.2, 0.7]])
    codes = torch.tensor([[0, 2, 1], [1, 0, 3], [1, 1, 0]])
    m_num = torch.ones(3, 2) if m_num is None else m_num
    m_cat = torch.ones(3, 3) if m_cat is None else m_cat
    return Batch(x * m_num, m_num, codes * m_cat.long(), m_cat)


def test_loss_is_ctgans_on_complete_rows():
    model = _tiny_model()
    b = _tiny_batch()
    loss = model.tvae_loss(b, torch.Generator().manual_seed(3), loss_factor=2.0).detach()
    # CTGAN's loss_function written out, with the same z
    mu, logvar = model.encode(model.inputs(b))
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(3))
    out = model.decoder(mu + torch.exp(0.5 * logvar) * eps)
    sigma = model.sigma
    rec = ((b.x_num - torch.tanh(out[:, :2])) ** 2 / 2 / sigma**2).sum() \
        + torch.log(sigma).sum() * 3
    spans = [(2, 4), (4, 7), (7, 11)]
    for j, (s, e) in enumerate(spans):
        rec = rec + torch.nn.functional.cross_entropy(out[:, s:e], b.codes[:, j],
                                                      reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
    ctgan = (rec * 2.0 + kld) / 3
    # ours keeps the Gaussian's 0.5 log(2 pi) per numeric cell: a constant
    assert float(loss) == pytest.approx(float(ctgan) + 2.0 * 0.5 * math.log(2 * math.pi) * 2,
                                        rel=1e-5)


def test_loss_ignores_missing_cells():
    model = _tiny_model()
    m_num = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    m_cat = torch.cat([m_num, torch.tensor([[1.0], [0.0], [1.0]])], dim=1)
    b = _tiny_batch(m_num, m_cat)
    assert (b.x_num[m_num == 0] == 0).all()
    other = Batch(b.x_num + 5 * (1 - m_num), m_num,
                  (b.codes + 1) % 2 * (1 - m_cat.long()) + b.codes * m_cat.long(), m_cat)
    l1 = model.tvae_loss(b, torch.Generator().manual_seed(0)).detach()
    l2 = model.tvae_loss(other, torch.Generator().manual_seed(0)).detach()
    assert float(l1) == float(l2)


def test_expected_decodes_through_the_modes():
    model = _tiny_model()
    b = _tiny_batch()
    num, probs = model.expected(b, 7, torch.Generator().manual_seed(0))
    w, (mu, _, logp) = model.posterior(b, 7, torch.Generator().manual_seed(0))
    p0 = logp[..., 0, :2].exp()                 # column 0's two modes
    by_hand = (w * (4 * mu[..., 0] * (p0 * model.mode_stds[0, :2]).sum(-1)
                    + (p0 * model.mode_means[0, :2]).sum(-1))).sum(0)
    torch.testing.assert_close(num[:, 0], by_hand)
    assert probs.shape == (3, 1, 4)                 # the one categorical column, padded to 4
    torch.testing.assert_close(probs.sum(-1), torch.ones(3, 1))


# ---------------------------------------------------------------- on data
FIT = {"embedding_dim": 8, "compress_dims": (64, 64), "decompress_dims": (64, 64),
       "epochs": 60, "batch_size": 100, "patience": 10, "k_impute": 50, "device": "cpu",
       "random_state": 0}


@pytest.fixture(scope="module")
def fitted(gaussian_table):
    df, hidden, hide_y, hide_g = gaussian_table()
    return df, hidden, hide_y, hide_g, get_imputer("tvae", **FIT).fit(hidden)


def test_imputes_near_the_conditional_mean(fitted):
    df, hidden, hide_y, hide_g, imp = fitted
    out = imp.transform(hidden)
    rmse = np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2))
    assert rmse < 0.8                              # mean imputation scores about 1.0; oracle 0.6
    acc = np.mean(out.loc[hide_g, "g"].to_numpy() == df.loc[hide_g, "g"].to_numpy())
    assert acc > 0.8                               # g is the sign of x


def test_draws_spread_and_are_seeded(fitted):
    df, hidden, hide_y, _, imp = fitted
    draws = imp.sample(hidden, 10, random_state=1)
    d = np.stack([dr.loc[hide_y, "y"].to_numpy() for dr in draws])
    assert 0.3 < d.std(axis=0).mean() < 1.2        # conditional sd is 0.6
    assert all(a.equals(b) for a, b in zip(draws, imp.sample(hidden, 10, random_state=1),
                                           strict=True))


def test_training_clamps_sigma_and_is_seeded(fitted):
    _, hidden, _, _, imp = fitted
    s = imp.model_.sigma.detach()
    assert ((s >= 0.01) & (s <= 1.0)).all()
    twin = get_imputer("tvae", **FIT).fit(hidden)
    pd.testing.assert_frame_equal(twin.transform(hidden), imp.transform(hidden))
    assert imp.diagnostics_["prior"] == "standard" and imp.diagnostics_["active_units"] >= 1


def test_without_validation_every_epoch_runs(gaussian_table):
    _, hidden, _, _ = gaussian_table(200)
    imp = get_imputer("tvae", **{**get_imputer("tvae").fast_params, "epochs": 4,
                                 "val_share": 0.0}).fit(hidden)
    assert imp.history_["epochs_run"] == 4 and imp.history_["val_score"] == []


def test_bad_parameters_are_refused(gaussian_table):
    _, hidden, _, _ = gaussian_table(100)
    for params in ({"compress_dims": []}, {"decompress_dims": (0,)}, {"embedding_dim": 0},
                   {"loss_factor": -1}, {"max_clusters": 0}, {"device": "tpu"}):
        with pytest.raises(ImputebenchError):
            get_imputer("tvae", **params).fit(hidden)


@pytest.mark.gpu
def test_trains_and_imputes_on_the_gpu(gaussian_table):
    df, hidden, hide_y, _ = gaussian_table()
    imp = get_imputer("tvae", **{**FIT, "device": "cuda"}).fit(hidden)
    assert imp.device_.startswith("cuda")
    out = imp.transform(hidden)
    assert np.sqrt(np.mean((out.loc[hide_y, "y"] - df.loc[hide_y, "y"]) ** 2)) < 0.8



def test_new_rows_from_the_prior_keep_the_dependence(fitted, check_new_rows):
    df, _, _, _, imp = fitted
    check_new_rows(imp, df)
