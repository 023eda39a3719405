"""Time one TabDDPM training step, ours against the reference code, at the paper's adult setup.

Usage::

    python benchmarks/perf/tabddpm_vs_reference.py --reference PATH [--device cpu|cuda]
        [--steps 20] [--warmup 3] [--batch 4096] [--compile MODE] [--data-dir DIR]
        [--out results.json]

``--reference`` is a folder holding the reference package ``tab_ddpm/`` (from
https://github.com/yandex-research/tab-ddpm; never part of this repository; it needs only torch
and numpy). Without it the script says so and times our side only.

Setup, both sides: adult's 32,561 training rows (those without a missing cell: the reference
cannot take one), its 6 numeric columns (quantile-normal) and its
8 categorical feature columns (the income target left out, no class conditioning: the same
network on both sides), the tuned adult denoiser (MLP 256-1024-1024-1024-1024-256, 128-d time
embedding), 100 cosine steps, batch ``--batch``, AdamW lr 0.002 decaying linearly.

* reference: ``GaussianMultinomialDiffusion(...).mixed_loss`` on ``MLPDiffusion``, stepped as
  its ``Trainer.run_loop`` does: the batch moved from host memory to the device, zero_grad,
  loss, backward, AdamW step, the learning-rate update, and the two ``.item()`` reads of the
  losses that its loop makes every step;
* ours: ``_ddpm_model.TabDiffusion.loss`` with the table resident on the device, batches
  gathered there, fused AdamW on CUDA, losses kept on the device (no host sync per step).

Reports milliseconds per step (after ``--warmup`` steps, CUDA synchronised around the timed
block) and the ratio reference / ours.

With ``--sample-rows N`` (0 = skip) it also times drawing N whole new rows from the (untrained:
the cost does not depend on the weights) model by ancestral sampling over the 100 levels: the
reference's ``GaussianMultinomialDiffusion.sample`` against our ``_ddpm_sample.sample`` (one
batch, bf16 autocast on CUDA, the timestep embedding computed once per level).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

WIDTHS = [256, 1024, 1024, 1024, 1024, 256]
N_STEPS = 100
LR = 0.002


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", type=Path, default=None,
                   help="folder holding the reference tab_ddpm/ package (skipped when absent)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=20, help="timed steps per side (20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (3)")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--sample-rows", type=int, default=0,
                   help="also time drawing this many new rows (0: skip; the paper: 10,000)")
    p.add_argument("--compile", default="off",
                   help="ours: torch.compile mode of the step (off | default | reduce-overhead,"
                        " CUDA graphs on a GPU | max-autotune); warm-up steps absorb compiling")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("tabddpm_vs_reference.json"))
    return p.parse_args(argv)


def adult_arrays():
    from sklearn.preprocessing import QuantileTransformer

    from imputebench.datasets import load_dataset

    df = load_dataset("adult", include_target=False).iloc[:32_561].dropna()
    num_cols = [c for c in df.columns if str(df[c].dtype) != "category"]
    cat_cols = [c for c in df.columns if str(df[c].dtype) == "category"]
    x = df[num_cols].to_numpy(np.float64)
    qt = QuantileTransformer(output_distribution="normal", n_quantiles=1000, subsample=10**9,
                             random_state=0)
    x = qt.fit_transform(x).astype(np.float32)
    codes = np.stack([df[c].cat.codes.to_numpy() for c in cat_cols], axis=1).astype(np.int64)
    sizes = [len(df[c].cat.categories) for c in cat_cols]
    return x, codes, sizes


def _sync(torch, device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _seconds_per_step(step, args, torch, device) -> float:
    """Run ``step(s)`` for the warm-up steps, then time the others (CUDA synchronised)."""
    for s in range(args.warmup):
        step(s)
    _sync(torch, device)
    t0 = time.perf_counter()
    for s in range(args.warmup, args.warmup + args.steps):
        step(s)
    _sync(torch, device)
    return (time.perf_counter() - t0) / args.steps


def time_ours(x, codes, sizes, args) -> float:
    import torch

    from imputebench.imputers import _torch_train as tt
    from imputebench.imputers._ddpm_model import TabDiffusion

    dev = torch.device(args.device)
    model = TabDiffusion(x.shape[1], tuple(sizes), tuple(WIDTHS), N_STEPS,
                         generator=torch.Generator().manual_seed(0)).to(dev)
    xn = torch.as_tensor(x, device=dev)
    cd = torch.as_tensor(codes, device=dev)
    ones_n, ones_c = torch.ones_like(xn), torch.ones(cd.shape, device=dev)
    g = tt.generator_for(0, dev)
    opt = tt.make_adamw(model.parameters(), LR, 0.0, dev)
    total = args.warmup + args.steps
    losses = torch.zeros(total, device=dev)
    n = len(x)

    step_loss = model.loss_from
    if args.compile != "off":
        step_loss = torch.compile(model.loss_from, mode=args.compile, dynamic=False)
    graphs = args.compile == "reduce-overhead" and dev.type == "cuda"

    def step(s):
        idx = torch.randint(0, n, (args.batch,), generator=g, device=dev)
        for group in opt.param_groups:
            group["lr"] = LR * (1 - s / total)
        if graphs:
            torch.compiler.cudagraph_mark_step_begin()
        with tt.autocast(dev):
            loss = step_loss(xn[idx], ones_n[idx], cd[idx], ones_c[idx],
                             *model.draws(args.batch, dev, g))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses[s] = loss.detach()

    return _seconds_per_step(step, args, torch, dev)


def sample_ours(x, sizes, args) -> float:
    import torch

    from imputebench.imputers import _torch_train as tt
    from imputebench.imputers._ddpm_model import TabDiffusion
    from imputebench.imputers._ddpm_sample import sample

    dev = torch.device(args.device)
    model = TabDiffusion(x.shape[1], tuple(sizes), tuple(WIDTHS), N_STEPS,
                         generator=torch.Generator().manual_seed(0)).to(dev).eval()
    n = args.sample_rows
    zn = torch.zeros(n, x.shape[1], device=dev)
    zc = torch.zeros(n, len(sizes), device=dev)
    g = tt.generator_for(0, dev)

    def draw():
        with tt.autocast(dev):
            sample(model, zn, zn, zc.long(), zc, g, resample=1)

    draw()                                                    # warm-up
    _sync(torch, dev)
    t0 = time.perf_counter()
    draw()
    _sync(torch, dev)
    return time.perf_counter() - t0


def sample_reference(x, sizes, args) -> float:
    import contextlib
    import io

    import torch

    sys.path.insert(0, str(args.reference))
    from tab_ddpm import GaussianMultinomialDiffusion, MLPDiffusion

    dev = torch.device(args.device)
    net = MLPDiffusion(x.shape[1] + sum(sizes), num_classes=0, is_y_cond=False,
                       rtdl_params={"d_layers": list(WIDTHS), "dropout": 0.0})
    diffusion = GaussianMultinomialDiffusion(np.array(sizes), x.shape[1], net,
                                             num_timesteps=N_STEPS, gaussian_loss_type="mse",
                                             scheduler="cosine", device=dev).to(dev).eval()
    y_dist = torch.ones(1, device=dev)

    def draw():
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):   # its step counter
            diffusion.sample(args.sample_rows, y_dist)

    draw()
    _sync(torch, dev)
    t0 = time.perf_counter()
    draw()
    _sync(torch, dev)
    return time.perf_counter() - t0


def time_reference(x, codes, sizes, args) -> float:
    import torch

    sys.path.insert(0, str(args.reference))
    from tab_ddpm import GaussianMultinomialDiffusion, MLPDiffusion

    dev = torch.device(args.device)
    d_in = x.shape[1] + sum(sizes)
    net = MLPDiffusion(d_in, num_classes=0, is_y_cond=False,
                       rtdl_params={"d_layers": list(WIDTHS), "dropout": 0.0})
    diffusion = GaussianMultinomialDiffusion(np.array(sizes), x.shape[1], net,
                                             num_timesteps=N_STEPS, gaussian_loss_type="mse",
                                             scheduler="cosine", device=dev).to(dev)
    opt = torch.optim.AdamW(diffusion.parameters(), lr=LR, weight_decay=0.0)
    data = torch.as_tensor(np.concatenate([x, codes.astype(np.float32)], axis=1))
    total = args.warmup + args.steps
    rng = np.random.default_rng(0)

    def step(s):
        batch = data[torch.as_tensor(rng.integers(0, len(data), args.batch))].to(dev)
        opt.zero_grad()
        loss_multi, loss_gauss = diffusion.mixed_loss(batch, {})
        (loss_multi + loss_gauss).backward()
        opt.step()
        for group in opt.param_groups:
            group["lr"] = LR * (1 - s / total)
        loss_multi.item(), loss_gauss.item()

    return _seconds_per_step(step, args, torch, dev)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.data_dir:
        os.environ["IMPUTEBENCH_DATA"] = str(args.data_dir)
    try:
        x, codes, sizes = adult_arrays()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        print(f"adult is not available ({exc}); pass --data-dir", file=sys.stderr)
        return 2
    have_ref = args.reference is not None and (args.reference / "tab_ddpm").is_dir()
    if not have_ref:
        print("reference skipped: pass --reference, a folder holding tab_ddpm/ from "
              "yandex-research/tab-ddpm; timing ours only")
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": platform.platform(), "cpus": os.cpu_count(), "device": args.device,
              "batch": args.batch, "steps": args.steps, "widths": WIDTHS, "n_steps": N_STEPS,
              "categories": sizes, "compile": args.compile}
    report["ours_ms"] = 1000 * time_ours(x, codes, sizes, args)
    print(f"ours       {report['ours_ms']:9.1f} ms/step")
    if have_ref:
        report["reference_ms"] = 1000 * time_reference(x, codes, sizes, args)
        report["speedup"] = report["reference_ms"] / report["ours_ms"]
        print(f"reference  {report['reference_ms']:9.1f} ms/step -> {report['speedup']:.2f}x")
    if args.sample_rows > 0:
        report["sample_rows"] = args.sample_rows
        report["ours_sample_s"] = sample_ours(x, sizes, args)
        print(f"ours       {report['ours_sample_s']:9.2f} s to draw {args.sample_rows} rows")
        if have_ref:
            report["reference_sample_s"] = sample_reference(x, sizes, args)
            report["sample_speedup"] = report["reference_sample_s"] / report["ours_sample_s"]
            print(f"reference  {report['reference_sample_s']:9.2f} s -> "
                  f"{report['sample_speedup']:.2f}x")
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
