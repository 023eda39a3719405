"""TabDDPM's denoiser and training loss (Kotelnikov et al., ICML 2023), with the loss restricted
to observed cells (MissDiff, Ouyang et al. 2023). The diffusion math is in ``_ddpm_core``.

**Denoiser** (TabDDPM's ``MLPDiffusion``): the row ``[x_num_t, log one-hot x_cat_t]`` goes through
a linear map to 128 dimensions, plus the timestep's embedding (sinusoidal, 128 dimensions with
the cosines first, max period 10,000, then Linear-SiLU-Linear); then ReLU layers of the given
widths and a linear head back to the input width: predicted noise for the numeric columns,
logits of ``x_0`` for each categorical column. The categorical input is the one-hot of ``x_t``
(``cat_input="onehot"``, our default) or, as in TabDDPM's code, its *log* (``"log"``: zeros at
log 1e-30 = -69). Why we deviate: with the log input the -69 entries of adult's 8 categorical
columns swamp the first layer, and the two zero-inflated numeric columns (capital gain / loss)
were never learned in 1,500 steps (noise MSE 1.0 at every level, even at ``t = T-1`` where the
answer is ``x_t`` itself); with the one-hot input they were (MSE 0.004 at ``T-1``), and the
training loss was lower (1.21 vs 1.56).

**Loss** for a batch: ``t`` uniform on ``0..T-1`` per row; numeric part the mean squared error of
the predicted noise over the observed numeric cells; categorical part per row
``sum_j m_j (T L_t^j + KL(q(x_{T-1} | x_0^j) || uniform)) / C`` with ``L_t^j`` the KL between the
true posterior ``q(x_{t-1} | x_t, x_0)`` and the model's (``x_0`` replaced by the predicted
distribution), or at ``t = 0`` the decoder's negative log-likelihood of ``x_0``, averaged over
rows; the two parts are added. With no missing cell this is TabDDPM's ``mixed_loss``.

**Missing cells while training** (a choice MissDiff leaves open): a missing numeric value enters
the forward process as 0 (the median of the quantile-normal scale), a missing category as a
category drawn uniformly; neither contributes to the loss.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from imputebench.imputers import _ddpm_core as dc
from imputebench.imputers._vae_prior_base import linear

TIME_DIM = 128


def timestep_embedding(t: torch.Tensor, dim: int = TIME_DIM, max_period: float = 10_000.0):
    """``[cos(t f_k), sin(t f_k)]`` with ``f_k = max_period^(-k / (dim / 2))``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return emb if dim % 2 == 0 else torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)


class Denoiser(nn.Module):
    """TabDDPM's MLP denoiser; weights drawn from ``generator`` (torch's default init law)."""

    def __init__(self, d_in: int, widths: tuple[int, ...], generator=None) -> None:
        super().__init__()
        self.proj = linear(d_in, TIME_DIM, generator)
        self.time = nn.Sequential(linear(TIME_DIM, TIME_DIM, generator), nn.SiLU(),
                                  linear(TIME_DIM, TIME_DIM, generator))
        layers, d = [], TIME_DIM
        for w in widths:
            layers += [linear(d, w, generator), nn.ReLU()]
            d = w
        self.mlp = nn.Sequential(*layers)
        self.head = linear(d, d_in, generator)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.head(self.mlp(self.proj(x) + self.time(timestep_embedding(t))))


