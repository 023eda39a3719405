"""How every imputer and the table metrics scale with the number of rows: time and peak memory.

Usage::

    python benchmarks/perf/scale.py [--sizes 10000 30000 100000] [--imputers knn vae ...]
        [--numeric 40] [--categorical 10] [--rate 0.3] [--timeout 3600] [--device cpu]
        [--out scale.json]

For each size ``n`` the table is the seeded synthetic generator's (``datasets`` ``synthetic``:
``--numeric`` non-linear numeric and ``--categorical`` dependent categorical columns of 4
levels; 50 columns by default) with ``--rate`` of its cells hidden completely at random. Each
(imputer, n) runs in a fresh process (so peak memory is its own): fit + transform, or fit +
``sample_rows(n)`` for generators that do not impute. Each (metric, n) too, once per size, not
per imputer (a metric's cost does not depend on who imputed): the metric scores the
``independent`` imputer's table (its point imputation, or 5 draws for the metrics that use
draws). Reported per run: seconds, the process's peak resident memory (``ru_maxrss``), and per
imputer or metric the log-log slope of seconds against ``n`` (least squares over the sizes
that finished: 1 = linear, 2 = quadratic). A run past ``--timeout`` is killed and reported as
such, never waited for.

Sizes run in turn, every imputer and metric at one size before the next (one that failed or
timed out is not tried at a larger size), and the JSON is rewritten after every run, so a run
cut short keeps what finished; ``--resume`` keeps the finished runs of an earlier ``--out``
and runs only the rest. Budgets are fixed per imputer (``BUDGETS``: epochs or steps that
do not grow with ``n``), so the slope measures the method, not a budget rule. Numeric-only
imputers (mice, missforest, knnxkde) get the numeric columns only. Each run's thread pools are
capped at one thread as in a benchmark cell (``cell.thread_limit``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

BUDGETS = {
    "vae": {"epochs": 5, "device": "cpu"},
    "triplet_vae": {"epochs": 5, "device": "cpu"},
    "tvae": {"epochs": 5, "device": "cpu"},
    "tabddpm": {"widths": [256, 256], "n_steps": 50, "train_steps": 500, "batch_size": 1024,
                "n_draws_impute": 2, "resample": 2, "device": "cpu"},
    "knnxkde": {"device": "cpu"},
    # transform = the mean of 2 chains, not the default 10: each chain costs the same, so the
    # default takes 5x these seconds (the slope is the same).
    "cart": {"n_point_draws": 2},
    "sdv_tvae": {"epochs": 5, "device": "cpu"},
    "sdv_ctgan": {"epochs": 5, "device": "cpu"},
    "sdv_copulagan": {"epochs": 5, "device": "cpu"},
}
METRIC_DRAWS = 5
MIN_SLOPE_SECONDS = 0.5
METRIC_PREFIX = "metric:"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    p.add_argument("--imputers", nargs="+", default=None, help="default: every registered one")
    p.add_argument("--numeric", type=int, default=40)
    p.add_argument("--categorical", type=int, default=10)
    p.add_argument("--rate", type=float, default=0.3)
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per run (3600)")
    p.add_argument("--device", default="cpu", help="device of the torch imputers")
    p.add_argument("--metrics", nargs="*", default=None,
                   help="metrics to time (default: every registered one but those derived from "
                        "another's result; none: --metrics)")
    p.add_argument("--resume", action="store_true",
                   help="keep the finished runs of an earlier --out and run only the rest")
    p.add_argument("--out", type=Path, default=Path("scale.json"))
    return p.parse_args(argv)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _table(n: int, args: dict, categorical: bool):
    from imputebench.datasets import MaskSpec, load_dataset, make_mask

    truth = load_dataset("synthetic", n_rows=n, n_numeric=args["numeric"],
                         n_categorical=args["categorical"] if categorical else 0, seed=0)
    mask = make_mask(truth, MaskSpec("mcar", args["rate"]), 0)
    return truth, mask


def _imputer_run(name: str, n: int, args: dict, out: dict) -> None:
    from imputebench.imputers import get_imputer, get_imputer_class

    caps = get_imputer_class(name).capabilities
    truth, mask = _table(n, args, caps.categorical)
    hidden = truth.mask(mask)
    params = dict(BUDGETS.get(name, {}))
    if "device" in params:
        params["device"] = args["device"]
    imp = get_imputer(name, **params)
    if "random_state" in imp.get_params():
        imp.set_params(random_state=0)
    out["cols"] = truth.shape[1]
    out["table_mb"] = _peak_mb()
    t0 = time.perf_counter()
    if caps.imputes:
        imp.fit(hidden)
        t1 = time.perf_counter()
        imp.transform(hidden)
    else:
        imp.fit(truth)
        t1 = time.perf_counter()
        imp.sample_rows(n, random_state=0)
    t2 = time.perf_counter()
    out.update(fit_s=t1 - t0, transform_s=t2 - t1, seconds=t2 - t0)


def _metric_run(name: str, n: int, args: dict, out: dict) -> None:
    from imputebench.imputers import get_imputer
    from imputebench.metrics import get_metric

    metric = get_metric(name)
    truth, mask = _table(n, args, "categorical" in metric.kinds)
    hidden = truth.mask(mask)
    imp = get_imputer("independent", random_state=0).fit(hidden)
    imputed = (imp.sample(hidden, METRIC_DRAWS, random_state=1) if metric.uses == "draws"
               else imp.transform(hidden))
    out["cols"] = truth.shape[1]
    out["table_mb"] = _peak_mb()
    t0 = time.perf_counter()
    value = metric.compute(truth, imputed, mask)
    out["seconds"] = time.perf_counter() - t0
    # the table-wide value and its companions (null, ratio, ...), not one entry per column
    out["value"] = {k: float(v) for k, v in value.items() if k not in truth.columns}


def one_run(name: str, n: int, args: dict, conn) -> None:
    """In a fresh process: one imputer's fit + transform (or sample), or one metric."""
    from imputebench.benchmarks.cell import thread_limit

    out: dict = {"imputer": name, "n": n}
    try:
        with thread_limit(1):
            if name.startswith(METRIC_PREFIX):
                _metric_run(name.removeprefix(METRIC_PREFIX), n, args, out)
            else:
                _imputer_run(name, n, args, out)
        out["peak_mb"] = _peak_mb()
        out["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported in the table
        out.update(status="failed", reason=f"{type(exc).__name__}: {exc}"[:300])
    conn.send(out)
    conn.close()


def run(name: str, n: int, args: argparse.Namespace) -> dict:
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=one_run, args=(name, n, vars(args), send))
    t0 = time.perf_counter()
    proc.start()
    send.close()
    if recv.poll(args.timeout):
        try:
            out = recv.recv()
        except EOFError:
            out = {"imputer": name, "n": n, "status": "failed",
                   "reason": f"process died (exit code {proc.exitcode})"}
    else:
        proc.kill()
        out = {"imputer": name, "n": n, "status": "timeout",
               "reason": f"over {args.timeout:g} s"}
    proc.join(10)
    if proc.exitcode and proc.exitcode < 0 and out.get("status") == "ok":
        out["status"] = "failed"
    out["wall_s"] = time.perf_counter() - t0
    return out


def slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) on log(n); None with fewer than 2 sizes or when
    every run took under half a second."""
    pts = [(n, s) for n, s in points if s and s > 0]
    if len(pts) < 2 or max(s for _, s in pts) < MIN_SLOPE_SECONDS:  # timer noise, not a slope
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def table(results: list[dict], sizes: list[int]) -> str:
    names = sorted({r["imputer"] for r in results},
                   key=lambda x: (x.startswith(METRIC_PREFIX), x))
    head = ["imputer", *[f"n={n:,}: s / peak MB" for n in sizes], "slope (time)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in names:
        row, pts = [name], []
        for n in sizes:
            r = next((r for r in results if r["imputer"] == name and r["n"] == n), None)
            if r is None:
                row.append("—")
            elif r["status"] != "ok":
                row.append(r["status"])
            else:
                row.append(f"{r['seconds']:.1f} / {r['peak_mb']:.0f}")
                pts.append((n, r["seconds"]))
        s = slope(pts)
        row.append("—" if s is None else f"{s:.2f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _write(args: argparse.Namespace, names: list[str], results: list[dict]) -> None:
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": platform.platform(), "cpus": os.cpu_count(), "args": {
                  k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "budgets": BUDGETS, "results": results,
              "slopes": {name: slope([(r["n"], r["seconds"]) for r in results
                                      if r["imputer"] == name and r["status"] == "ok"])
                         for name in names}}
    args.out.write_text(json.dumps(report, indent=2))


def main(argv=None) -> int:
    args = parse_args(argv)
    from imputebench.imputers import available_imputers
    from imputebench.metrics import available_metrics

    names = args.imputers or available_imputers()
    if args.metrics is None:  # a derived metric's cost is its parent's: not timed twice
        from imputebench.metrics import get_metric
        metrics = [m for m in available_metrics() if get_metric(m).derived_from is None]
    else:
        metrics = args.metrics
    unknown = sorted(set(names) - set(available_imputers()))
    unknown += sorted(set(metrics) - set(available_metrics()))
    if unknown:
        print(f"unknown imputer(s) or metric(s) {unknown}", file=sys.stderr)
        return 2
    names = names + [METRIC_PREFIX + m for m in metrics]
    results: list[dict] = []
    if args.resume and args.out.exists():
        results = [r for r in json.loads(args.out.read_text())["results"]
                   if r["imputer"] in names and r["n"] in args.sizes]
    done = {(r["imputer"], r["n"]) for r in results}
    stopped = {r["imputer"] for r in results if r["status"] != "ok"}  # larger n would fail too
    for n in sorted(args.sizes):     # every imputer and metric at one size, then the next size
        for name in names:
            if name in stopped or (name, n) in done:
                continue
            r = run(name, n, args)
            results.append(r)
            extra = (f"{r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB" if r["status"] == "ok"
                     else r.get("reason", ""))
            print(f"{name:22s} n={n:>8,}  {r['status']:8s} {extra}", flush=True)
            if r["status"] != "ok":
                stopped.add(name)
            _write(args, names, results)           # a run cut short keeps what finished
    _write(args, names, results)
    print(table(results, sorted(args.sizes)))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
