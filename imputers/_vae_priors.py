"""Latent priors p(z) for the VAE imputer: six small torch modules behind one interface.

``log_prob(z)`` is differentiable in ``z`` and in the prior's parameters, and ``z`` may carry any
leading dimensions (e.g. ``(K, B, d)`` importance samples); ``sample(n, generator)`` gives
``(n, d)``. The pseudo-input priors (``vamp``, ``gtm_vamp``) need the VAE's encoder, passed as
``encoder``; the others ignore it. Mixtures go through ``logsumexp`` and every log-variance is
clamped to ``[LOGVAR_MIN, LOGVAR_MAX] = [-8, 8]``. Randomness (initial values, draws) comes only
from a passed ``torch.Generator``; draws are made on the generator's device and moved to the
prior's, so a CPU generator also serves a CUDA prior (a CUDA generator avoids the copy). Each
class cites its paper; all follow J. M. Tomczak, "Deep Generative Modeling", Springer 2022, ch. 4.

Examples
--------
>>> gen = torch.Generator().manual_seed(0)
>>> prior = make_prior("flow", latent_dim=2, input_dim=6, hidden=8, generator=gen)
>>> prior.log_prob(torch.zeros(4, 3, 2)).shape, prior.sample(5, gen).shape
(torch.Size([4, 3]), torch.Size([5, 2]))
>>> enc = lambda u: (u[:, :2], torch.zeros(u.shape[0], 2))  # (mu, logvar) of q(z | u)
>>> make_prior("vamp", 2, input_dim=6, n_components=4).log_prob(torch.zeros(5, 2), enc).shape
torch.Size([5])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from imputebench.imputers._vae_prior_base import (
    FLOW_LOG_SCALE_BOUND,
    PRIORS,
    Encoder,
    Generator,
    Prior,
    StandardPrior,
    _check_rows,
    _grid,
    _MixturePrior,
    _mlp,
    _pick_rows,
    _PseudoInputPrior,
    _randn,
    _std_normal,
    linear,  # noqa: F401 - used by _vae_core
    log_normal_diag,  # noqa: F401 - part of this module's interface
)


class MoGPrior(_MixturePrior):
    """A learnable mixture of K diagonal Gaussians, p(z) = sum_k pi_k N(z; m_k, diag(s_k^2)).

    Means start as 0.5 * N(0, I) draws, log-variances at 0, mixture logits at 0 (equal weights).

    References
    ----------
    .. [1] J. M. Tomczak, "Deep Generative Modeling", Springer, 2022, ch. 4.
    """

    def __init__(self, latent_dim: int, n_components: int = 16, generator: Generator = None):
        super().__init__(latent_dim)
        k = int(n_components)
        self.means = nn.Parameter(0.5 * torch.randn(k, self.latent_dim, generator=generator))
        self.logvars = nn.Parameter(torch.zeros(k, self.latent_dim))
        self.logits = nn.Parameter(torch.zeros(k))

    def _components(self, encoder: Encoder | None) -> tuple[Tensor, Tensor, Tensor | None]:
        return self.means, self.logvars, self.logits

    def describe(self) -> str:
        return (f"mog: mixture of {self.means.shape[0]} learnable diagonal Gaussians "
                "(Tomczak, Deep Generative Modeling, Springer 2022, ch. 4)")


class VampPrior(_PseudoInputPrior):
    """VampPrior: p(z) = (1/K) sum_k q(z | u_k) over K learnable pseudo-inputs u_k.

    The u_k live in the encoder's input space (``input_dim``: values and mask indicators). They
    start as small N(0, 0.01^2) draws, as in Tomczak & Welling's code; better, the VAE calls
    :meth:`init_pseudo_inputs` with real training inputs.

    References
    ----------
    .. [1] J. M. Tomczak and M. Welling, "VAE with a VampPrior", AISTATS 2018.
    """

    name = "vamp"

    def __init__(self, latent_dim: int, input_dim: int, n_components: int = 16,
                 generator: Generator = None) -> None:
        super().__init__(latent_dim)
        self.input_dim = int(input_dim)
        k = int(n_components)
        self.u = nn.Parameter(0.01 * torch.randn(k, self.input_dim, generator=generator))

    def pseudo_inputs(self) -> Tensor:
        return self.u

    def init_pseudo_inputs(self, x: Tensor, generator: Generator = None) -> None:
        """Copy K random rows of ``x`` (distinct when x has at least K rows) into the u_k."""
        rows = _pick_rows(x, self.input_dim, self.u.shape[0], generator, self.name)
        with torch.no_grad():
            self.u.copy_(rows.to(self.u))

    def describe(self) -> str:
        return (f"vamp: VampPrior, equal mixture of q(z|u_k) over {self.u.shape[0]} learnable "
                "pseudo-inputs (Tomczak & Welling, AISTATS 2018)")


class _Coupling(nn.Module):
    """Affine coupling z = x * exp(s(m x)) + t(m x) on the coordinates where the mask m is 0.

    With one coordinate there is nothing to condition on: s and t are then learnable constants
    (an elementwise affine layer).
    """

    def __init__(self, mask: Tensor, hidden: int, generator: Generator) -> None:
        super().__init__()
        self.register_buffer("mask", mask)
        d = mask.numel()
        self.net = _mlp(d, hidden, 2 * d, generator) if d > 1 else None
        self.st = nn.Parameter(torch.zeros(2)) if d == 1 else None

    def forward(self, x: Tensor, inverse: bool = False) -> tuple[Tensor, Tensor]:
        """(f(x), log|det J_f|), or with ``inverse`` (f^{-1}(x), log|det J_{f^{-1}}|)."""
        kept = x * self.mask  # the same on both sides of f: the masked coordinates pass through
        h = self.st.expand(*x.shape[:-1], 2) if self.net is None else self.net(kept)
        s, t = h.chunk(2, dim=-1)
        s, t = FLOW_LOG_SCALE_BOUND * torch.tanh(s) * (1 - self.mask), t * (1 - self.mask)
        if inverse:
            return (x - t) * torch.exp(-s), -s.sum(-1)
        return x * torch.exp(s) + t, s.sum(-1)


class FlowPrior(Prior):
    """A RealNVP flow prior: z = f(x), x ~ N(0, I), f a stack of affine coupling layers.

    log p(z) = log N(f^{-1}(z); 0, I) + log|det J_{f^{-1}}(z)|. Masks alternate between even and
    odd coordinates; each coupling's log-scale is 2 tanh(.) (bounded, for stability), scale and
    shift coming from one MLP (two hidden layers of ``hidden`` units). With latent_dim == 1 each
    layer is a learnable elementwise affine map, so the prior is a learnable Gaussian.

    References
    ----------
    .. [1] L. Dinh, J. Sohl-Dickstein and S. Bengio, "Density estimation using Real NVP",
       ICLR 2017.
    """

    def __init__(self, latent_dim: int, n_flows: int = 4, hidden: int = 64,
                 generator: Generator = None) -> None:
        super().__init__(latent_dim)
        d = self.latent_dim
        masks = [((torch.arange(d) + i) % 2).float() if d > 1 else torch.zeros(1)
                 for i in range(int(n_flows))]
        self.layers = nn.ModuleList(_Coupling(m, int(hidden), generator) for m in masks)

    def transform(self, x: Tensor, inverse: bool = False) -> tuple[Tensor, Tensor]:
        """(z = f(x), log|det J_f(x)|), or with ``inverse`` (f^{-1}(x), log|det J_{f^{-1}}(x)|)."""
        logdet = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
        for layer in (reversed(self.layers) if inverse else self.layers):
            x, ld = layer(x, inverse)
            logdet = logdet + ld
        return x, logdet

    def log_prob(self, z: Tensor, encoder: Encoder | None = None) -> Tensor:
        self._check_z(z)
        x, logdet = self.transform(z, inverse=True)
        return _std_normal(x) + logdet

    def sample(self, n: int, generator: Generator = None,
               encoder: Encoder | None = None) -> Tensor:
        x = _randn((self._check_n(n), self.latent_dim), generator, self._anchor)
        return self.transform(x)[0]

    def describe(self) -> str:
        kind = "elementwise affine" if self.latent_dim == 1 else "affine coupling"
        return (f"flow: RealNVP, {len(self.layers)} {kind} layers on N(0, I) "
                "(Dinh, Sohl-Dickstein & Bengio, ICLR 2017)")


class GTMPrior(_MixturePrior):
    """GTM prior: a fixed g x g grid c_k on [-1, 1]^2, mapped by an MLP f to the means of an
    equal mixture of Gaussians, p(z) = (1/g^2) sum_k N(z; f(c_k), diag(s^2)).

    The log-variance is one learnable vector (one entry per latent dimension, start 0) shared by
    all components: GTM's shared noise level, made diagonal.

    References
    ----------
    .. [1] C. M. Bishop, M. Svensén and C. K. I. Williams, "GTM: The Generative Topographic
       Mapping", Neural Computation 10(1), 1998.
    """

    def __init__(self, latent_dim: int, grid_size: int = 8, hidden: int = 64,
                 generator: Generator = None) -> None:
        super().__init__(latent_dim)
        self.register_buffer("grid", _grid(int(grid_size)))
        self.net = _mlp(2, int(hidden), self.latent_dim, generator)
        self.logvar = nn.Parameter(torch.zeros(self.latent_dim))

    def means(self) -> Tensor:
        return self.net(self.grid)

    def _components(self, encoder: Encoder | None) -> tuple[Tensor, Tensor, Tensor | None]:
        return self.means(), self.logvar, None

    def describe(self) -> str:
        g = math.isqrt(self.grid.shape[0])
        return (f"gtm: {g}x{g} grid on [-1,1]^2 mapped by an MLP to the means of an equal "
                "Gaussian mixture (Bishop, Svensén & Williams, Neural Computation 1998)")


class GTMVampPrior(_PseudoInputPrior):
    """GTM-VampPrior: a fixed g x g grid on [-1, 1]^2 mapped by an MLP to pseudo-inputs u_k,
    and p(z) = (1/g^2) sum_k q(z | u_k) with the VAE's encoder q.

    References
    ----------
    .. [1] J. M. Tomczak, "Deep Generative Modeling", Springer, 2022, ch. 4.
    .. [2] J. M. Tomczak and M. Welling, "VAE with a VampPrior", AISTATS 2018.
    """

    name = "gtm_vamp"

    def __init__(self, latent_dim: int, input_dim: int, grid_size: int = 8, hidden: int = 64,
                 generator: Generator = None) -> None:
        super().__init__(latent_dim)
        self.input_dim = int(input_dim)
        self.register_buffer("grid", _grid(int(grid_size)))
        self.net = _mlp(2, int(hidden), self.input_dim, generator)

    def pseudo_inputs(self) -> Tensor:
        return self.net(self.grid)

    def init_pseudo_inputs(self, x: Tensor, generator: Generator = None,
                           ridge: float = 1e-4) -> None:
        """Refit the MLP's last layer so that the grid maps onto the principal plane of ``x``.

        As GTM is initialised from PCA [Bishop et al., 1998]: grid point c goes to
        mean + sqrt(3) (c_1 s_1 v_1 + c_2 s_2 v_2), with (s_i, v_i) the two leading principal
        standard deviations and directions of ``x`` (sqrt(3) matches the variance of a uniform
        grid on [-1, 1]). The fit is ridge least squares on the last hidden layer's features,
        in float64; earlier layers are kept. Deterministic: ``generator`` is not used.
        """
        _check_rows(x, self.input_dim, self.name)
        last = self.net[-1]
        with torch.no_grad():
            xd = x.to(self.grid.device, torch.float64)
            mean = xd.mean(0)
            _, sv, vt = torch.linalg.svd(xd - mean, full_matrices=False)
            top = torch.zeros(2, self.input_dim, dtype=xd.dtype, device=xd.device)
            m = min(2, len(sv))
            top[:m] = math.sqrt(3.0 / len(xd)) * sv[:m, None] * vt[:m]
            target = mean + self.grid.double() @ top
            h = self.net[:-1](self.grid).double()
            h1 = torch.cat([h, torch.ones_like(h[:, :1])], dim=1)
            gram = h1.T @ h1
            gram = gram + ridge * gram.diagonal().mean() * torch.eye(len(gram)).to(gram)
            w = torch.linalg.solve(gram, h1.T @ target)
            last.weight.copy_(w[:-1].T.to(last.weight))
            last.bias.copy_(w[-1].to(last.bias))

    def describe(self) -> str:
        g = math.isqrt(self.grid.shape[0])
        return (f"gtm_vamp: VampPrior over {g}x{g} pseudo-inputs mapped by an MLP from a GTM grid "
                "(Tomczak, Deep Generative Modeling, 2022, ch. 4)")


def make_prior(name: str, latent_dim: int, input_dim: int, *, n_components: int = 16,
               grid_size: int = 8, hidden: int = 64, n_flows: int = 4,
               generator: Generator = None) -> Prior:
    """The prior called ``name`` (one of :data:`PRIORS`), its initial values from ``generator``.

    ``n_components`` sizes ``mog`` and ``vamp``; ``grid_size`` (K = grid_size**2) and ``hidden``
    size ``gtm`` and ``gtm_vamp``; ``n_flows`` and ``hidden`` size ``flow``; ``input_dim`` is the
    encoder's input size (pseudo-input priors). Parameters are made on the CPU, so ``generator``
    is a CPU one (``None``: torch's default generator); move the prior with ``.to(device)``.
    """
    if name not in PRIORS:
        raise ValueError(f"unknown prior {name!r}; choose one of {', '.join(PRIORS)}")
    sizes = {"latent_dim": latent_dim, "input_dim": input_dim, "n_components": n_components,
             "grid_size": grid_size, "hidden": hidden, "n_flows": n_flows}
    for label, value in sizes.items():
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    g = generator
    build = {
        "standard": lambda: StandardPrior(latent_dim),
        "mog": lambda: MoGPrior(latent_dim, n_components, g),
        "vamp": lambda: VampPrior(latent_dim, input_dim, n_components, g),
        "flow": lambda: FlowPrior(latent_dim, n_flows, hidden, g),
        "gtm": lambda: GTMPrior(latent_dim, grid_size, hidden, g),
        "gtm_vamp": lambda: GTMVampPrior(latent_dim, input_dim, grid_size, hidden, g),
    }
    return build[name]()