class TabDiffusion(nn.Module):
    """Schedule, categorical layout and denoiser of one table: ``n_num`` quantile-normal numeric
    columns and categorical columns of ``cat_sizes`` categories."""

    def __init__(self, n_num: int, cat_sizes: tuple[int, ...], widths: tuple[int, ...],
                 n_steps: int = 100, generator=None, cat_input: str = "onehot") -> None:
        super().__init__()
        if cat_input not in ("onehot", "log"):
            raise ValueError(f"cat_input must be 'onehot' or 'log', got {cat_input!r}")
        self.cat_input = cat_input
        self.n_num = n_num
        self.n_steps = n_steps
        self.sched = dc.Schedule.cosine(n_steps)
        self.cats = dc.Categories(cat_sizes)
        real = self.cats.real.reshape(-1)
        self.register_buffer("flat_index", torch.nonzero(real).squeeze(1), persistent=False)
        self.denoiser = Denoiser(n_num + int(real.sum()), tuple(widths), generator)

    def _apply(self, fn, recurse=True):
        """Move the schedule and layout tensors with the module (``.to(device)``)."""
        out = super()._apply(fn, recurse)
        s = self.sched
        self.sched = dc.Schedule(*[fn(v) for v in (s.betas, s.alphas, s.abar, s.abar_prev,
                                                   s.log_alpha, s.log_1m_alpha, s.log_abar,
                                                   s.log_1m_abar)])
        c = self.cats
        c.real, c.pad, c.log_k = fn(c.real), fn(c.pad), fn(c.log_k)
        return out

    # ------------------------------------------------------------------ layout
    @property
    def n_cat(self) -> int:
        return len(self.cats.sizes)

    def flat(self, padded: torch.Tensor) -> torch.Tensor:
        """(B, C, Kmax) -> (B, sum K): the real categories, column after column."""
        return padded.reshape(padded.shape[0], -1)[:, self.flat_index]

    def padded(self, flat: torch.Tensor) -> torch.Tensor:
        """(B, sum K) logits -> (B, C, Kmax) normalised log-probabilities."""
        out = flat.new_full((flat.shape[0], self.n_cat * self.cats.kmax), dc.NEG_INF)
        out[:, self.flat_index] = flat
        return self.cats.normalize(out.reshape(-1, self.n_cat, self.cats.kmax))

    def predict(self, x_num_t, log_x_cat_t, t):
        """The denoiser at step ``t``: (predicted noise, log p(x_0 | x_t) padded)."""
        parts = [x_num_t]
        if self.n_cat:
            cat = self.flat(log_x_cat_t)
            parts.append(cat.exp() if self.cat_input == "onehot" else cat)
        out = self.denoiser(torch.cat(parts, dim=1), t).float()
        log_p0 = self.padded(out[:, self.n_num:]) if self.n_cat else None
        return out[:, :self.n_num], log_p0

    # ------------------------------------------------------------------ loss
    def loss(self, x_num, m_num, codes, m_cat, generator) -> torch.Tensor:
        """The module docstring's loss on one batch (``x_num`` 0 and ``codes`` anything where
        the masks are 0)."""
        return self.loss_from(x_num, m_num, codes, m_cat,
                              *self.draws(x_num.shape[0], x_num.device, generator))

    def draws(self, n: int, dev, generator) -> tuple[torch.Tensor, ...]:
        """The random numbers of one training batch of ``n`` rows, drawn from ``generator``:
        levels ``t``, Gaussian noise, and two sets of uniforms (the fill-in categories of
        missing cells and the draw of ``x_t``; empty without categorical columns)."""
        t = torch.randint(0, self.n_steps, (n,), generator=generator, device=dev)
        noise = torch.randn((n, self.n_num), generator=generator, device=dev)
        shape = (n, self.n_cat, self.cats.kmax) if self.n_cat else (0,)
        u_fill = torch.rand(shape, generator=generator, device=dev)
        u_xt = torch.rand(shape, generator=generator, device=dev)
        return t, noise, u_fill, u_xt

    def loss_from(self, x_num, m_num, codes, m_cat, t, noise, u_fill, u_xt) -> torch.Tensor:
        """:meth:`loss` given its random numbers (:meth:`draws`): a pure function of tensors,
        so it can be compiled whole (``torch.compile``; CUDA graphs with mode
        ``"reduce-overhead"``), the backward pass with it."""
        s, cats, n = self.sched, self.cats, x_num.shape[0]
        dev = x_num.device
        x_num_t = dc.gaussian_q_sample(s, x_num * m_num, t, noise)
        if self.n_cat:
            uniform = cats.sample_with(cats.normalize(torch.zeros(n, self.n_cat, cats.kmax,
                                                                  device=dev)), u_fill)
            codes = torch.where(m_cat > 0, codes, uniform)
            log_x0 = cats.log_onehot(codes)
            log_xt = cats.log_onehot(cats.sample_with(dc.cat_q_pred(s, cats, log_x0, t), u_xt))
        else:
            log_xt = None
        eps_hat, log_p0 = self.predict(x_num_t, log_xt, t)
        gauss = ((noise - eps_hat) ** 2 * m_num).sum() / m_num.sum().clamp(min=1)
        if not self.n_cat:
            return gauss
        true_post = dc.cat_q_posterior(s, cats, log_x0, log_xt, t)
        model_post = dc.cat_q_posterior(s, cats, log_p0, log_xt, t)
        kl = dc.cat_kl(cats, true_post, model_post)                          # (B, C)
        x0 = torch.where(cats.real, log_x0.exp(), 0.0)
        nll = -(x0 * torch.where(cats.real, model_post, 0.0)).sum(-1)        # (B, C)
        lt = torch.where((t == 0)[:, None], nll, kl)
        last = torch.full_like(t, self.n_steps - 1)
        prior = dc.cat_kl(cats, dc.cat_q_pred(s, cats, log_x0, last),
                          cats.normalize(torch.zeros_like(log_x0)))
        multi = ((self.n_steps * lt + prior) * m_cat).sum(-1) / self.n_cat
        return gauss + multi.mean()
