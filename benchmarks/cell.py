"""One benchmark cell: fit an imputer on a masked table, impute, score (DESIGN.md §1).

``Cell`` is the unit of work, caching, failure and distribution. ``execute`` runs in whatever
process the executor chooses and always returns a journal record; an exception becomes a
``failed`` record with its message, never an escape.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from imputebench.benchmarks.config import DatasetSpec, ImputerSpec
from imputebench.benchmarks.seeding import derive_seed, digest
from imputebench.datasets import MaskSpec
from imputebench.datasets.errors import MissingPackage
from imputebench.datasets.masking import achieved_rate
from imputebench.imputers import get_imputer
from imputebench.metrics import ALL, get_metric


@dataclass(frozen=True)
class Cell:
    dataset: DatasetSpec
    mask: MaskSpec              # or the synthesis task's SplitSpec (benchmarks/synthesis.py)
    repetition: int
    imputer: ImputerSpec

    def mask_fields(self) -> tuple:
        return (self.dataset.name, self.dataset.kwargs, self.mask.to_dict(), self.repetition)

    @property
    def mask_seed(self) -> int:
        return derive_seed("mask", *self.mask_fields())

    @property
    def imputer_seed(self) -> int:
        return derive_seed("imputer", *self.mask_fields(), self.imputer.name,
                           self.imputer.kwargs)

    @property
    def key(self) -> str:
        return digest(*self.mask_fields(), self.imputer.name, self.imputer.kwargs)[:20]

    def base_record(self) -> dict:
        return {
            "key": self.key, "dataset": self.dataset.name, "dataset_params": self.dataset.kwargs,
            "mask": self.mask.to_dict(), "repetition": self.repetition,
            "imputer": self.imputer.name, "params": self.imputer.kwargs,
            "label": self.imputer.label(), "seed": self.imputer_seed,
        }


_VERSIONS: dict | None = None


def versions() -> dict:
    global _VERSIONS  # computed once per process; read-only afterwards
    if _VERSIONS is None:
        out = {"python": platform.python_version(), "platform": platform.platform()}
        # the optional packages of the reference synthesizers are recorded when installed
        for pkg in ("imputebench", "numpy", "pandas", "scikit-learn", "scipy", "torch", "sdv",
                    "ctgan", "copulas", "rdt", "pgmpy"):
            try:
                out[pkg] = version(pkg)
            except PackageNotFoundError:
                pass
        commit = git_commit()
        if commit:
            out["git commit"] = commit
        _VERSIONS = out
    return _VERSIONS


def git_commit() -> str | None:
    """The commit of the imputebench source that runs ("+dirty" with uncommitted changes to
    tracked files), or None outside a git checkout."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def _maxrss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024


