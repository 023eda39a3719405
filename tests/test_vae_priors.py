"""The VAE's latent priors: shapes, seeding, gradients, normalisation, sampling, known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.distributions import (  # noqa: E402
    Categorical,
    Independent,
    MixtureSameFamily,
    Normal,
)

from imputebench.imputers._vae_priors import (  # noqa: E402
    PRIORS,
    FlowPrior,
    GTMPrior,
    GTMVampPrior,
    MoGPrior,
    VampPrior,
    make_prior,
)

IN_DIM = 3
NEEDS_ENCODER = ("vamp", "gtm_vamp")
SIZES = {"n_components": 5, "grid_size": 3, "hidden": 8, "n_flows": 4}


class LinearEncoder(nn.Module):
    """A tiny fixed encoder: q(z | u) = N(u A, diag(exp(u B + c)))."""

    def __init__(self, latent_dim: int, input_dim: int = IN_DIM) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.a = nn.Parameter(torch.randn(input_dim, latent_dim, generator=g, dtype=torch.float64))
        self.b = nn.Parameter(0.2 * torch.randn(input_dim, latent_dim, generator=g,
                                                dtype=torch.float64))
        self.c = nn.Parameter(torch.full((latent_dim,), -0.5, dtype=torch.float64))

    def forward(self, u):
        return u @ self.a, u @ self.b + self.c


def build(name: str, d: int, seed: int = 0, jitter: float = 0.3, **sizes):
    """A float64 prior with every parameter moved off its (often symmetric) initial value."""
    g = torch.Generator().manual_seed(seed)
    prior = make_prior(name, d, IN_DIM, generator=g, **(SIZES | sizes)).double()
    with torch.no_grad():
        for p in prior.parameters():
            p.add_(jitter * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return prior, (LinearEncoder(d) if name in NEEDS_ENCODER else None)


def gen(seed: int):
    return torch.Generator().manual_seed(seed)


def grid_density(prior, enc, d: int):
    """(axis, density on the grid) over a wide box: 1-D [-12, 12], 2-D [-10, 10]^2."""
    axis = torch.linspace(-12, 12, 4801, dtype=torch.float64) if d == 1 else \
        torch.linspace(-10, 10, 401, dtype=torch.float64)
    pts = axis[:, None] if d == 1 else torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        dens = prior.log_prob(pts, enc).exp()
    return axis, dens.reshape((len(axis),) * d)


# ------------------------------------------------------------------ interface, for every prior

@pytest.mark.parametrize("name", PRIORS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_shapes_broadcast_over_leading_dims(name, d):
    prior, enc = build(name, d)
    z = torch.randn(3, 4, d, generator=gen(1), dtype=torch.float64)
    lp = prior.log_prob(z, enc)
    assert lp.shape == (3, 4) and torch.isfinite(lp).all()
    torch.testing.assert_close(lp, prior.log_prob(z.reshape(12, d), enc).reshape(3, 4))
    torch.testing.assert_close(lp[1, 2], prior.log_prob(z[1, 2], enc))  # a single point: ()
    assert prior.sample(7, gen(0), enc).shape == (7, d)
    assert prior.sample(0, gen(0), enc).shape == (0, d)


@pytest.mark.parametrize("name", PRIORS)
def test_seeded_sampling_is_reproducible_and_leaves_global_rng_alone(name):
    prior, enc = build(name, 2)
    state = torch.get_rng_state()
    a, b = prior.sample(50, gen(3), enc), prior.sample(50, gen(3), enc)
    c = prior.sample(50, gen(4), enc)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("name", PRIORS)
def test_seeded_init_is_reproducible_and_leaves_global_rng_alone(name):
    state = torch.get_rng_state()
    one = make_prior(name, 2, IN_DIM, generator=gen(5), **SIZES).state_dict()
    two = make_prior(name, 2, IN_DIM, generator=gen(5), **SIZES).state_dict()
    other = make_prior(name, 2, IN_DIM, generator=gen(6), **SIZES).state_dict()
    assert torch.equal(state, torch.get_rng_state())
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)
    if name not in ("standard", "flow"):  # flow's 1-D layers aside, these draw initial values
        assert any(not torch.equal(one[k], other[k]) for k in one)


@pytest.mark.parametrize("name", PRIORS)
@pytest.mark.parametrize("d", [1, 2])
def test_gradients_reach_z_the_parameters_and_the_encoder(name, d):
    prior, enc = build(name, d)
    z = torch.randn(6, d, generator=gen(2), dtype=torch.float64, requires_grad=True)
    prior.log_prob(z, enc).sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    params = list(prior.named_parameters()) + (list(enc.named_parameters()) if enc else [])
    assert params or name == "standard"
    for pname, p in params:
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", PRIORS)
def test_describe_is_one_line_with_a_citation(name):
    prior, _ = build(name, 2)
    text = prior.describe()
    assert text.startswith(f"{name}:") and "\n" not in text
    assert any(year in text for year in ("1998", "2014", "2017", "2018", "2022"))


# ------------------------------------------------------------------ the density is a density

@pytest.mark.parametrize("name", PRIORS)
@pytest.mark.parametrize("d", [1, 2])
def test_density_integrates_to_one(name, d):
    prior, enc = build(name, d)
    axis, dens = grid_density(prior, enc, d)
    total = torch.trapezoid(dens, axis) if d == 1 else \
        torch.trapezoid(torch.trapezoid(dens, axis, dim=1), axis)
    assert abs(total.item() - 1.0) < 2e-3


@pytest.mark.parametrize("name", PRIORS)
def test_samples_follow_the_density_1d(name):
    """Kolmogorov-Smirnov of 4000 draws against the CDF of exp(log_prob) (integrated on a grid)."""
    prior, enc = build(name, 1)
    axis, dens = grid_density(prior, enc, 1)
    cdf = torch.cat([torch.zeros(1, dtype=dens.dtype),
                     torch.cumulative_trapezoid(dens, axis)]).numpy()
    draws = prior.sample(4000, gen(11), enc).squeeze(1).detach().numpy()
    assert stats.kstest(draws, lambda x: np.interp(x, axis.numpy(), cdf)).pvalue > 1e-3
    # the same test sees a draw from the wrong law (scaled by 1.15)
    assert stats.kstest(1.15 * draws, lambda x: np.interp(x, axis.numpy(), cdf)).pvalue < 1e-3


@pytest.mark.parametrize("name", PRIORS)
def test_samples_follow_the_density_2d(name):
    """Monte-Carlo E[z], E[z^2] and E[log p(z)] over draws against grid integrals of p."""
    prior, enc = build(name, 2)
    axis, dens = grid_density(prior, enc, 2)
    w = dens / dens.sum()  # Riemann weights on the uniform grid
    zz = torch.cartesian_prod(axis, axis).reshape(len(axis), len(axis), 2)
    logp = torch.log(dens.clamp_min(1e-300))
    exact = [(w[..., None] * zz).sum((0, 1)), (w[..., None] * zz**2).sum((0, 1)),
             (w * logp).sum().reshape(1)]
    draws = prior.sample(4000, gen(12), enc).detach()
    with torch.no_grad():
        lp = prior.log_prob(draws, enc)
    for target, values in zip(exact, [draws, draws**2, lp[:, None]], strict=True):
        se = values.std(0) / np.sqrt(len(values))
        assert ((values.mean(0) - target).abs() < 5 * se + 1e-3).all(), (values.mean(0), target)


# ------------------------------------------------------------------ known answers

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_standard_equals_torch_normal_exactly(dtype):
    prior = make_prior("standard", 3, IN_DIM).to(dtype)
    z = torch.randn(5, 4, 3, generator=gen(0), dtype=dtype) * 3
    assert torch.equal(prior.log_prob(z), Normal(torch.zeros((), dtype=dtype),
                                                 torch.ones((), dtype=dtype)).log_prob(z).sum(-1))
    assert prior.sample(4, gen(0)).dtype == dtype


def _torch_mixture(mu, logvar, logits=None):
    logits = torch.zeros(mu.shape[0], dtype=mu.dtype) if logits is None else logits
    sd = torch.exp(0.5 * logvar).expand_as(mu)
    return MixtureSameFamily(Categorical(logits=logits), Independent(Normal(mu, sd), 1))


@pytest.mark.parametrize("name", ["mog", "vamp", "gtm", "gtm_vamp"])
def test_mixtures_equal_torch_distributions(name):
    prior, enc = build(name, 2)
    z = torch.randn(4, 6, 2, generator=gen(1), dtype=torch.float64) * 2
    if name == "mog":
        ref = _torch_mixture(prior.means, prior.logvars, prior.logits)
    elif name == "gtm":
        ref = _torch_mixture(prior.means(), prior.logvar)
    else:
        ref = _torch_mixture(*enc(prior.pseudo_inputs()))
    torch.testing.assert_close(prior.log_prob(z, enc), ref.log_prob(z), rtol=1e-10, atol=1e-10)


def test_mog_with_one_component_is_a_gaussian():
    prior, _ = build("mog", 2, n_components=1)
    z = torch.randn(10, 2, generator=gen(1), dtype=torch.float64) * 2
    ref = Normal(prior.means[0], torch.exp(0.5 * prior.logvars[0])).log_prob(z).sum(-1)
    torch.testing.assert_close(prior.log_prob(z), ref, rtol=1e-12, atol=1e-12)


def test_vamp_with_one_pseudo_input_is_its_posterior():
    prior, enc = build("vamp", 2, n_components=1)
    mu, logvar = enc(prior.u)
    z = torch.randn(10, 2, generator=gen(1), dtype=torch.float64) * 2
    ref = Normal(mu[0], torch.exp(0.5 * logvar[0])).log_prob(z).sum(-1)
    torch.testing.assert_close(prior.log_prob(z, enc), ref, rtol=1e-12, atol=1e-12)


def test_gtm_with_a_one_point_grid_is_a_gaussian_at_the_mapped_point():
    prior, _ = build("gtm", 2, grid_size=1)
    mean = prior.net(torch.tensor([[-1.0, -1.0]], dtype=torch.float64))[0]
    z = torch.randn(10, 2, generator=gen(1), dtype=torch.float64)
    ref = Normal(mean, torch.exp(0.5 * prior.logvar)).log_prob(z).sum(-1)
    torch.testing.assert_close(prior.log_prob(z), ref, rtol=1e-12, atol=1e-12)


def test_gtm_grid_is_regular_on_the_square():
    prior = GTMPrior(2, grid_size=4, hidden=8)
    side = torch.linspace(-1, 1, 4)
    assert prior.grid.shape == (16, 2)
    assert {tuple(p) for p in prior.grid.tolist()} == {(a, b) for a in side.tolist()
                                                      for b in side.tolist()}
    assert GTMVampPrior(2, IN_DIM, grid_size=4, hidden=8).pseudo_inputs().shape == (16, IN_DIM)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_flow_is_the_change_of_variables_formula(d):
    prior, _ = build("flow", d)
    z = torch.randn(4, d, generator=gen(1), dtype=torch.float64) * 1.5
    x, logdet = prior.transform(z, inverse=True)
    back, fwd_logdet = prior.transform(x)
    torch.testing.assert_close(back, z, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(fwd_logdet, -logdet, rtol=1e-10, atol=1e-10)
    base = Normal(torch.zeros((), dtype=torch.float64), torch.ones((), dtype=torch.float64))
    lp = prior.log_prob(z)
    for i in range(len(z)):
        jac = torch.autograd.functional.jacobian(lambda v: prior.transform(v, inverse=True)[0],
                                                 z[i])
        want = base.log_prob(x[i]).sum() + torch.linalg.slogdet(jac).logabsdet
        torch.testing.assert_close(lp[i], want, rtol=1e-10, atol=1e-10)
    assert isinstance(prior, FlowPrior) and len(prior.layers) == SIZES["n_flows"]


def test_flow_with_one_latent_dimension_is_a_gaussian():
    prior, _ = build("flow", 1)
    x0, logdet = prior.transform(torch.zeros(1, 1, dtype=torch.float64))
    scale = torch.exp(logdet)  # affine layers: f(x) = scale * x + shift
    z = torch.linspace(-4, 4, 9, dtype=torch.float64)[:, None]
    ref = Normal(x0[0, 0], scale[0]).log_prob(z[:, 0])
    torch.testing.assert_close(prior.log_prob(z), ref, rtol=1e-10, atol=1e-10)


def test_mixtures_are_stable_far_out_and_clamp_log_variances():
    prior = MoGPrior(2, n_components=3, generator=gen(0)).double()
    far = torch.full((2, 2), 1e3, dtype=torch.float64)
    assert torch.isfinite(prior.log_prob(far)).all()  # exp underflows; logsumexp does not
    with torch.no_grad():
        prior.logvars.fill_(-50.0)
    tiny = prior.log_prob(far)
    with torch.no_grad():
        prior.logvars.fill_(-8.0)
    torch.testing.assert_close(tiny, prior.log_prob(far))
    assert torch.isfinite(prior.sample(5, gen(1))).all()


# ------------------------------------------------------------------ pseudo-inputs

def test_vamp_init_pseudo_inputs_copies_distinct_rows():
    prior = VampPrior(2, IN_DIM, n_components=4)
    x = torch.arange(30, dtype=torch.float32).reshape(10, IN_DIM)
    prior.init_pseudo_inputs(x, gen(0))
    rows = {tuple(r) for r in x.tolist()}
    got = [tuple(r) for r in prior.u.detach().tolist()]
    assert len(set(got)) == 4 and set(got) <= rows
    again = VampPrior(2, IN_DIM, n_components=4)
    again.init_pseudo_inputs(x, gen(0))
    assert torch.equal(prior.u, again.u)
    few = VampPrior(2, IN_DIM, n_components=4)
    few.init_pseudo_inputs(x[:2], gen(0))  # fewer rows than K: drawn with replacement
    assert {tuple(r) for r in few.u.detach().tolist()} <= {tuple(r) for r in x[:2].tolist()}
    with pytest.raises(ValueError, match="init_pseudo_inputs"):
        prior.init_pseudo_inputs(torch.zeros(5, IN_DIM + 1), gen(0))
    with pytest.raises(ValueError, match="finite"):
        prior.init_pseudo_inputs(torch.full((5, IN_DIM), float("nan")), gen(0))


@pytest.mark.parametrize(("grid_size", "hidden", "tol"), [(3, 16, 0.02), (8, 64, 0.05)])
def test_gtm_vamp_init_pseudo_inputs_maps_the_grid_onto_the_principal_plane(grid_size, hidden,
                                                                            tol):
    prior = GTMVampPrior(2, IN_DIM, grid_size=grid_size, hidden=hidden, generator=gen(0))
    x = torch.randn(400, IN_DIM, generator=gen(1)) * torch.tensor([3.0, 1.0, 0.2])
    x = x @ torch.linalg.qr(torch.randn(IN_DIM, IN_DIM, generator=gen(2)))[0] + 5.0
    state = torch.get_rng_state()
    prior.init_pseudo_inputs(x, gen(3))
    assert torch.equal(state, torch.get_rng_state())
    u = prior.pseudo_inputs().detach().double()
    xd = x.double()
    _, s, vt = torch.linalg.svd(xd - xd.mean(0), full_matrices=False)
    sd = s / np.sqrt(len(xd))  # principal standard deviations: about 3, 1, 0.2
    proj = (u - xd.mean(0)) @ vt.T  # coordinates along the principal directions
    want = np.sqrt(3.0) * prior.grid.double() * sd[:2]  # up to the directions' signs
    scale = want.abs().max()
    assert (proj[:, :2].abs() - want.abs()).abs().max() < tol * scale
    assert proj[:, 2].abs().max() < tol * scale  # on the plane
    with pytest.raises(ValueError, match="finite"):
        prior.init_pseudo_inputs(torch.full((5, IN_DIM), float("inf")))


@pytest.mark.parametrize("name", ["standard", "mog", "flow", "gtm"])
def test_init_pseudo_inputs_is_a_no_op_elsewhere(name):
    prior, _ = build(name, 2)
    before = {k: v.clone() for k, v in prior.state_dict().items()}
    prior.init_pseudo_inputs(torch.randn(20, IN_DIM, dtype=torch.float64), gen(0))
    assert all(torch.equal(before[k], v) for k, v in prior.state_dict().items())


# ------------------------------------------------------------------ errors

def test_unknown_prior_name_lists_the_choices():
    with pytest.raises(ValueError) as info:
        make_prior("gaussian", 2, IN_DIM)
    assert all(name in str(info.value) for name in PRIORS)
    with pytest.raises(ValueError, match="n_components"):
        make_prior("mog", 2, IN_DIM, n_components=0)


@pytest.mark.parametrize("name", NEEDS_ENCODER)
def test_pseudo_input_priors_need_a_fitting_encoder(name):
    prior, enc = build(name, 2)
    z = torch.zeros(3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="encoder"):
        prior.log_prob(z)
    with pytest.raises(ValueError, match="encoder"):
        prior.sample(3, gen(0))
    with pytest.raises(ValueError, match="shape"):
        prior.log_prob(z, lambda u: tuple(t[:, :1] for t in enc(u)))  # (K, 1)


@pytest.mark.parametrize("name", PRIORS)
def test_wrong_latent_size_and_bad_n_are_errors(name):
    prior, enc = build(name, 2)
    with pytest.raises(ValueError, match="latent_dim"):
        prior.log_prob(torch.zeros(4, 3, dtype=torch.float64), enc)
    with pytest.raises(ValueError, match="non-negative"):
        prior.sample(-1, gen(0), enc)


# ------------------------------------------------------------------ CUDA

@pytest.mark.gpu
@pytest.mark.parametrize("name", PRIORS)
def test_cuda_matches_cpu(name):
    prior, enc = build(name, 2)
    z = torch.randn(5, 2, generator=gen(1), dtype=torch.float64)
    want = prior.log_prob(z, enc)
    prior, enc = prior.to("cuda"), (enc.to("cuda") if enc else None)
    torch.testing.assert_close(prior.log_prob(z.cuda(), enc).cpu(), want)
    for g in (torch.Generator("cuda").manual_seed(0), gen(0)):  # a CPU generator works too
        draws = prior.sample(6, g, enc)
        assert draws.device.type == "cuda" and draws.shape == (6, 2)
