"""Reverse sampling of a trained ``TabDiffusion``: whole rows, or the missing cells of rows
conditioned on their observed ones by RePaint (Lugmayr et al., CVPR 2022).

**RePaint on tables.** The reverse chain runs from pure noise at level ``T-1`` to the data at
level -1. At each reverse step from level ``t`` the model proposes level ``t-1`` for every cell;
then the observed cells are replaced by their true values forward-noised to level ``t-1``
(numeric: ``sqrt(abar) x0 + sqrt(1 - abar) noise``; categorical: a draw from ``q(x_{t-1} | x_0)``;
at level -1 the values themselves). Resampling: after reaching a level that is a multiple of
``jump`` (below ``T - jump``), the chain goes back up ``jump`` levels by the forward process
(numeric ``sqrt(1 - beta) x + sqrt(beta) noise``; categorical a draw from
``q(x_{t+1} | x_t)``) and comes down again, ``resample - 1`` times, so that the proposed cells
harmonise with the observed ones. ``resample = 1`` is plain ancestral sampling.
"""

from __future__ import annotations

import torch

from imputebench.imputers import _ddpm_core as dc


def jump_schedule(n_steps: int, jump: int = 10, resample: int = 10) -> list[int]:
    """Levels visited, from ``n_steps - 1`` down to -1 with RePaint's jumps back up."""
    if jump < 1 or resample < 1:
        raise ValueError("jump and resample must be positive")
    left = {t: resample - 1 for t in range(0, n_steps - jump, jump)}
    levels, t = [], n_steps
    while t >= 1:
        t -= 1
        levels.append(t)
        if left.get(t, 0) > 0:
            left[t] -= 1
            for _ in range(jump):
                t += 1
                levels.append(t)
    levels.append(-1)
    return levels


@torch.no_grad()
def sample(model, x_num0, m_num, codes0, m_cat, generator, jump: int = 10,
           resample: int = 10, clip: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw the cells whose mask is 0 given those whose mask is 1 (all masks 0: whole new
    rows). ``x_num0`` / ``codes0`` hold the observed values (anything where masked). Returns
    numeric values on the model's (quantile-normal) scale and category codes. ``clip``: bound
    on the predicted ``x_0`` (``gaussian_p_sample``)."""
    s, cats = model.sched, model.cats
    n, dev = x_num0.shape[0], x_num0.device
    # every row is at the same level: one timestep of shape (1,) broadcasts over the rows, so
    # the timestep embedding and its MLP run once per step instead of once per row
    k = torch.zeros(1, dtype=torch.long, device=dev)

    def randn():
        return torch.randn(x_num0.shape, generator=generator, device=dev)

    x = randn()
    has_cat = model.n_cat > 0
    if has_cat:
        log_x0 = cats.log_onehot(codes0.clamp(min=0))
        uniform = cats.normalize(torch.zeros(n, model.n_cat, cats.kmax, device=dev))
        c = cats.sample(uniform, generator)
    else:
        c = codes0
    levels = jump_schedule(model.n_steps, jump, resample)
    for t_last, t_cur in zip(levels[:-1], levels[1:], strict=True):
        tt = k + t_last
        if t_cur < t_last:                                    # reverse step t_last -> t_cur
            log_c = cats.log_onehot(c) if has_cat else None
            eps_hat, log_p0 = model.predict(x, log_c, tt)
            x = dc.gaussian_p_sample(s, x, tt, eps_hat, randn(), clip)
            if t_cur >= 0:
                known = dc.gaussian_q_sample(s, x_num0, k + t_cur, randn())
            else:
                known = x_num0
            x = torch.where(m_num > 0, known, x)
            if has_cat:
                c = cats.sample(dc.cat_q_posterior(s, cats, log_p0, log_c, tt), generator)
                if t_cur >= 0:
                    known_c = cats.sample(dc.cat_q_pred(s, cats, log_x0, k + t_cur), generator)
                else:
                    known_c = codes0
                c = torch.where(m_cat > 0, known_c, c)
        else:                                                 # forward step t_last -> t_cur
            b = s.betas[t_cur]
            x = (1 - b).sqrt() * x + b.sqrt() * randn()
            if has_cat:
                c = cats.sample(dc.cat_q_one_step(s, cats, cats.log_onehot(c), k + t_cur),
                                generator)
    return x, c
