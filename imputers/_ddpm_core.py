"""Diffusion processes of TabDDPM (Kotelnikov et al., ICML 2023): Gaussian diffusion on numeric
columns (Ho et al. 2020) and multinomial diffusion on categorical ones (Hoogeboom et al. 2021),
sharing one noise schedule. Pure tensor math, no network: the ``tabddpm`` imputer (issue 7)
builds its training loss and its RePaint sampler from these pieces.

Conventions, as TabDDPM's code: steps are 0-based, ``t = 0 .. T-1``; ``alpha_t = 1 - beta_t``,
``abar_t = prod_{s <= t} alpha_s`` and ``abar_{-1} = 1`` (level -1 is the data). The schedule is
the cosine one of Nichol & Dhariwal (2021) with betas capped at 0.999.

Categorical states are kept *padded*: ``(..., C, Kmax)`` log-probabilities, one row per column,
entries past a column's ``K`` categories at ``-inf`` (probability 0). Log one-hot vectors put
``log(1e-30)`` rather than ``-inf`` on the zeros of real categories, as TabDDPM does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

LOG_TINY = math.log(1e-30)
NEG_INF = -math.inf


def cosine_betas(n_steps: int, max_beta: float = 0.999) -> torch.Tensor:
    """``beta_i = min(1 - f((i + 1) / T) / f(i / T), max_beta)`` with
    ``f(u) = cos^2((u + 0.008) / 1.008 * pi / 2)``; float64."""
    u = torch.arange(n_steps + 1, dtype=torch.float64) / n_steps
    f = torch.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    return torch.clamp(1 - f[1:] / f[:-1], max=max_beta)


@dataclass
class Schedule:
    """Per-step constants (float32 on ``device``, computed in float64)."""

    betas: torch.Tensor
    alphas: torch.Tensor
    abar: torch.Tensor          # abar_t
    abar_prev: torch.Tensor     # abar_{t-1} (1 at t = 0)
    log_alpha: torch.Tensor
    log_1m_alpha: torch.Tensor
    log_abar: torch.Tensor
    log_1m_abar: torch.Tensor

    @classmethod
    def cosine(cls, n_steps: int, device="cpu") -> Schedule:
        b = cosine_betas(n_steps)
        a = 1 - b
        abar = torch.cumprod(a, 0)
        prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        vals = [b, a, abar, prev, torch.log(a), torch.log1p(-a.clamp(max=1 - 1e-40)),
                torch.log(abar), torch.log1p(-abar)]
        return cls(*[v.to(torch.float32).to(device) for v in vals])

    @property
    def n_steps(self) -> int:
        return int(self.betas.shape[0])


def _at(v: torch.Tensor, t: torch.Tensor, ndim: int) -> torch.Tensor:
    """``v[t]`` shaped to broadcast against a tensor of ``ndim`` dims whose first is the rows."""
    return v[t].reshape(t.shape + (1,) * (ndim - t.dim()))


# ---------------------------------------------------------------------- Gaussian part
def gaussian_q_sample(s: Schedule, x0, t, noise):
    """``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``."""
    return _at(s.abar, t, x0.dim()).sqrt() * x0 + (1 - _at(s.abar, t, x0.dim())).sqrt() * noise


def x0_from_eps(s: Schedule, xt, t, eps):
    ab = _at(s.abar, t, xt.dim())
    return (xt - (1 - ab).sqrt() * eps) / ab.sqrt()


def gaussian_posterior_mean(s: Schedule, x0, xt, t):
    """Mean of ``q(x_{t-1} | x_t, x_0)``: ``(beta_t sqrt(abar_{t-1}) x0 + (1 - abar_{t-1})
    sqrt(alpha_t) x_t) / (1 - abar_t)``."""
    n = xt.dim()
    b, ab, abp = _at(s.betas, t, n), _at(s.abar, t, n), _at(s.abar_prev, t, n)
    return (b * abp.sqrt() * x0 + (1 - abp) * _at(s.alphas, t, n).sqrt() * xt) / (1 - ab)


def gaussian_posterior_var(s: Schedule, t):
    return s.betas[t] * (1 - s.abar_prev[t]) / (1 - s.abar[t])


def gaussian_p_sample(s: Schedule, xt, t, eps_hat, noise, clip: float | None = None):
    """One reverse step with the predicted noise: the posterior mean at ``x0_from_eps`` plus
    ``sqrt(beta_t) noise`` (TabDDPM's fixed "large" variance); no noise at ``t = 0``. With
    ``clip`` the predicted ``x_0`` is clamped to ``[-clip, clip]`` first (the reference's
    ``clip_denoised``)."""
    x0 = x0_from_eps(s, xt, t, eps_hat)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
    mean = gaussian_posterior_mean(s, x0, xt, t)
    scale = _at(s.betas, t, xt.dim()).sqrt() * (t > 0).reshape(t.shape + (1,) * (xt.dim() - 1))
    return mean + scale * noise


# ---------------------------------------------------------------------- multinomial part
class Categories:
    """The padded layout of ``C`` categorical columns with ``sizes`` categories."""

    def __init__(self, sizes: tuple[int, ...], device="cpu") -> None:
        self.sizes = tuple(int(k) for k in sizes)
        self.kmax = max(self.sizes, default=1)
        k = torch.tensor(self.sizes, dtype=torch.float32, device=device)
        real = torch.arange(self.kmax, device=device)[None, :] < k[:, None]   # (C, Kmax)
        self.real = real
        self.pad = torch.where(real, 0.0, NEG_INF)                              # (C, Kmax)
        self.log_k = torch.log(k)[:, None]                                      # (C, 1)

    def log_onehot(self, codes: torch.Tensor) -> torch.Tensor:
        """(..., C) integer codes -> (..., C, Kmax) log one-hot (zeros at log 1e-30)."""
        hot = torch.nn.functional.one_hot(codes, self.kmax).bool()
        return torch.where(hot, 0.0, LOG_TINY) + self.pad

    def mix(self, log_x, log_a, log_1m_a):
        """``log(a x + (1 - a) / K)`` per column; ``log_a`` broadcasts over (..., C, Kmax)."""
        return torch.logaddexp(log_x + log_a, log_1m_a - self.log_k) + self.pad

    def normalize(self, logits):
        return torch.log_softmax(logits + self.pad, dim=-1)

    def sample(self, log_p, generator) -> torch.Tensor:
        """Gumbel-max draw per column: (..., C) codes."""
        return self.sample_with(log_p, torch.rand(log_p.shape, generator=generator,
                                                  device=log_p.device))

    @staticmethod
    def sample_with(log_p, u) -> torch.Tensor:
        """Gumbel-max draw per column from given uniforms ``u`` of ``log_p``'s shape."""
        g = -torch.log(-torch.log(u + 1e-30) + 1e-30)
        return (g + log_p).argmax(-1)


def cat_q_pred(s: Schedule, cats: Categories, log_x0, t):
    """``log q(x_t | x_0) = log(abar_t x0 + (1 - abar_t) / K)``."""
    n = log_x0.dim()
    return cats.mix(log_x0, _at(s.log_abar, t, n), _at(s.log_1m_abar, t, n))


def cat_q_one_step(s: Schedule, cats: Categories, log_x, t):
    """``log q(x_t | x_{t-1}) = log(alpha_t x_{t-1} + (1 - alpha_t) / K)`` (as a function of
    ``x_{t-1}``; the transition is symmetric, so also of ``x_t``)."""
    n = log_x.dim()
    return cats.mix(log_x, _at(s.log_alpha, t, n), _at(s.log_1m_alpha, t, n))


def cat_q_posterior(s: Schedule, cats: Categories, log_x0, log_xt, t):
    """Normalised ``log q(x_{t-1} | x_t, x_0)``, proportional to ``q(x_{t-1} | x_0)
    q(x_t | x_{t-1})``; at ``t = 0`` the first factor is ``x_0`` itself. ``log_x0`` may be a
    predicted distribution (the model's ``p(x_{t-1} | x_t)``)."""
    n = log_x0.dim()
    prev = cat_q_pred(s, cats, log_x0, (t - 1).clamp(min=0))
    first = torch.where(t.reshape(t.shape + (1,) * (n - t.dim())) == 0, log_x0, prev)
    return cats.normalize(first + cat_q_one_step(s, cats, log_xt, t))


def cat_kl(cats: Categories, log_q, log_p):
    """``KL(q || p)`` per column (..., C), over real categories."""
    q = log_q.exp()
    diff = torch.where(cats.real, log_q - log_p, 0.0)
    return (q * diff).sum(-1)
