"""Time every table-level metric on adult, and our logistic pMSE fit against scikit-learn's.

Usage::

    python benchmarks/perf/table_metrics.py [--data-dir DIR] [--rows N] [--rate 0.2]
                                            [--imputer mean] [--draws 1] [--seed 0]
                                            [--out table_metrics.json]

Loads ``adult`` with its target (48,842 x 15, mixed) from ``--data-dir`` or
``$IMPUTEBENCH_DATA`` (exit status 2 when it is absent), keeps the first ``--rows`` rows (all by
default), hides ``--rate`` of the cells completely at random (seeded), imputes with
``--imputer`` and scores ``--draws`` draws with each table-level metric (the metrics' own
``compute``, as the runner calls it), reporting wall seconds per metric.

The reference in the same run: the logistic propensity model of ``pmse`` is fitted on the same
design by our Newton (IRLS) solver and by scikit-learn's ``LogisticRegression(C=1e6)`` with lbfgs
run to convergence (``max_iter=2000``, ``tol=1e-8``); the script reports both times, their ratio
and the pMSE each gives. A small table goes to stdout and everything to ``--out`` as JSON.
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

from imputebench.datasets import MaskSpec, load_dataset, make_mask
from imputebench.imputers import get_imputer
from imputebench.metrics import available_metrics, get_metric
from imputebench.metrics.propensity import logistic_design, logistic_fit
from imputebench.metrics.tables import align, comparison_rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=None,
                   help="data directory holding adult (default $IMPUTEBENCH_DATA)")
    p.add_argument("--rows", type=int, default=None, help="first N rows only (default all)")
    p.add_argument("--rate", type=float, default=0.2, help="MCAR missing rate (0.2)")
    p.add_argument("--imputer", default="mean", help="imputer whose draws are scored (mean)")
    p.add_argument("--draws", type=int, default=1, help="draws scored per metric (1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mask and draws (0)")
    p.add_argument("--out", type=Path, default=Path("table_metrics.json"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.data_dir is not None:
        os.environ["IMPUTEBENCH_DATA"] = str(args.data_dir)
    try:
        df = load_dataset("adult", include_target=True)
    except Exception as exc:  # noqa: BLE001 - say why and stop
        print(f"adult is not available: {exc}", file=sys.stderr)
        return 2
    if args.rows:
        df = df.iloc[:args.rows].reset_index(drop=True)
    mask = make_mask(df, MaskSpec("mcar", args.rate), args.seed)
    hidden = df.mask(mask)
    draws = get_imputer(args.imputer).fit(hidden).sample(hidden, args.draws, args.seed)

    names = [m for m in available_metrics() if get_metric(m).level == "table"
             and get_metric(m).derived_from is None]
    rows = {}
    for name in names:
        t = time.perf_counter()
        value = get_metric(name).compute(df, draws, mask)
        rows[name] = {"seconds": time.perf_counter() - t, "value": value.get("__all__")}
        print(f"{name:16s} {rows[name]['seconds']:7.2f} s   {value.get('__all__')}", flush=True)

    ref, comp = align(*comparison_rows(df, draws[0], mask))
    x, info = logistic_design(ref, comp)
    y = np.r_[np.zeros(len(ref)), np.ones(len(comp))]
    t = time.perf_counter()
    ours = logistic_fit(x, y)
    t_ours = time.perf_counter() - t
    from sklearn.linear_model import LogisticRegression

    t = time.perf_counter()
    sk = LogisticRegression(C=1e6, max_iter=2000, tol=1e-8).fit(x, y)
    t_sk = time.perf_counter() - t
    p_sk = sk.predict_proba(x)[:, 1]
    fit = {"design_shape": list(x.shape), **info, "ours_s": t_ours, "sklearn_lbfgs_s": t_sk,
           "ratio_ours_over_sklearn": t_ours / t_sk, "sklearn_iterations": int(sk.n_iter_[0]),
           "pmse_ours": float(np.mean((ours - 0.5) ** 2)),
           "pmse_sklearn": float(np.mean((p_sk - 0.5) ** 2))}
    print(f"logistic fit on {x.shape}: ours {t_ours:.2f} s, scikit-learn lbfgs {t_sk:.2f} s "
          f"({fit['sklearn_iterations']} iterations), ratio {fit['ratio_ours_over_sklearn']:.2f};"
          f" pMSE {fit['pmse_ours']:.6f} vs {fit['pmse_sklearn']:.6f}")
    out = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "table": {"rows": len(df), "cols": df.shape[1], "rate": args.rate,
                     "imputer": args.imputer, "draws": args.draws},
           "metrics": rows, "logistic_fit": fit}
    args.out.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
