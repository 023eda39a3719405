"""Time imputebench's ``tvae`` against ctgan's ``TVAE`` per epoch on adult, same architecture.

Usage::

    python benchmarks/perf/tvae_vs_ctgan.py [--reference-python PATH] [--device cpu|cuda]
        [--epochs 10] [--repeats 1] [--data-dir DIR] [--seed 0] [--out results.json]

Loads ``adult`` from ``--data-dir`` or ``$IMPUTEBENCH_DATA`` (exit status 2 when absent) and
keeps its first 32,561 rows (UCI's ``adult.data``, the training split the CTGAN paper uses),
6 numeric and 9 categorical columns (the income target included), complete. Both sides fit
the same table with TVAE's defaults: embedding 128, encoder and decoder (128, 128), batch 500,
loss factor 2, ``--epochs`` epochs, on ``--device``:

* reference: ctgan's ``TVAE.fit`` in a separate process run by ``--reference-python`` (an
  interpreter whose environment has ``ctgan``; rdt needs pandas < 3, so it cannot share ours:
  ``python -m venv ref && ref/bin/pip install torch==2.13.0 ctgan``). Its epochs are timed
  one by one (the helper wraps the epoch iterator of ``TVAE.fit``); the time before the first
  epoch is its preprocessing (the Bayesian GMMs). When the interpreter or ctgan is absent the
  script says so and times our side only;
* ours: ``TVAEImputer(val_share=0)`` (every epoch runs, no validation, as ctgan) ``fit``; its
  ``history_["seconds"]`` is the training loop, the rest of ``fit`` its preprocessing.

Reports per side: preprocessing seconds, training seconds per epoch, fit seconds per epoch
(preprocessing included), the mean training loss of each epoch (ours without the constant
``0.5 log(2 pi)`` per numeric cell that ctgan's loss leaves out: the two curves should fall
alike, which checks that both sides fit the same model), and the ratios reference / ours.
``--threads N`` sets torch's CPU threads on both sides (on a shared machine, 1 avoids
oversubscription). The sides alternate which goes first when ``--repeats`` > 1; medians are
reported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from imputebench.datasets import load_dataset
from imputebench.imputers import get_imputer

ADULT_TRAIN_ROWS = 32_561
REF_SCRIPT = Path(__file__).with_name("_ctgan_tvae_reference.py")
ARCH = {"embedding_dim": 128, "compress": [128, 128], "decompress": [128, 128],
        "batch_size": 500}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference-python", type=Path, default=None,
                   help="python of an environment with ctgan (reference skipped when absent)")
    p.add_argument("--device", default="cpu", help="cpu or cuda, both sides (cpu)")
    p.add_argument("--epochs", type=int, default=10, help="epochs per fit (10)")
    p.add_argument("--repeats", type=int, default=1, help="fits of each side (1)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="the data directory (default: $IMPUTEBENCH_DATA)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads of both sides (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("tvae_vs_ctgan.json"))
    return p.parse_args(argv)


def ours(df, args) -> dict:
    imp = get_imputer("tvae", embedding_dim=ARCH["embedding_dim"],
                      compress_dims=tuple(ARCH["compress"]),
                      decompress_dims=tuple(ARCH["decompress"]),
                      batch_size=ARCH["batch_size"], epochs=args.epochs, val_share=0.0,
                      device=args.device, random_state=args.seed)
    t = time.perf_counter()
    imp.fit(df)
    fit = time.perf_counter() - t
    train = imp.history_["seconds"]
    # our Gaussian log-density keeps 0.5 log(2 pi) per numeric cell; ctgan's loss drops it
    const = imp.loss_factor * 0.5 * math.log(2 * math.pi) * len(imp.num_cols_)
    return {"prep_s": fit - train, "fit_s": fit, "train_s": train,
            "epoch_loss": [v - const for v in imp.history_["train_loss"]],
            "epochs": imp.history_["epochs_run"], "device": imp.device_}


def reference(df, args, csv: Path) -> dict:
    job = {**ARCH, "epochs": args.epochs, "device": args.device, "seed": args.seed,
           "threads": args.threads,
           "discrete": [c for c in df.columns if str(df[c].dtype) == "category"]}
    proc = subprocess.run([str(args.reference_python), str(REF_SCRIPT), str(csv),
                           json.dumps(job)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the reference failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["train_s"] = sum(out["epoch_s"])
    out["epochs"] = args.epochs
    return out


def reference_available(args) -> str | None:
    """None when the reference can run, else why not."""
    if args.reference_python is None:
        return "no --reference-python given"
    if not args.reference_python.exists():
        return f"{args.reference_python} does not exist"
    probe = subprocess.run([str(args.reference_python), "-c", "import ctgan"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"{args.reference_python} cannot import ctgan"
    return None


def summary(runs: list[dict]) -> dict:
    med = {k: statistics.median(r[k] for r in runs) for k in ("prep_s", "fit_s", "train_s")}
    e = runs[0]["epochs"]
    return {**med, "train_s_per_epoch": med["train_s"] / e, "fit_s_per_epoch": med["fit_s"] / e,
            "runs": runs}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir or os.environ.get("IMPUTEBENCH_DATA")
    if data_dir:
        os.environ["IMPUTEBENCH_DATA"] = str(data_dir)
    try:
        df = load_dataset("adult", include_target=True).iloc[:ADULT_TRAIN_ROWS]
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        print(f"adult is not available ({exc}); pass --data-dir", file=sys.stderr)
        return 2
    df = df.reset_index(drop=True)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    why_not = reference_available(args)
    if why_not:
        print(f"reference skipped: {why_not}; timing imputebench's tvae only")
    results = {"ours": [], "reference": []}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "adult.csv"
        df.to_csv(csv, index=False)
        for r in range(args.repeats):
            order = ("ours", "reference") if r % 2 == 0 else ("reference", "ours")
            for side in order:
                if side == "reference" and why_not:
                    continue
                res = ours(df, args) if side == "ours" else reference(df, args, csv)
                results[side].append(res)
                print(f"{side:9s} fit {res['fit_s']:8.2f} s  preprocessing {res['prep_s']:6.2f}"
                      f" s  training {res['train_s'] / res['epochs']:7.3f} s/epoch  loss by "
                      f"epoch {', '.join(f'{v:.2f}' for v in res['epoch_loss'])}", flush=True)
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": platform.platform(), "cpus": os.cpu_count(), "device": args.device,
              "rows": len(df), "columns": df.shape[1], "epochs": args.epochs,
              "threads": args.threads, **ARCH,
              "ours": summary(results["ours"])}
    if results["reference"]:
        ref = report["reference"] = summary(results["reference"])
        o = report["ours"]
        report["speedup_train_per_epoch"] = ref["train_s_per_epoch"] / o["train_s_per_epoch"]
        report["speedup_fit_per_epoch"] = ref["fit_s_per_epoch"] / o["fit_s_per_epoch"]
        print(f"per epoch, training only: ctgan {ref['train_s_per_epoch']:.3f} s, ours "
              f"{o['train_s_per_epoch']:.3f} s -> {report['speedup_train_per_epoch']:.1f}x")
        print(f"per epoch, preprocessing included: ctgan {ref['fit_s_per_epoch']:.3f} s, ours "
              f"{o['fit_s_per_epoch']:.3f} s -> {report['speedup_fit_per_epoch']:.1f}x")
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
