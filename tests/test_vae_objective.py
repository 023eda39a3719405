"""``vae``'s objective options: beta (beta-VAE), column weights (weighted ELBO), the triplet term
(Ishfaq, Hoogi & Rubin 2018) and its mining rules; the latent picture in the diagnostics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from imputebench.datasets import MaskSpec, load_dataset, make_mask  # noqa: E402
from imputebench.datasets.errors import ImputebenchError  # noqa: E402
from imputebench.imputers import _vae_triplet as tri  # noqa: E402
from imputebench.imputers import get_imputer  # noqa: E402
from imputebench.imputers._vae_core import Batch, Layout, TabularVAE  # noqa: E402
from imputebench.imputers.checks import run_checks  # noqa: E402

LOG_2PI = math.log(2 * math.pi)


def _model_and_batch(seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    layout = Layout(3, (2, 4))
    model = TabularVAE(layout, 2, 16, 1, "standard", generator=g)
    x = torch.randn(n, 3, generator=g)
    m_num = (torch.rand(n, 3, generator=g) > 0.3).float()
    codes = torch.stack([torch.randint(2, (n,), generator=g),
                         torch.randint(4, (n,), generator=g)], 1)
    m_cat = (torch.rand(n, 2, generator=g) > 0.3).float()
    return model, Batch(x * m_num, m_num, codes * m_cat.long(), m_cat)


def _hand_elbo(model, b, seed, beta=1.0, w_num=None, w_cat=None):
    """-ELBO by hand (k = 1): the same noise, per-cell terms summed explicitly."""
    g = torch.Generator().manual_seed(seed)
    mu, logvar = model.encode(model.inputs(b))
    eps = torch.randn((1,) + mu.shape, generator=g)
    z = (mu + torch.exp(0.5 * logvar) * eps)[0]
    out = model.decoder(z)
    n = model.layout.n_num
    m, ls = out[:, :n], out[:, n:2 * n].clamp(-5.0, 3.0)
    ll_num = -0.5 * ((b.x_num - m) / ls.exp()) ** 2 - ls - 0.5 * LOG_2PI
    w_num = torch.ones(n) if w_num is None else w_num
    w_cat = torch.ones(2) if w_cat is None else w_cat
    ll = (ll_num * b.m_num * w_num).sum(1)
    logits = out[:, 2 * n:]
    for j, (lo, hi) in enumerate(((0, 2), (2, 6))):
        lp = torch.log_softmax(logits[:, lo:hi], 1).gather(1, b.codes[:, [j]]).squeeze(1)
        ll = ll + lp * b.m_cat[:, j] * w_cat[j]
    log_p = (-0.5 * z * z - 0.5 * LOG_2PI).sum(1)
    log_q = (-0.5 * eps[0] ** 2 - 0.5 * logvar - 0.5 * LOG_2PI).sum(1)
    return -(ll - beta * (log_q - log_p)).mean()


def test_defaults_are_the_plain_elbo_to_float_precision():
    model, b = _model_and_batch()
    got = model.miwae_loss(b, 1, torch.Generator().manual_seed(7))
    same = model.miwae_loss(b, 1, torch.Generator().manual_seed(7), beta=1.0, weights=None)
    assert torch.equal(got, same)
    want = _hand_elbo(model, b, 7)
    assert got.detach().item() == pytest.approx(want.detach().item(), rel=1e-6, abs=1e-6)


def test_beta_and_column_weights_weigh_their_terms():
    model, b = _model_and_batch(seed=3)
    w_num, w_cat = torch.tensor([0.5, 2.0, 1.0]), torch.tensor([3.0, 0.0])
    got = model.miwae_loss(b, 1, torch.Generator().manual_seed(1), beta=2.5,
                           weights=(w_num, w_cat))
    want = _hand_elbo(model, b, 1, beta=2.5, w_num=w_num, w_cat=w_cat)
    assert got.detach().item() == pytest.approx(want.detach().item(), rel=1e-6)
    ones = model.miwae_loss(b, 1, torch.Generator().manual_seed(1),
                            weights=(torch.ones(3), torch.ones(2)))
    assert ones.detach().item() == pytest.approx(_hand_elbo(model, b, 1).detach().item(), rel=1e-6)


def test_the_imputers_default_step_is_the_plain_bound():
    df = load_dataset("iris")
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    imp = get_imputer("vae", **{**get_imputer("vae").fast_params, "k_train": 1}).fit(hidden)
    model = imp.model_
    num, codes = imp._encode(hidden, np.random.default_rng(0))
    b = imp._batch(num, codes)
    step = imp._step_loss(model, b, torch.Generator().manual_seed(5))
    plain = model.miwae_loss(b, 1, torch.Generator().manual_seed(5))
    assert torch.equal(step, plain)
    assert imp.ll_weights_ is None


def test_triplet_hinge_known_answers():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [3.0, 4.0]])      # |a-p| = 1 and 5
    n = torch.tensor([[3.0, 0.0], [0.0, 2.0]])      # |a-n| = 3 and 2
    got = tri.triplet_hinge(a, p, n, margin=0.5)
    assert got[0].item() == 0.0                     # 1 - 3 + 0.5 < 0: margin satisfied
    assert got[1].item() == pytest.approx(5 - 2 + 0.5)
    assert tri.triplet_hinge(a, p, n, margin=2.0)[0].item() == 0.0   # 1 - 3 + 2 = 0
    assert tri.triplet_hinge(a, p, n, margin=2.5)[0].item() == pytest.approx(0.5)
    z = torch.zeros(1, 2, requires_grad=True)       # coincident points: finite gradient
    tri.triplet_hinge(z, z, z + 1.0, 2.0).sum().backward()
    assert torch.isfinite(z.grad).all()


def test_label_mining_follows_the_rule():
    labels = torch.tensor([0, 0, 1, 1, -1, 2])
    for seed in range(5):
        a, p, n = tri.mine_by_label(labels, torch.Generator().manual_seed(seed))
        assert a.tolist() == [0, 1, 2, 3]     # row 4 has no label, row 5 no same-class row
        assert p.tolist() == [1, 0, 3, 2]     # the only same-class row
        assert (labels[p] == labels[a]).all()
        assert (labels[n] != labels[a]).all() and (labels[n] >= 0).all()
    only_one = torch.tensor([0, 1, 2])              # nobody has a positive
    assert len(tri.mine_by_label(only_one, torch.Generator().manual_seed(0))[0]) == 0


def test_nan_distances_match_scikit_learn_and_count_mismatches():
    from sklearn.metrics.pairwise import nan_euclidean_distances

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4))
    x[rng.random(x.shape) < 0.3] = np.nan
    m = ~np.isnan(x)
    d = tri.nan_distances(torch.as_tensor(np.nan_to_num(x)),
                          torch.as_tensor(m, dtype=torch.float64),
                          torch.zeros(12, 0, dtype=torch.long), torch.zeros(12, 0), ())
    want = nan_euclidean_distances(x)
    shared = m.astype(float) @ m.T.astype(float)
    ok = (shared > 0) & ~np.eye(12, dtype=bool)
    assert np.allclose(d.numpy()[ok], want[ok], atol=1e-4)
    assert np.isinf(d.numpy()[~ok]).all()
    # one numeric and one categorical column: rows (0, a), (3, b), (missing, a)
    xn = torch.tensor([[0.0], [3.0], [0.0]])
    mn = torch.tensor([[1.0], [1.0], [0.0]])
    codes = torch.tensor([[0], [1], [0]])
    mc = torch.ones(3, 1)
    d = tri.nan_distances(xn, mn, codes, mc, (2,))
    assert d[0, 1].item() == pytest.approx(math.sqrt(9 + 1))
    assert d[0, 2].item() == pytest.approx(0.0)             # only the category is shared
    assert d[1, 2].item() == pytest.approx(math.sqrt(1 * 2 / 1))


def test_neighbour_mining_takes_the_nearest_and_a_far_row():
    pts = torch.tensor([[0.0], [0.1], [1.0], [5.0], [6.0], [9.0]])
    d = tri.nan_distances(pts, torch.ones(6, 1), torch.zeros(6, 0, dtype=torch.long),
                          torch.zeros(6, 0), ())
    a, p, n = tri.mine_by_neighbours(d, torch.Generator().manual_seed(0))
    assert a.tolist() == list(range(6))
    assert p.tolist() == [1, 0, 1, 4, 3, 4]
    med = torch.nanmedian(torch.where(torch.isfinite(d), d, torch.nan), 1).values
    assert (d[a, n] > med[a]).all()


def test_large_beta_collapses_the_latent():
    df = load_dataset("iris")
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.1), 0))
    base = {"latent_dim": 4, "hidden": 32, "epochs": 80, "batch_size": 32, "val_share": 0.0,
            "k_train": 1, "device": "cpu", "random_state": 0}
    plain = get_imputer("vae", **base).fit(hidden)
    heavy = get_imputer("vae", beta=50.0, **base).fit(hidden)
    assert plain.diagnostics_["active_units"] >= 2
    assert heavy.diagnostics_["active_units"] == 0
    assert max(heavy.diagnostics_["kl_per_dim"]) < 0.05


def _class_separation(imp, hidden):
    """Between-class over within-class variance of the encoded means."""
    num, codes = imp._encode(hidden, np.random.default_rng(0))
    b = imp._batch(num, codes)
    with torch.no_grad():
        mu, _ = imp.model_.encode(imp.model_.inputs(b))
    y = hidden["species"].cat.codes.to_numpy()
    keep = y >= 0
    mu, y = mu.numpy()[keep], y[keep]
    centre = mu.mean(0)
    between = sum((y == c).sum() * ((mu[y == c].mean(0) - centre) ** 2).sum() for c in set(y))
    within = sum(((mu[y == c] - mu[y == c].mean(0)) ** 2).sum() for c in set(y))
    return between / within


def test_label_triplets_pull_classes_apart():
    df = load_dataset("iris", include_target=True)
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    base = {"latent_dim": 2, "hidden": 32, "epochs": 60, "batch_size": 32, "val_share": 0.0,
            "device": "cpu", "random_state": 0}
    off = get_imputer("vae", **base).fit(hidden)
    on = get_imputer("vae", triplet_weight=5.0, triplet_margin=2.0, **base).fit(hidden)
    assert on.triplet_rule_ == "label" and on.label_column_ == "species"
    assert _class_separation(on, hidden) > 1.5 * _class_separation(off, hidden)


def test_mining_rules_resolve_and_refuse_clearly():
    df = load_dataset("iris")
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    fast = get_imputer("vae").fast_params
    auto = get_imputer("vae", triplet_weight=1.0, **fast).fit(hidden)
    assert auto.triplet_rule_ == "neighbours"          # no target in the table
    with pytest.raises(ImputebenchError, match="include_target"):
        get_imputer("vae", triplet_weight=1.0, triplet_mining="label", **fast).fit(hidden)
    diab = load_dataset("diabetes", include_target=True)
    with pytest.raises(ImputebenchError, match="numeric"):
        get_imputer("vae", triplet_mining="label", triplet_weight=1.0, **fast).fit(diab)


@pytest.mark.parametrize("bad, match", [
    ({"beta": 0.0}, "beta"), ({"beta": -1}, "beta"), ({"beta": float("nan")}, "beta"),
    ({"triplet_weight": -0.1}, "triplet_weight"), ({"triplet_margin": "1"}, "triplet_margin"),
    ({"triplet_mining": "class"}, "triplet_mining"), ({"column_weights": [1, 2]}, "column_weights"),
    ({"column_weights": {"nope": 1.0}}, "unknown column"),
    ({"column_weights": {"sepal length (cm)": -1.0}}, ">= 0"),
])
def test_bad_options_are_refused(bad, match):
    df = load_dataset("iris")
    with pytest.raises(ImputebenchError, match=match):
        get_imputer("vae", **{**get_imputer("vae").fast_params, **bad}).fit(df)


def test_balanced_weights_follow_the_stated_rule():
    df = load_dataset("penguins", include_target=True)
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    imp = get_imputer("vae", column_weights="balanced",
                      **get_imputer("vae").fast_params).fit(hidden)
    w_num, w_cat = (w.numpy() for w in imp.ll_weights_)
    raw = np.concatenate([np.full(len(imp.num_cols_), 1 / (0.5 * np.log(2 * np.pi * np.e))),
                          [1 / np.log(len(c)) for c in imp.categories_]])
    assert np.allclose(np.concatenate([w_num, w_cat]), raw / raw.mean(), rtol=1e-6)
    assert np.concatenate([w_num, w_cat]).mean() == pytest.approx(1.0)
    picked = get_imputer("vae", column_weights={"island": 0.0},
                         **get_imputer("vae").fast_params).fit(hidden)
    w_cat = picked.ll_weights_[1].numpy()
    assert w_cat[picked.cat_cols_.index("island")] == 0.0
    assert (np.delete(w_cat, picked.cat_cols_.index("island")) == 1.0).all()


@pytest.mark.parametrize("options", [
    {"triplet_weight": 1.0, "beta": 2.0, "column_weights": "balanced"},
    {"triplet_weight": 0.5, "triplet_mining": "neighbours", "triplet_margin": 0.5, "beta": 0.5},
])
def test_contract_with_the_objective_options(options):
    imp = get_imputer("vae", **{**get_imputer("vae").fast_params, **options})
    failures = [(c, e) for c, e in run_checks(imp) if e is not None]
    assert failures == []


def test_latent_map_is_the_exact_prior_density_in_two_dimensions():
    df = load_dataset("iris", include_target=True)
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    imp = get_imputer("vae", **{**get_imputer("vae").fast_params, "latent_dim": 2}).fit(hidden)
    pic = imp.diagnostics_["latent_map"]
    assert pic["projection"] == "identity" and pic["density"] == "exact"
    gx, gy, logp = np.array(pic["grid_x"]), np.array(pic["grid_y"]), np.array(pic["log_density"])
    assert logp.shape == (len(gy), len(gx)) == (40, 40)
    want = -0.5 * (gx[None, :] ** 2 + gy[:, None] ** 2) - math.log(2 * math.pi)
    want = np.maximum(want, want.max() - 30)
    assert np.allclose(logp, want, atol=0.02)
    assert len(pic["points"]) == len(pic["labels"]) == 150
    assert set(pic["labels"]) <= {"setosa", "versicolor", "virginica", None}
    assert pic["label_column"] == "species"


def test_latent_map_projects_wider_latents_on_principal_axes():
    df = load_dataset("wine")
    imp = get_imputer("vae", **{**get_imputer("vae").fast_params, "latent_dim": 5}).fit(df)
    pic = imp.diagnostics_["latent_map"]
    assert pic["projection"] == "pca" and pic["density"] == "kde"
    assert 0 < pic["explained"] <= 1 and pic["labels"] is None
    pts = np.array(pic["points"])
    assert pts.shape == (len(df), 2)
    assert abs(pts.mean(0)).max() < 0.05 * max(pts.std(0).max(), 1e-3) + 1e-3   # centred
    one = get_imputer("vae", **{**get_imputer("vae").fast_params, "latent_dim": 1}).fit(df)
    assert one.diagnostics_["latent_map"] is None
    assert isinstance(pd.Series(one.diagnostics_["kl_per_dim"]).iloc[0], float)
