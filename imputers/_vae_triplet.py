"""The triplet term of the ``vae`` imputer (Ishfaq, Hoogi & Rubin 2018) and its mining rules.

The paper adds ``lambda * max(0, D(mu_a, mu_p) - D(mu_a, mu_n) + m)`` to the VAE's loss, with
``D`` the Euclidean distance between the encoder's latent means of an anchor, a positive (same
class) and a negative (another class) image. Tables rarely come with classes, so two rules
pick the triplets inside each minibatch:

* ``label``: positive = a uniformly drawn other row with the anchor's class, negative = a
  uniformly drawn row of another class; rows whose class is missing (or held out) are neither;
  an anchor needs both a positive and a negative in the batch.
* ``neighbours``: distances between the batch's rows on the cells both observe (z-scored
  numeric difference squared, 1 per categorical mismatch; the sum rescaled by the number of
  columns over the number of shared ones, as scikit-learn's nan-Euclidean distance); positive
  = the nearest other row, negative = a uniformly drawn row farther than the anchor's median
  distance. Rows sharing no observed cell with a row are never paired with it.

Imports torch at module level: only ``_vae_core`` users import it.
"""

from __future__ import annotations

import torch


def triplet_hinge(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                  margin: float) -> torch.Tensor:
    """``max(0, |a - p| - |a - n| + margin)`` per triplet (rows of the (T, d) inputs)."""
    d_ap = torch.linalg.vector_norm(anchor - positive, dim=-1)
    d_an = torch.linalg.vector_norm(anchor - negative, dim=-1)
    return torch.relu(d_ap - d_an + margin)


def _pick(allowed: torch.Tensor, generator) -> torch.Tensor:
    """Per row, a uniformly drawn column among the ``allowed`` ones (rows with none: any)."""
    u = torch.rand(allowed.shape, generator=generator, device=allowed.device)
    return torch.where(allowed, u, -1.0).argmax(1)


def mine_by_label(labels: torch.Tensor, generator
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Triplet indices (anchors, positives, negatives) from class codes (-1 = unknown)."""
    known = labels >= 0
    both = known[:, None] & known[None, :]
    same = both & (labels[:, None] == labels[None, :])
    same.fill_diagonal_(False)
    other = both & (labels[:, None] != labels[None, :])
    anchors = torch.nonzero(same.any(1) & other.any(1)).squeeze(1)
    return anchors, _pick(same, generator)[anchors], _pick(other, generator)[anchors]


def nan_distances(x_num: torch.Tensor, m_num: torch.Tensor, codes: torch.Tensor,
                  m_cat: torch.Tensor, cat_sizes: tuple[int, ...]) -> torch.Tensor:
    """(B, B) nan-aware distances on the cells both rows observe (module docstring); ``inf``
    where two rows share none and on the diagonal."""
    x = (x_num * m_num).float()
    m = m_num.float()
    xx = x * x
    sq = xx @ m.T + m @ xx.T - 2.0 * (x @ x.T)
    shared = m @ m.T
    if cat_sizes:
        mc = m_cat.float()
        onehot = torch.cat([torch.nn.functional.one_hot(codes[:, j], k).float() * mc[:, [j]]
                            for j, k in enumerate(cat_sizes)], dim=1)
        cat_shared = mc @ mc.T
        sq = sq + cat_shared - onehot @ onehot.T
        shared = shared + cat_shared
    n_cols = m.shape[1] + len(cat_sizes)
    d = torch.sqrt(sq.clamp(min=0.0) * n_cols / shared.clamp(min=1.0))
    d = torch.where(shared > 0, d, torch.inf)
    return d.fill_diagonal_(torch.inf)


def mine_by_neighbours(dist: torch.Tensor, generator
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Triplet indices from a (B, B) distance matrix (``inf`` = not comparable)."""
    finite = torch.isfinite(dist)
    median = torch.nanmedian(torch.where(finite, dist, torch.nan), dim=1).values
    far = finite & (dist > median[:, None])
    anchors = torch.nonzero(finite.any(1) & far.any(1)).squeeze(1)
    return anchors, dist.argmin(1)[anchors], _pick(far, generator)[anchors]
