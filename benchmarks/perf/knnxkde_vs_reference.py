"""Time and compare imputebench's ``knnxkde`` with the reference kNNxKDE code on sulfur.

Usage::

    python benchmarks/perf/knnxkde_vs_reference.py [--data-dir DIR] [--reference PATH]
        [--rate 0.2] [--draws 1000] [--repeats 3] [--seed 0] [--out results.json]

Loads ``knnxkde/sulfur.csv`` (10,081 x 7) from ``--data-dir`` or ``$IMPUTEBENCH_DATA`` (exit
status 2 when absent), hides ``--rate`` of the cells with ``full_mcar`` (seeded ``make_mask``:
no row loses every cell), min-max scales with the observed cells (what ``knnxkde`` does
inside) and, in one process, alternating which side goes first:

* reference: ``KNNxKDE(h=0.03, tau=1/50).impute_mean(X, nb_draws=--draws)`` on the scaled
  array, imported from ``--reference`` (the folder holding the reference ``knnxkde.py``, from
  https://github.com/DeltaFloflo/knnxkde; never part of this repository). When it is absent the
  script says so and times our side only;
* ours: ``fit`` + ``transform`` (the exact mixture mean), and ``fit`` + ``sample(n_draws=
  --draws)`` (also timed without the base class's per-draw checks, ``_sample``).

Reports best and median times, the ratio reference / ours, the RMSE of each side against the
truth over the hidden cells on the min-max scale, and the largest absolute difference between
our ``transform`` and the reference's ``impute_mean`` (Monte-Carlo noise of ``--draws`` draws).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from imputebench.datasets import MaskSpec, make_mask
from imputebench.imputers import get_imputer

SULFUR = Path("knnxkde") / "sulfur.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=None,
                   help="directory holding knnxkde/sulfur.csv (default: $IMPUTEBENCH_DATA)")
    p.add_argument("--reference", type=Path, default=None,
                   help="folder holding the reference knnxkde.py (skipped when absent)")
    p.add_argument("--rate", type=float, default=0.2, help="full_mcar missing rate (0.2)")
    p.add_argument("--draws", type=int, default=1000, help="draws per cell (1000)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each side (3)")
    p.add_argument("--device", default="cpu",
                   help="our side's device: cpu (numpy), cuda (torch on the GPU), auto (cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mask and draws (0)")
    p.add_argument("--out", type=Path, default=Path("knnxkde_vs_reference.json"))
    return p.parse_args(argv)


def load_reference(folder: Path | None):
    """The reference ``KNNxKDE`` class, or None (with a message) when it cannot be loaded."""
    if folder is None:
        print("reference: no --reference given; timing our side only")
        return None
    path = folder / "knnxkde.py"
    if not path.is_file():
        print(f"reference: {path} not found; timing our side only")
        return None
    spec = importlib.util.spec_from_file_location("knnxkde_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.KNNxKDE


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir or (Path(os.environ["IMPUTEBENCH_DATA"])
                                 if os.environ.get("IMPUTEBENCH_DATA") else None)
    if data_dir is None or not (data_dir / SULFUR).is_file():
        print(f"{SULFUR} not found (give --data-dir or set IMPUTEBENCH_DATA)", file=sys.stderr)
        return 2
    raw = pd.read_csv(data_dir / SULFUR, header=None).astype(np.float64)
    raw.columns = [f"x{j}" for j in range(raw.shape[1])]
    mask = make_mask(raw, MaskSpec("full_mcar", args.rate), args.seed)
    hidden = raw.mask(mask)
    lo, hi = hidden.min().to_numpy(), hidden.max().to_numpy()
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = ((hidden - lo) / span).to_numpy()
    truth = ((raw - lo) / span).to_numpy()
    ref_cls = load_reference(args.reference)

    def fitted():
        return get_imputer("knnxkde", device=args.device).fit(hidden)

    def ours_transform():
        return fitted().transform(hidden)

    def ours_sample():
        return fitted().sample(hidden, args.draws, args.seed)

    def ours_core_sample():
        imp = fitted()
        return imp._sample(hidden.copy(), args.draws, np.random.default_rng(args.seed))

    def reference():
        # The reference draws from numpy's global generator; it is left unseeded (no global
        # seeding here either): its Monte-Carlo noise only moves the agreement figures slightly.
        return ref_cls(h=0.03, tau=1.0 / 50.0).impute_mean(scaled, nb_draws=args.draws)

    sides = {"ours transform": ours_transform, "ours sample": ours_sample,
             "ours _sample (no base checks)": ours_core_sample}
    if ref_cls is not None:
        sides["reference impute_mean"] = reference
    times = {k: [] for k in sides}
    results = {}
    for rep in range(args.repeats):
        names = list(sides) if rep % 2 == 0 else list(sides)[::-1]
        for name in names:
            dt, out = timed(sides[name])
            times[name].append(dt)
            results[name] = out
            del out
        print(f"repeat {rep}: " + ", ".join(f"{k} {times[k][-1]:.3f} s" for k in sides))

    ours = ((results["ours transform"] - lo) / span).to_numpy()
    rows = {}
    for name, ts in times.items():
        rows[name] = {"best_s": min(ts), "median_s": statistics.median(ts), "times_s": ts}
    cells = np.asarray(mask)
    agreement = {"achieved_rate": float(cells.mean()),
                 "rmse_ours_transform": float(np.sqrt(np.mean((ours - truth)[cells] ** 2)))}
    draws = results.pop("ours sample")
    mean_draw = np.mean([((d - lo) / span).to_numpy()[cells] for d in draws], axis=0)
    agreement["max_abs_ours_transform_vs_mean_of_our_draws"] = float(
        np.abs(mean_draw - ours[cells]).max())
    if ref_cls is not None:
        ref = results["reference impute_mean"]
        agreement["reference_returned_none"] = ref is None
        if ref is not None:
            agreement["rmse_reference"] = float(np.sqrt(np.nanmean((ref - truth)[cells] ** 2)))
            agreement["max_abs_ours_vs_reference"] = float(np.nanmax(np.abs(ref - ours)[cells]))
            agreement["reference_nan_cells"] = int(np.isnan(ref[cells]).sum())
        best_ref = rows["reference impute_mean"]["best_s"]
        for name in rows:
            rows[name]["speedup_vs_reference"] = best_ref / rows[name]["best_s"]

    print(f"\nsulfur {raw.shape}, full_mcar {args.rate} (achieved {cells.mean():.4f}), "
          f"{args.draws} draws, {args.repeats} repeats")
    print(f"{'side':32s} {'best s':>8s} {'median s':>9s} {'reference/ours':>15s}")
    for name, r in rows.items():
        ratio = r.get("speedup_vs_reference")
        print(f"{name:32s} {r['best_s']:8.3f} {r['median_s']:9.3f} "
              f"{'' if ratio is None else f'{ratio:.1f}x':>15s}")
    for k, v in agreement.items():
        print(f"{k}: {v}")
    from threadpoolctl import threadpool_info
    payload = {"when": datetime.now(UTC).isoformat(), "machine": platform.platform(),
               "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count(), "python": platform.python_version(),
               "numpy": np.__version__,
               "blas_threads": [i["num_threads"] for i in threadpool_info()],
               "args": {k: str(v) for k, v in vars(args).items()}, "timings": rows,
               "agreement": agreement}
    args.out.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
