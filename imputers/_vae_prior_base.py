"""Shared pieces of the VAE priors (``_vae_priors``): constants, initialisation and sampling
helpers drawn from a passed ``torch.Generator``, the :class:`Prior` interface, the standard
normal prior and the two mixture bases (learned components; pseudo-inputs through the encoder).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

Encoder = Callable[[Tensor], tuple[Tensor, Tensor]]
Generator = torch.Generator | None
PRIORS: tuple[str, ...] = ("standard", "mog", "vamp", "flow", "gtm", "gtm_vamp")
LOGVAR_MIN, LOGVAR_MAX = -8.0, 8.0
FLOW_LOG_SCALE_BOUND = 2.0  # each coupling's log-scale is bound * tanh(.)
_LOG_2PI = math.log(2.0 * math.pi)
_HALF_LOG_2PI = math.log(math.sqrt(2.0 * math.pi))  # spelled as torch.distributions.Normal does


def log_normal_diag(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last axis, the log-variance clamped."""
    logvar = logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def _std_normal(x: Tensor) -> Tensor:
    return (-(x**2) / 2 - _HALF_LOG_2PI).sum(-1)


def _on(generator: Generator, like: Tensor) -> torch.device:
    return like.device if generator is None else generator.device


def _randn(shape: tuple[int, ...], generator: Generator, like: Tensor) -> Tensor:
    x = torch.randn(shape, generator=generator, device=_on(generator, like), dtype=like.dtype)
    return x.to(like.device)


def linear(n_in: int, n_out: int, generator: Generator) -> nn.Linear:
    """nn.Linear with torch's default U(+-1/sqrt(n_in)) init, drawn from ``generator``."""
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)  # nothing drawn from the global RNG
    with torch.no_grad():
        for p in (layer.weight, layer.bias):
            p.uniform_(-1.0 / math.sqrt(n_in), 1.0 / math.sqrt(n_in), generator=generator)
    return layer


def _mlp(n_in: int, hidden: int, n_out: int, generator: Generator) -> nn.Sequential:
    return nn.Sequential(linear(n_in, hidden, generator), nn.LeakyReLU(),
                         linear(hidden, hidden, generator), nn.LeakyReLU(),
                         linear(hidden, n_out, generator))


def _grid(size: int) -> Tensor:
    """The size x size regular grid on [-1, 1]^2, as (size**2, 2)."""
    side = torch.linspace(-1.0, 1.0, size)
    a, b = torch.meshgrid(side, side, indexing="ij")
    return torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)


def _check_rows(x: Tensor, input_dim: int, who: str) -> None:
    if x.ndim != 2 or x.shape[1] != input_dim or x.shape[0] == 0:
        raise ValueError(f"{who}: init_pseudo_inputs needs a non-empty (m, {input_dim}) tensor, "
                         f"got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{who}: init_pseudo_inputs needs finite inputs (zero-fill missing cells)")


def _pick_rows(x: Tensor, input_dim: int, k: int, generator: Generator, who: str) -> Tensor:
    """k random rows of x: distinct when x has at least k rows, with replacement otherwise."""
    _check_rows(x, input_dim, who)
    m, dev = x.shape[0], _on(generator, x)
    if m >= k:
        idx = torch.randperm(m, generator=generator, device=dev)[:k]
    else:
        idx = torch.randint(m, (k,), generator=generator, device=dev)
    return x[idx.to(x.device)]


