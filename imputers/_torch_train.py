"""Shared training loop of the torch imputers: data resident on the device, seeded minibatches,
fused / foreach Adam, bf16 autocast on CUDA, early stopping on a validation score.

Imports torch at module level: only the adapters' ``_fit`` imports this module, so the package
stays importable without torch.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch


@dataclass
class TrainConfig:
    """Budget and optimiser of one training run.

    ``patience``: epochs without a better validation score before stopping (the best epoch's
    weights are restored); ``min_epochs``: epochs always run. ``amp``: bf16 autocast of the
    forward pass on CUDA (losses stay float32); ignored on the CPU.
    """

    epochs: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    min_epochs: int = 1
    amp: bool = True


@dataclass
class History:
    """What a training run did: per-epoch mean training loss and validation score."""

    train_loss: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    best_epoch: int = -1
    epochs_run: int = 0
    seconds: float = 0.0
    stopped_early: bool = False

    def as_dict(self) -> dict:
        return {"train_loss": self.train_loss, "val_score": self.val_score,
                "best_epoch": self.best_epoch, "epochs_run": self.epochs_run,
                "seconds": self.seconds, "stopped_early": self.stopped_early}


def autocast(device: torch.device | str, enabled: bool = True):
    """bf16 autocast on CUDA when ``enabled``; a no-op context on the CPU."""
    dev = torch.device(device)
    if enabled and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_optimizer(params, cfg: TrainConfig, device: torch.device | str) -> torch.optim.Adam:
    """Adam, fused on CUDA (one kernel for all parameters), foreach on the CPU."""
    if torch.device(device).type == "cuda":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)


def make_adamw(params, lr: float, weight_decay: float, device: torch.device | str
               ) -> torch.optim.AdamW:
    """AdamW, fused on CUDA, foreach on the CPU."""
    if torch.device(device).type == "cuda":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=True)


def fit(module: torch.nn.Module, step_loss: Callable[[torch.Tensor], torch.Tensor],
        n_rows: int, cfg: TrainConfig, generator: torch.Generator,
        validate: Callable[[], float] | None = None,
        after_step: Callable[[], None] | None = None) -> History:
    """Train ``module`` by minibatch Adam on ``step_loss(row_indices)``.

    Rows are reshuffled each epoch by ``torch.randperm`` with ``generator`` (on the data's
    device); the last partial batch is kept. The per-step losses are summed on the device and
    read once per epoch (no host sync per step). After each epoch ``validate()`` (lower is
    better) decides early stopping; the best epoch's weights are restored at the end. Without
    ``validate`` every epoch runs and the last weights are kept. ``after_step()`` runs after
    every optimiser step (e.g. to clamp parameters).
    """
    device = next(module.parameters()).device
    opt = make_optimizer([p for p in module.parameters() if p.requires_grad], cfg, device)
    hist = History()
    best_state, best, bad = None, float("inf"), 0
    t0 = time.perf_counter()
    bs = max(1, min(int(cfg.batch_size), n_rows))
    for epoch in range(int(cfg.epochs)):
        module.train()
        perm = torch.randperm(n_rows, generator=generator, device=generator.device)
        perm = perm.to(device)
        total = torch.zeros((), device=device)
        steps = 0
        for start in range(0, n_rows, bs):
            loss = step_loss(perm[start:start + bs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step()
            total += loss.detach()
            steps += 1
        hist.train_loss.append(float(total) / max(steps, 1))
        hist.epochs_run = epoch + 1
        if validate is None:
            continue
        module.eval()
        with torch.no_grad():
            score = float(validate())
        hist.val_score.append(score)
        if score < best - 1e-6 * max(1.0, abs(best)) or best_state is None:
            best, bad, hist.best_epoch = score, 0, epoch
            best_state = copy.deepcopy(module.state_dict())
        else:
            bad += 1
            if bad >= cfg.patience and epoch + 1 >= cfg.min_epochs:
                hist.stopped_early = True
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    elif validate is None:
        hist.best_epoch = hist.epochs_run - 1
    module.eval()
    hist.seconds = time.perf_counter() - t0
    return hist


def generator_for(seed: int, device: torch.device | str) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` (CUDA generators draw on the GPU) seeded by ``seed``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g
