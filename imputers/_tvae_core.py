"""Core of the ``tvae`` imputer: TVAE (Xu et al. 2019) on mode-normalised rows, with its
losses restricted to observed cells, imputing by the same importance sampling as ``vae``.

A row is encoded as ``_vae_core.Layout(n_num, modes + categories, mode_blocks=n_num)``: the
numeric values are the within-mode scalars ``alpha`` (``_mode_norm``), the first ``n_num``
categorical blocks their modes, then the categorical columns. The networks, the decoder's
``tanh`` on ``alpha``, the per-column scale parameter clamped to [0.01, 1] and the loss
(``loss_factor`` x reconstruction + KL, with the KL in closed form) follow the TVAE of
sdv-dev/CTGAN.
"""

from __future__ import annotations

import torch
from torch import nn

from imputebench.imputers._vae_core import Batch, Layout, TabularVAE

SIGMA_RANGE = (0.01, 1.0)


class TVAEModel(TabularVAE):
    """TVAE's encoder (ReLU MLP ``compress`` -> mean and log-variance of z) and decoder (ReLU
    MLP ``decompress`` -> tanh'd alphas and mode / category logits), standard normal prior."""

    def __init__(self, layout: Layout, mode_means: torch.Tensor, mode_stds: torch.Tensor,
                 latent_dim: int = 128, compress: tuple[int, ...] = (128, 128),
                 decompress: tuple[int, ...] = (128, 128), generator=None) -> None:
        if layout.mode_blocks != layout.n_num:
            raise ValueError("TVAEModel needs one mode block per numeric column")
        super().__init__(layout, latent_dim, tuple(compress), len(compress), "standard",
                         generator=generator, decoder_hidden=tuple(decompress),
                         activation=nn.ReLU)
        self.sigma = nn.Parameter(torch.full((layout.n_num,), 0.1))
        # (n_num, widest mode count), padded with mean 0 / sd 1 (never picked: probability 0)
        self.register_buffer("mode_means", mode_means.float(), persistent=True)
        self.register_buffer("mode_stds", mode_stds.float(), persistent=True)

    def numeric_heads(self, out: torch.Tensor):
        n = self.layout.n_num
        log_sigma = torch.log(self.sigma).expand(out.shape[:-1] + (n,))
        return torch.tanh(out[..., :n]), log_sigma, out[..., n:]

    def clamp_sigma(self) -> None:
        """CTGAN clamps the scales after every optimiser step."""
        with torch.no_grad():
            self.sigma.clamp_(*SIGMA_RANGE)

    def tvae_loss(self, b: Batch, generator, loss_factor: float = 2.0) -> torch.Tensor:
        """``loss_factor`` x minus log p(x_obs | z) at one z ~ q, plus KL(q || N(0, I)) in
        closed form, averaged over rows (CTGAN's ``loss_function`` on observed cells)."""
        mu, logvar = self.encode(self.inputs(b))
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        rec = self.log_lik(self.heads(z), b)
        kl = 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar).sum(-1)
        return (kl - loss_factor * rec).mean()

    # ------------------------------------------------------------------ imputation
    def _values(self, alpha: torch.Tensor, modes: torch.Tensor) -> torch.Tensor:
        idx = modes.unsqueeze(-1)
        means = self.mode_means.expand(modes.shape + self.mode_means.shape[-1:])
        stds = self.mode_stds.expand(modes.shape + self.mode_stds.shape[-1:])
        return (alpha.clamp(-1, 1) * 4 * torch.gather(stds, -1, idx).squeeze(-1)
                + torch.gather(means, -1, idx).squeeze(-1))

    def expected(self, b: Batch, k: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """E[x_num | x_obs] in the column's units: the weighted mean over latent draws of
        ``sum_c p(c | z) (tanh-mean(z) * 4 sd_c + mean_c)``; categorical columns as ``vae``."""
        w, (mu, _, logp) = self.posterior(b, k, generator)
        n = self.layout.n_num
        kmax = self.mode_means.shape[-1]
        p_mode = logp[..., :n, :kmax].exp()                            # (k, B, n, kmax)
        per_draw = 4 * mu * (p_mode * self.mode_stds).sum(-1) + (p_mode * self.mode_means).sum(-1)
        num = (w.unsqueeze(-1) * per_draw).sum(0)
        probs = (w[..., None, None] * logp[..., n:, :].exp()).sum(0)
        return num, probs

    def draws(self, b: Batch, k: int, n_draws: int, generator
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sampling-importance-resampling as ``vae``; a numeric draw is a mode drawn from its
        softmax and ``alpha ~ N(tanh-mean, sigma)`` mapped back through that mode."""
        alpha, codes = super().draws(b, k, n_draws, generator)
        n = self.layout.n_num
        return self._values(alpha, codes[..., :n]), codes[..., n:]

    def generate(self, n: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole rows from N(0, I) as CTGAN's ``TVAE.sample``, with the sigma noise: a mode from
        its softmax and ``alpha ~ N(tanh-mean, sigma)`` mapped back through that mode."""
        alpha, codes = super().generate(n, generator)
        k = self.layout.n_num
        return self._values(alpha, codes[..., :k]), codes[..., k:]
