"""Time and compare imputebench's ``knn`` with scikit-learn's ``KNNImputer`` on letter.

Usage::

    python benchmarks/perf/knn_vs_sklearn.py [--data-dir DIR] [--rows N] [--rate 0.2]
                                             [--repeats 3] [--seed 0] [--out results.json]

Loads ``gain/letter.csv`` (20,000 x 16 integer features) from ``--data-dir`` or
``$IMPUTEBENCH_DATA`` (exit status 2 when it is absent), hides ``--rate`` of the cells
completely at random (seeded), and in one process times two pairs, alternating which runs first:

* raw: ``sklearn.impute.KNNImputer(n_neighbors=5).fit_transform(X)`` against
  ``get_imputer("knn", scale=None).fit(df).transform(df)``: the same computation;
* std: ``KNNImputer`` on the z-scored table (mean and population sd of the observed cells),
  mapped back, against the default ``get_imputer("knn")`` (``scale="std"``).

It reports the best and median wall time of each side, the ratio ours / scikit-learn of the
best times, the peak traced memory of one run of each (``tracemalloc``, taken in separate runs
so that tracing does not slow the timed ones), and the agreement: the largest absolute
difference and the share of identical values over the hidden cells. A small table goes to
stdout and everything to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.impute import KNNImputer

from imputebench.datasets import MaskSpec, make_mask, make_typed
from imputebench.imputers import get_imputer

LETTER = Path("gain") / "letter.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=None,
                   help="directory holding gain/letter.csv (default: $IMPUTEBENCH_DATA)")
    p.add_argument("--rows", type=int, default=None, help="use the first N rows (default: all)")
    p.add_argument("--rate", type=float, default=0.2, help="MCAR missing rate (default 0.2)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each side (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mask (default 0)")
    p.add_argument("--n-neighbors", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("knn_vs_sklearn.json"),
                   help="JSON file for the results (default knn_vs_sklearn.json)")
    return p.parse_args(argv)


def load_letter(data_dir: Path | None, rows: int | None) -> pd.DataFrame:
    root = data_dir or (Path(os.environ["IMPUTEBENCH_DATA"])
                        if os.environ.get("IMPUTEBENCH_DATA") else None)
    if root is None:
        print("knn_vs_sklearn: no data directory; pass --data-dir DIR or set IMPUTEBENCH_DATA "
              f"to a directory holding {LETTER}", file=sys.stderr)
        sys.exit(2)
    path = root / LETTER
    if not path.is_file():
        print(f"knn_vs_sklearn: {path} is absent; pass --data-dir DIR or set IMPUTEBENCH_DATA "
              f"to a directory holding {LETTER}", file=sys.stderr)
        sys.exit(2)
    df = pd.read_csv(path)
    if rows is not None:
        df = df.iloc[:rows]
    return make_typed(df.astype(np.float64)).reset_index(drop=True)


def runners(hidden: pd.DataFrame, k: int) -> dict[str, dict]:
    """For each pair, two zero-argument callables returning an ndarray of the whole table."""
    X = hidden.to_numpy()
    mu, sd = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return {
        "raw": {
            "sklearn": lambda: KNNImputer(n_neighbors=k).fit_transform(X),
            "ours": lambda: get_imputer("knn", n_neighbors=k, scale=None)
            .fit(hidden).transform(hidden).to_numpy(),
        },
        "std": {
            "sklearn": lambda: KNNImputer(n_neighbors=k).fit_transform((X - mu) / sd) * sd + mu,
            "ours": lambda: get_imputer("knn", n_neighbors=k).fit(hidden).transform(hidden)
            .to_numpy(),
        },
    }


def timed(fn) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def compare(pair: dict, repeats: int, mask: np.ndarray) -> dict:
    times: dict[str, list[float]] = {"sklearn": [], "ours": []}
    outputs: dict[str, np.ndarray] = {}
    for r in range(repeats):
        order = ("sklearn", "ours") if r % 2 == 0 else ("ours", "sklearn")
        for side in order:
            seconds, outputs[side] = timed(pair[side])
            times[side].append(seconds)
    a, b = outputs["sklearn"], outputs["ours"]
    diff = np.abs(a - b)
    result = {side: {"best_s": min(t), "median_s": statistics.median(t), "runs_s": t,
                     "peak_mib": peak_mib(pair[side])} for side, t in times.items()}
    result["ratio_best"] = result["ours"]["best_s"] / result["sklearn"]["best_s"]
    result["ratio_median"] = result["ours"]["median_s"] / result["sklearn"]["median_s"]
    result["max_abs_diff"] = float(diff.max())
    result["max_abs_diff_hidden"] = float(diff[mask].max())
    result["identical_share_hidden"] = float((a[mask] == b[mask]).mean())
    result["identical_share_all"] = float((a == b).mean())
    return result


def machine() -> dict:
    from threadpoolctl import threadpool_info

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    blas = [{k: i.get(k) for k in ("internal_api", "num_threads", "version")}
            for i in threadpool_info() if i.get("user_api") == "blas"]
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]
        model = names[0] if names else model
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "platform": platform.platform(), "processor": model,
            "cpus": cpus, "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "sklearn": sklearn.__version__, "blas": blas}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.repeats < 1 or not 0 < args.rate < 1:
        print("knn_vs_sklearn: --repeats must be >= 1 and --rate in (0, 1)", file=sys.stderr)
        return 2
    df = load_letter(args.data_dir, args.rows)
    mask = make_mask(df, MaskSpec("mcar", args.rate), args.seed)
    hidden = df.mask(mask)
    results = {name: compare(pair, args.repeats, mask)
               for name, pair in runners(hidden, args.n_neighbors).items()}
    report = {"dataset": "letter", "shape": list(df.shape), "rate": args.rate,
              "achieved_rate": float(mask.mean()), "seed": args.seed,
              "n_neighbors": args.n_neighbors, "repeats": args.repeats,
              "machine": machine(), "results": results}
    print(f"letter {df.shape[0]} x {df.shape[1]}, MCAR {args.rate:.0%} (seed {args.seed}), "
          f"k={args.n_neighbors}, {args.repeats} repeats, {report['machine']['cpus']} CPUs")
    head = (f"{'pair':5} {'sklearn best/med s':>19} {'ours best/med s':>16} {'ratio':>6} "
            f"{'peak MiB sk/ours':>17} {'max |diff|':>10} {'identical':>9}")
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        sk, us = r["sklearn"], r["ours"]
        print(f"{name:5} {sk['best_s']:9.2f}/{sk['median_s']:<9.2f} "
              f"{us['best_s']:7.2f}/{us['median_s']:<8.2f} {r['ratio_best']:6.3f} "
              f"{sk['peak_mib']:8.0f}/{us['peak_mib']:<8.0f} {r['max_abs_diff']:10.2e} "
              f"{r['identical_share_hidden']:9.2%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
