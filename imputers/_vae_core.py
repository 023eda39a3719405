"""Core of the ``vae`` imputer: a VAE for incomplete mixed-type rows, trained with the
importance-weighted bound on observed cells (MIWAE), imputing by self-normalised importance
sampling. The adapter (``vae.py``) encodes the table and runs the training loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from imputebench.imputers._vae_priors import linear, make_prior

_LOG_2PI = math.log(2 * math.pi)
LOGVAR_RANGE = (-8.0, 8.0)     # encoder log-variances
LOGSIGMA_RANGE = (-5.0, 3.0)   # decoder log-scales of the (z-scored) numeric columns


@dataclass(frozen=True)
class Layout:
    """How rows are encoded: ``n_num`` z-scored numeric columns, then one-hot blocks of the
    categorical columns' ``cat_sizes``; the encoder's input is [values, masks].

    ``mode_blocks > 0`` is TVAE's mode-specific normalisation (``_tvae_core``): the numeric
    values are the within-mode scalars and the first ``mode_blocks`` categorical blocks are the
    numeric columns' mode indicators (their masks repeat the numeric masks and are not input
    twice); the numeric scales are then parameters, not decoder outputs.
    """

    n_num: int
    cat_sizes: tuple[int, ...]
    mode_blocks: int = 0

    @property
    def n_cat(self) -> int:
        return len(self.cat_sizes)

    @property
    def n_values(self) -> int:
        return self.n_num + sum(self.cat_sizes)

    @property
    def input_dim(self) -> int:
        return self.n_values + self.n_num + self.n_cat - self.mode_blocks

    @property
    def output_dim(self) -> int:
        return (1 if self.mode_blocks else 2) * self.n_num + sum(self.cat_sizes)


@dataclass
class Batch:
    """Encoded rows on the device: numeric values (0 where missing) and their mask, category
    codes (0 where missing) and their mask (masks as float 0/1); ``inp``, when set, is the
    encoder's input for these rows, built once (``TabularVAE.with_inputs``) so a training step
    gathers one matrix instead of building one-hot blocks."""

    x_num: torch.Tensor
    m_num: torch.Tensor
    codes: torch.Tensor
    m_cat: torch.Tensor
    inp: torch.Tensor | None = None

    def rows(self, idx) -> Batch:
        return Batch(self.x_num[idx], self.m_num[idx], self.codes[idx], self.m_cat[idx],
                     None if self.inp is None else self.inp[idx])

    def with_masks(self, m_num: torch.Tensor, m_cat: torch.Tensor) -> Batch:
        return Batch(self.x_num * m_num, m_num, self.codes * m_cat.long(), m_cat)

    def __len__(self) -> int:
        return self.x_num.shape[0]


def mlp(d_in: int, hidden: int | tuple[int, ...], n_layers: int, d_out: int, generator,
        activation: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    """MLP (``n_layers`` hidden layers of width ``hidden``, or the widths ``hidden`` lists);
    weights drawn from ``generator`` (torch's default init law, no global RNG)."""
    widths = tuple(hidden) if isinstance(hidden, tuple | list) else (hidden,) * n_layers
    layers, d = [], d_in
    for w in widths:
        layers += [linear(d, w, generator), activation()]
        d = w
    layers.append(linear(d, d_out, generator))
    return nn.Sequential(*layers)


class TabularVAE(nn.Module):
    """Encoder q(z | x_obs, mask), decoder p(x | z) with a Gaussian (learned scale) head per
    numeric column and a softmax head per categorical column, and a selectable prior."""

    def __init__(self, layout: Layout, latent_dim: int, hidden: int, n_layers: int,
                 prior: str, prior_params: dict | None = None, generator=None,
                 decoder_hidden: int | tuple[int, ...] | None = None,
                 activation: type[nn.Module] = nn.SiLU) -> None:
        super().__init__()
        self.layout = layout
        self.latent_dim = latent_dim
        self.encoder = mlp(layout.input_dim, hidden, n_layers, 2 * latent_dim, generator,
                           activation)
        self.decoder = mlp(latent_dim, hidden if decoder_hidden is None else decoder_hidden,
                           n_layers, layout.output_dim, generator, activation)
        self.prior = make_prior(prior, latent_dim, layout.input_dim, **(prior_params or {}),
                                generator=generator)
        # one-hot blocks padded to the widest, for one log_softmax over all categorical heads
        kmax = max(layout.cat_sizes, default=1)
        pad = torch.full((layout.n_cat, kmax), sum(layout.cat_sizes), dtype=torch.long)
        start = 0
        for j, k in enumerate(layout.cat_sizes):
            pad[j, :k] = torch.arange(start, start + k)
            start += k
        self.register_buffer("pad_index", pad, persistent=False)

    # ------------------------------------------------------------------ pieces
    def inputs(self, b: Batch) -> torch.Tensor:
        if b.inp is not None:
            return b.inp
        onehot = [nn.functional.one_hot(b.codes[:, j], k).to(b.x_num.dtype) * b.m_cat[:, [j]]
                  for j, k in enumerate(self.layout.cat_sizes)]
        return torch.cat([b.x_num * b.m_num, *onehot, b.m_num,
                          b.m_cat[:, self.layout.mode_blocks:]], dim=1)

    def with_inputs(self, b: Batch) -> Batch:
        """``b`` with its encoder input built once and kept."""
        with torch.no_grad():
            return Batch(b.x_num, b.m_num, b.codes, b.m_cat, self.inputs(b))

    def encode(self, inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(inp).float()
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def heads(self, z: torch.Tensor):
        """(numeric means, numeric log-scales, padded categorical log-probabilities)."""
        out = self.decoder(z).float()
        mu, log_sigma, logits = self.numeric_heads(out)
        ext = torch.cat([logits, logits.new_full(logits.shape[:-1] + (1,), -math.inf)], -1)
        logp = torch.log_softmax(ext[..., self.pad_index], dim=-1)
        return mu, log_sigma, logp

    def numeric_heads(self, out: torch.Tensor):
        """Split the decoder output into numeric means, numeric log-scales and the logits."""
        n = self.layout.n_num
        return out[..., :n], out[..., n:2 * n].clamp(*LOGSIGMA_RANGE), out[..., 2 * n:]

    def log_lik(self, heads, b: Batch, m_num=None, m_cat=None, weights=None) -> torch.Tensor:
        """log p(x | z) summed over the cells that ``m_num`` / ``m_cat`` (default: the batch's
        masks) mark; shape of the leading dims of ``heads``. ``weights``, when given, is a pair
        (numeric (n_num,), categorical (n_cat,)) of per-column factors on the cells' log
        likelihoods (the weighted ELBO's beta_i); ``None`` is the plain sum."""
        mu, log_sigma, logp = heads
        m_num = b.m_num if m_num is None else m_num
        m_cat = b.m_cat if m_cat is None else m_cat
        if weights is not None:
            m_num, m_cat = m_num * weights[0], m_cat * weights[1]
        r = (b.x_num - mu) * torch.exp(-log_sigma)
        num = ((-0.5 * r * r - log_sigma - 0.5 * _LOG_2PI) * m_num).sum(-1)
        if self.layout.n_cat == 0:
            return num
        idx = b.codes.expand(logp.shape[:-1]).unsqueeze(-1)
        cat = (torch.gather(logp, -1, idx).squeeze(-1) * m_cat).sum(-1)
        return num + cat

    def latent(self, b: Batch, k: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``k`` draws ``z ~ q(z | x_obs)`` per row (k, B, d) and ``log p(z) - log q(z | x)``."""
        return self.draw_latent(*self.encode(self.inputs(b)), k, generator)

    def draw_latent(self, mu: torch.Tensor, logvar: torch.Tensor, k: int, generator
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As :meth:`latent`, from the encoder's output (mu, logvar)."""
        std = torch.exp(0.5 * logvar)
        eps = torch.randn((k,) + mu.shape, generator=generator, device=mu.device)
        z = mu + std * eps
        log_q = (-0.5 * eps * eps - 0.5 * logvar - 0.5 * _LOG_2PI).sum(-1)
        return z, self.prior.log_prob(z, encoder=self.encode) - log_q

    # ------------------------------------------------------------------ objectives
    def miwae_loss(self, b: Batch, k: int, generator, beta: float = 1.0, weights=None,
                   return_means: bool = False):
        """Minus the importance-weighted bound with ``k`` samples, averaged over rows
        (``k = 1``: the ELBO).

        ``beta`` weighs the latent term and ``weights`` the columns' log-likelihoods (see
        :meth:`log_lik`): each sample's log weight is ``sum_i beta_i log p(x_i | z) +
        beta (log p(z) - log q(z | x))``, which for ``k = 1`` is the beta-weighted ELBO
        ``sum_i beta_i log p(x_i | z) - beta KL``; ``beta = 1`` and no weights are the plain
        bound, bit for bit. With ``return_means`` also the encoder's means (B, d)."""
        mu, logvar = self.encode(self.inputs(b))
        z, log_ratio = self.draw_latent(mu, logvar, k, generator)
        if beta != 1.0:
            log_ratio = beta * log_ratio
        log_w = self.log_lik(self.heads(z), b, weights=weights) + log_ratio
        loss = -(torch.logsumexp(log_w, 0) - math.log(k)).mean()
        return (loss, mu) if return_means else loss

    def heldout_loglik(self, full: Batch, m_num_train, m_cat_train, k: int, generator
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Importance-sampling estimate of ``log p(x_val | x_train)`` per row, with ``z`` drawn
        given the training cells; also the number of validation cells per row."""
        train = full.with_masks(m_num_train, m_cat_train)
        z, log_ratio = self.latent(train, k, generator)
        heads = self.heads(z)
        both = self.log_lik(heads, full) + log_ratio
        only = self.log_lik(heads, full, m_num_train, m_cat_train) + log_ratio
        n_val = (full.m_num - m_num_train).sum(-1) + (full.m_cat - m_cat_train).sum(-1)
        return torch.logsumexp(both, 0) - torch.logsumexp(only, 0), n_val

    # ------------------------------------------------------------------ imputation
    def posterior(self, b: Batch, k: int, generator):
        """Importance weights (k, B) of ``k`` latent draws given the observed cells, and the
        decoder heads at those draws."""
        z, log_ratio = self.latent(b, k, generator)
        heads = self.heads(z)
        w = torch.softmax(self.log_lik(heads, b) + log_ratio, dim=0)
        return w, heads

    def expected(self, b: Batch, k: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Self-normalised importance-sampling estimates: E[x_num | x_obs] (B, n_num) and
        E[p(category) | x_obs] per categorical column (B, n_cat, widest; its argmax is the
        imputed category)."""
        w, (mu, _, logp) = self.posterior(b, k, generator)
        num = (w.unsqueeze(-1) * mu).sum(0)
        probs = (w[..., None, None] * logp.exp()).sum(0)
        return num, probs

    def draws(self, b: Batch, k: int, n_draws: int, generator
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sampling-importance-resampling: per draw pick a latent sample by its weight, then
        x ~ p(x | z). Returns numeric (n_draws, B, n_num) and codes (n_draws, B, n_cat)."""
        w, (mu, log_sigma, logp) = self.posterior(b, k, generator)
        pick = torch.multinomial(w.T.contiguous(), n_draws, replacement=True,
                                 generator=generator).T            # (n_draws, B)
        rows = torch.arange(w.shape[1], device=w.device).expand_as(pick)
        return self.emit(mu[pick, rows], log_sigma[pick, rows], logp[pick, rows], generator)

    @staticmethod
    def emit(mu: torch.Tensor, log_sigma: torch.Tensor, logp: torch.Tensor, generator
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x ~ p(x | z)`` from the decoder heads at some ``z``: numeric values and the codes
        of the categorical columns (Gumbel-max on their log-probabilities)."""
        num = mu + torch.exp(log_sigma) * torch.randn(mu.shape, generator=generator,
                                                      device=mu.device)
        u = torch.rand(logp.shape, generator=generator, device=logp.device).clamp_(1e-12, 1.0)
        return num, (logp - torch.log(-torch.log(u))).argmax(-1)

    def generate(self, n: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` whole rows: ``z ~ p(z)`` (the prior), then ``x ~ p(x | z)``; numeric
        (n, n_num) and codes (n, n_cat)."""
        z = self.prior.sample(n, generator=generator, encoder=self.encode)
        return self.emit(*self.heads(z.to(self.pad_index.device)), generator)


def diagnostics(model: TabularVAE, b: Batch, generator, max_rows: int = 2000,
                labels: torch.Tensor | None = None) -> dict:
    """Posterior collapse and the prior "hole", measured on (up to ``max_rows``) rows.

    * ``kl_per_dim``: mean over rows of ``KL(q(z_d | x) || N(0, 1))`` per latent dimension
      (the model's own KL term for ``standard``; for the other priors a fixed yardstick);
    * ``active_units``: dimensions whose posterior mean varies across rows,
      ``Var_x(E_q[z_d]) > 0.01`` (Burda, Grosse & Salakhutdinov, ICLR 2016);
    * ``kl_total``: Monte-Carlo ``E_x E_q[log q(z | x) - log p(z)]`` under the model's prior;
    * ``prior_logp_at_means`` vs ``prior_logp_at_samples``: the prior's mean log density at
      the encoded means and at its own samples;
    * ``hole``: ``E_{z~p}[log q_agg(z)] - E_{z~q_agg}[log q_agg(z)]`` with ``q_agg`` the
      aggregated posterior (the mixture of the rows' q): how much less posterior mass lies
      where the prior puts its mass than where the posterior itself does; 0 = no hole, more
      negative = a bigger hole;
    * ``latent_map``: the 2-D picture of the encoded means over the prior's density
      (``_vae_latent``), coloured by ``labels`` (class codes per row, -1 = missing) when given.
    """
    from imputebench.imputers._vae_latent import latent_map

    n = min(len(b), max_rows)
    pick = torch.randperm(len(b), generator=generator, device=generator.device)[:n] \
        .to(b.x_num.device)
    sub = b.rows(pick)
    with torch.no_grad():
        mu, logvar = model.encode(model.inputs(sub))
        var = logvar.exp()
        kl_dim = (0.5 * (mu * mu + var - 1.0 - logvar)).mean(0)
        active = (mu.var(0) > 0.01).sum()
        z, log_ratio = model.latent(sub, 1, generator)
        kl_total = -log_ratio.mean()
        prior_at_means = model.prior.log_prob(mu, encoder=model.encode).mean()
        zp = model.prior.sample(n, generator=generator, encoder=model.encode).to(mu.device)
        prior_at_samples = model.prior.log_prob(zp, encoder=model.encode).mean()

        def log_q_agg(points):  # log (1/n) sum_i q(points | x_i), rows in blocks
            out = []
            for s in range(0, points.shape[0], 512):
                p = points[s:s + 512, None, :]
                lq = (-0.5 * (p - mu) ** 2 / var - 0.5 * logvar - 0.5 * _LOG_2PI).sum(-1)
                out.append(torch.logsumexp(lq, 1) - math.log(n))
            return torch.cat(out)

        hole = log_q_agg(zp).mean() - log_q_agg(z[0]).mean()
        picture = latent_map(model, mu, generator, None if labels is None else labels[pick])
    return {"latent_map": picture, "kl_per_dim": [float(v) for v in kl_dim.cpu()],
            "active_units": int(active),
            "kl_total": float(kl_total), "prior_logp_at_means": float(prior_at_means),
            "prior_logp_at_samples": float(prior_at_samples), "hole": float(hole),
            "rows": int(n)}