class Prior(nn.Module):
    """Base class: a density p(z) on R^latent_dim with ``log_prob``, ``sample``, ``describe``.

    A zero-size buffer follows ``.to(device)`` / ``.double()``, so parameter-free priors know
    their device and dtype too.
    """

    latent_dim: int

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    def _check_z(self, z: Tensor) -> None:
        if z.ndim < 1 or z.shape[-1] != self.latent_dim:
            raise ValueError(f"{type(self).__name__}: z must end in latent_dim="
                             f"{self.latent_dim}, got shape {tuple(z.shape)}")

    @staticmethod
    def _check_n(n: int) -> int:
        if isinstance(n, bool) or int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        return int(n)

    def log_prob(self, z: Tensor, encoder: Encoder | None = None) -> Tensor:
        """log p(z) for ``z`` of shape (..., latent_dim); returns shape (...)."""
        raise NotImplementedError

    def sample(self, n: int, generator: Generator = None,
               encoder: Encoder | None = None) -> Tensor:
        """``n`` draws from p(z), shape (n, latent_dim), using only ``generator``."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line: what the prior is, and the paper it follows."""
        raise NotImplementedError

    def init_pseudo_inputs(self, x: Tensor, generator: Generator = None) -> None:
        """Start pseudo-inputs at real encoder inputs ``x``; a no-op for priors without them."""


class StandardPrior(Prior):
    """The standard Gaussian prior p(z) = N(0, I).

    References
    ----------
    .. [1] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """

    def log_prob(self, z: Tensor, encoder: Encoder | None = None) -> Tensor:
        self._check_z(z)
        return _std_normal(z)

    def sample(self, n: int, generator: Generator = None,
               encoder: Encoder | None = None) -> Tensor:
        return _randn((self._check_n(n), self.latent_dim), generator, self._anchor)

    def describe(self) -> str:
        return f"standard: N(0, I) on R^{self.latent_dim} (Kingma & Welling, ICLR 2014)"


class _MixturePrior(Prior):
    """A diagonal Gaussian mixture; ``_components`` gives mu (K, d), logvar (K, d) or (d,) and
    logits (K,), or None for equal weights."""

    def _components(self, encoder: Encoder | None) -> tuple[Tensor, Tensor, Tensor | None]:
        raise NotImplementedError

    def log_prob(self, z: Tensor, encoder: Encoder | None = None) -> Tensor:
        self._check_z(z)
        mu, logvar, logits = self._components(encoder)
        log_w = -math.log(mu.shape[0]) if logits is None else torch.log_softmax(logits, 0)
        # (..., 1, d) against (K, d): (..., K) component log-densities
        return torch.logsumexp(log_normal_diag(z.unsqueeze(-2), mu, logvar) + log_w, dim=-1)

    def sample(self, n: int, generator: Generator = None,
               encoder: Encoder | None = None) -> Tensor:
        n = self._check_n(n)
        mu, logvar, logits = self._components(encoder)
        (k, d), dev = mu.shape, _on(generator, mu)
        if logits is None or n == 0:
            idx = torch.randint(k, (n,), generator=generator, device=dev)
        else:
            probs = torch.softmax(logits.detach().to(dev, torch.float64), dim=0)
            idx = torch.multinomial(probs, n, replacement=True, generator=generator)
        idx = idx.to(mu.device)
        sd = torch.exp(0.5 * logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)).expand(k, d)
        return mu[idx] + sd[idx] * _randn((n, d), generator, mu)


class _PseudoInputPrior(_MixturePrior):
    """p(z) = (1/K) sum_k q(z | u_k): the encoder's posteriors at K pseudo-inputs u_k."""

    name: str
    input_dim: int

    def pseudo_inputs(self) -> Tensor:
        """The pseudo-inputs, (K, input_dim), in the encoder's input space."""
        raise NotImplementedError

    def _components(self, encoder: Encoder | None) -> tuple[Tensor, Tensor, Tensor | None]:
        if encoder is None:
            raise ValueError(f"the {self.name} prior needs the VAE's encoder: pass encoder= to "
                             "log_prob and sample")
        u = self.pseudo_inputs()
        mu, logvar = encoder(u)
        want = (u.shape[0], self.latent_dim)
        if tuple(mu.shape) != want or tuple(logvar.shape) != want:
            raise ValueError(f"{self.name} prior: the encoder must return (mu, logvar) of shape "
                             f"{want} each, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
        return mu, logvar, None