_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextlib.contextmanager
def thread_limit(n: int | None):
    """Cap every thread pool a cell's code uses at ``n`` threads (None: leave them alone).

    Why: cells run side by side (``workers`` of them); each library's default, one thread per
    core in every process, oversubscribes the machine. Measured on 2 cores, two processes side
    by side: a TabDDPM fit took 27.8 s with 2 threads each and 8.2 s with 1; a VAE fit 6.9 s
    and 3.0 s. The cap is the config's ``threads`` (default 1) in every executor, so serial,
    local and Ray runs compute with the same thread counts. Libraries already loaded are capped
    through threadpoolctl (BLAS, OpenMP) and ``torch.set_num_threads``; those loaded inside
    the block read the environment variables set for it. Everything is restored after.
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    old_env = {k: os.environ.get(k) for k in _THREAD_VARS}
    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    os.environ.update({k: str(n) for k in _THREAD_VARS})
    try:
        with threadpool_limits(limits=n):
            if torch is not None:
                torch.set_num_threads(n)
            yield
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(old_torch or os.cpu_count() or 1)


def execute(cell: Cell, truth: pd.DataFrame, mask: np.ndarray, metrics: tuple[str, ...],
            n_draws: int = 10, threads: int | None = None) -> dict:
    """Run one cell and return its journal record (status ok / failed / skipped), with its
    thread pools capped at ``threads`` (:func:`thread_limit`)."""
    with thread_limit(threads):
        rec = _execute(cell, truth, mask, metrics, n_draws)
    if threads is not None:
        rec["threads"] = int(threads)
    return rec


def _execute(cell: Cell, truth: pd.DataFrame, mask: np.ndarray, metrics: tuple[str, ...],
             n_draws: int) -> dict:
    rec = cell.base_record()
    rec.update(n_rows=int(truth.shape[0]), n_cols=int(truth.shape[1]),
               achieved_rate=achieved_rate(truth, mask), versions=versions(), device="cpu")
    try:
        if getattr(cell.mask, "mechanism", None) == "split":     # the synthesis task
            from imputebench.benchmarks.synthesis import run_synthesis

            rss0 = _rss_mb()
            rec.update(run_synthesis(cell, truth, mask, metrics, SkipCell))
            rec["peak_memory_mb"] = max(_maxrss_mb() - rss0, 0.0)
        else:
            rec.update(_run(cell, truth, mask, metrics, n_draws))
        rec["status"], rec["reason"] = "ok", None
    except Exception as exc:  # noqa: BLE001 - a failing cell is recorded, the run goes on
        rec["status"] = "skipped" if isinstance(exc, SkipCell | MissingPackage) else "failed"
        rec["reason"] = f"{type(exc).__name__}: {exc}".strip()
        rec["traceback"] = traceback.format_exc(limit=6)
    rec["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return rec


class SkipCell(Exception):
    """Raised when a cell cannot run for a known reason (missing optional package, ...)."""


def _run(cell: Cell, truth, mask, metrics, n_draws) -> dict:
    params = cell.imputer.kwargs
    imputer = get_imputer(cell.imputer.name, **params)
    if "random_state" in imputer.get_params() and "random_state" not in params:
        imputer.set_params(random_state=cell.imputer_seed)
    if not imputer.capabilities.imputes:
        raise SkipCell(f"{cell.imputer.name} generates whole rows only and does not impute; "
                       "it runs in synthesis configs (task = 'synthesis')")
    if not imputer.capabilities.categorical:
        cats = [c for c in truth.columns if isinstance(truth[c].dtype, pd.CategoricalDtype)]
        if cats:
            raise SkipCell(f"{cell.imputer.name} handles numeric columns only; this table has "
                           f"categorical columns {cats}")
    hidden = truth.mask(mask)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    imputer.fit(hidden)
    t1 = time.perf_counter()
    # Torch-capable imputers resolve device="auto" in fit and keep the answer in device_.
    device = getattr(imputer, "device_", None) or imputer.get_params().get("device", "cpu")
    point = imputer.transform(hidden)
    scorers = [get_metric(m) for m in metrics]
    draws = None
    if any(s.uses == "draws" for s in scorers):
        draws = imputer.sample(hidden, n_draws, random_state=cell.imputer_seed)
    t2 = time.perf_counter()
    scores, errors, seconds = _score(scorers, truth, point, draws, mask)
    out = {"metrics": scores, "fit_seconds": t1 - t0, "impute_seconds": t2 - t1,
           "peak_memory_mb": max(_maxrss_mb() - rss0, 0.0), "device": str(device)}
    out["metric_seconds"] = seconds
    diag = getattr(imputer, "diagnostics_", None)
    if isinstance(diag, dict):  # e.g. a VAE's KL per dimension and active units
        out["diagnostics"] = json.loads(json.dumps(diag, default=str))
    if errors:
        out["metric_errors"] = errors
    return out


def _score(scorers, truth, point, draws, mask) -> tuple[dict, dict, dict]:
    """Each metric once: (scores, errors, seconds). A metric derived from a requested parent
    (``derived_from``) is read from the parent's result instead of being computed again."""
    requested = {s.name for s in scorers}
    order = sorted(scorers, key=lambda s: s.derived_from is not None
                   and s.derived_from[0] in requested)
    scores, errors, seconds = {}, {}, {}
    for s in order:
        if s.derived_from is not None and s.derived_from[0] in requested:
            parent, key = s.derived_from
            if parent in errors:
                errors[s.name] = errors[parent]
            elif key in scores.get(parent, {}):
                scores[s.name] = {ALL: scores[parent][key]}
            continue
        t = time.perf_counter()
        try:
            value = s.compute(truth, draws if s.uses == "draws" else point, mask)
        except Exception as exc:  # noqa: BLE001 - one metric's bug must not lose the others
            errors[s.name] = f"{type(exc).__name__}: {exc}"
            continue
        finally:
            seconds[s.name] = time.perf_counter() - t
        if value:
            scores[s.name] = {k: float(v) for k, v in value.items()}
    return scores, errors, seconds
