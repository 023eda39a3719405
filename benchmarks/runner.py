"""Plan a benchmark into cells, run the missing ones, append each result to the journal.

Executors: ``inprocess`` (tests, debugging; no timeout isolation), ``local`` (default): every
cell runs in its own worker process started from a fork server, at most ``workers`` at once, so
an exception, a crash (segfault, out-of-memory kill) or a timeout is recorded with its reason and
the run goes on; and ``ray``: every cell a task on a Ray cluster (``ray_executor.py``). Only the
driver writes the journal.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from imputebench.benchmarks.cell import Cell, execute, versions
from imputebench.benchmarks.config import BenchmarkConfig
from imputebench.benchmarks.journal import Journal
from imputebench.benchmarks.synthesis import SplitSpec, split_mask
from imputebench.datasets import load_dataset, make_mask
from imputebench.datasets.errors import ImputebenchError


@dataclass
class Task:
    cell: Cell
    truth: pd.DataFrame
    mask: np.ndarray


def plan(config: BenchmarkConfig) -> list[Cell]:
    """Every cell of the config, in a stable order (dataset, mask, repetition, imputer)."""
    return [Cell(d, m, r, i) for d in config.datasets for m in config.masks
            for r in range(config.repetitions) for i in config.imputers]


class Prepared:
    """Datasets and masks, built once in the driver and shared by all imputers of a cell group.

    Loading every dataset and drawing every mask before the first cell makes a bad config (a
    missing file, a rate a mechanism cannot reach) fail at once with one clear error.
    """

    def __init__(self, cells: Iterable[Cell]) -> None:
        self.tables: dict = {}
        self.masks: dict = {}
        for cell in cells:
            dkey = (cell.dataset.name, cell.dataset.params)
            if dkey not in self.tables:
                self.tables[dkey] = load_dataset(cell.dataset.name, **cell.dataset.kwargs)
            mkey = cell.mask_fields().__repr__()
            if mkey not in self.masks:
                df = self.tables[dkey]
                try:
                    if isinstance(cell.mask, SplitSpec):
                        self.masks[mkey] = split_mask(df, cell.mask, cell.mask_seed)
                    else:
                        self.masks[mkey] = make_mask(df, cell.mask, cell.mask_seed)
                except ImputebenchError as exc:
                    raise ImputebenchError(f"dataset {cell.dataset.label()}, mask "
                                           f"{cell.mask.label()}: {exc}") from None

    def task(self, cell: Cell) -> Task:
        return Task(cell, self.tables[(cell.dataset.name, cell.dataset.params)],
                    self.masks[cell.mask_fields().__repr__()])


def _timeout_record(task: Task, reason: str, status: str) -> dict:
    rec = task.cell.base_record()
    rec.update(status=status, reason=reason, n_rows=int(task.truth.shape[0]),
               n_cols=int(task.truth.shape[1]), versions=versions(),
               finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
    return rec


# ------------------------------------------------------------------------------- executors

def run_inprocess(tasks: list[Task], metrics, n_draws, timeout, threads: int | None = None
                  ) -> Iterator[dict]:
    for t in tasks:
        yield execute(t.cell, t.truth, t.mask, metrics, n_draws, threads)


def _child(conn, task: Task, metrics, n_draws, threads=None) -> None:
    try:
        rec = execute(task.cell, task.truth, task.mask, metrics, n_draws, threads)
        conn.send(rec)
    except (BrokenPipeError, EOFError):
        pass  # the driver is gone (interrupted): nothing to report to
    finally:
        conn.close()


def _context(start_method: str | None = None):
    if start_method:
        return mp.get_context(start_method)
    if sys.platform.startswith("linux"):
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["imputebench.benchmarks._preload"])
        return ctx
    return mp.get_context("spawn")


def run_local(tasks: list[Task], metrics, n_draws, timeout, workers: int = 2,
              start_method: str | None = None, threads: int | None = None) -> Iterator[dict]:
    """Each task in its own process, ``workers`` at a time, killed after ``timeout`` s.

    ``start_method`` defaults to a fork server preloaded with the package (Linux) or spawn;
    ``"fork"`` lets tests run imputers defined in the test module.
    """
    ctx = _context(start_method)
    pending = list(reversed(tasks))
    running: dict = {}  # sentinel -> (process, conn, task, started)
    # SIGTERM (e.g. `kill`) ends the run through the `finally` below, which kills the workers;
    # by default it would end this process at once and leave them running, orphaned
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if on_main else None
    try:
        while pending or running:
            while pending and len(running) < workers:
                task = pending.pop()
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(send, task, metrics, n_draws, threads),
                                   daemon=True)
                proc.start()
                send.close()
                running[recv] = (proc, task, time.monotonic())
            ready = wait(list(running), timeout=0.5)
            for conn in ready:
                proc, task, _ = running.pop(conn)
                try:
                    rec = conn.recv()
                except (EOFError, OSError):
                    proc.join(5)
                    code = proc.exitcode
                    how = (f"killed by signal {signal.Signals(-code).name}" if code and code < 0
                           else f"exit code {code}")
                    rec = _timeout_record(task, f"worker process crashed ({how})", "failed")
                conn.close()
                proc.join(5)
                yield rec
            now = time.monotonic()
            for conn, (proc, task, started) in list(running.items()):
                if now - started > timeout:
                    proc.kill()
                    proc.join(5)
                    conn.close()
                    del running[conn]
                    yield _timeout_record(task, f"timed out after {timeout:g} s", "timeout")
    finally:
        for conn, (proc, _task, _) in running.items():
            proc.kill()
            proc.join(5)
            conn.close()
        if on_main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def run_ray(tasks, metrics, n_draws, timeout, **kwargs) -> Iterator[dict]:
    """Each task a Ray task (``benchmarks/ray_executor.py``; the ``ray`` extra)."""
    from imputebench.benchmarks.ray_executor import run_ray as _run_ray

    return _run_ray(tasks, metrics, n_draws, timeout, **kwargs)


EXECUTORS: dict[str, Callable] = {"inprocess": run_inprocess, "local": run_local,
                                  "ray": run_ray}


# ------------------------------------------------------------------------------- the run

@dataclass
class RunSummary:
    total: int
    skipped_done: int
    ran: int
    failed: int
    journal: Path


def run_benchmark(config: BenchmarkConfig, journal_path: str | Path, executor: str = "local",
                  workers: int | None = None, retry_failed: bool = False,
                  progress: bool = True, start_method: str | None = None,
                  address: str | None = None, retries: int | None = None) -> RunSummary:
    """Run every cell of ``config`` not yet finished in the journal; return a summary.

    ``address`` and ``retries`` are the Ray executor's (``benchmarks/ray_executor.py``):
    the cluster to join and how often a cell whose worker died is run again."""
    if executor not in EXECUTORS:
        from imputebench.datasets.errors import unknown_name

        raise unknown_name("executor", executor, EXECUTORS)
    if executor == "ray":
        from imputebench.benchmarks.ray_executor import import_ray

        import_ray()            # a missing extra: one line, before anything runs
    journal = Journal(journal_path)
    done = journal.latest()
    cells = plan(config)
    write_plan(config, cells, journal.path)
    redo = ("failed", "timeout") if retry_failed else ()
    todo = [c for c in cells if c.key not in done or done[c.key].get("status") in redo]
    summary = RunSummary(len(cells), len(cells) - len(todo), 0, 0, journal.path)
    if not todo:
        return summary
    prepared = Prepared(todo)
    tasks = [prepared.task(c) for c in todo]
    kwargs: dict = {}
    if executor == "local":
        kwargs = {"workers": workers or config.workers, "start_method": start_method}
    elif executor == "ray":
        from imputebench.benchmarks.ray_executor import RETRIES

        kwargs = {"workers": workers, "address": address, "resources": config.resources,
                  "retries": RETRIES if retries is None else retries}
    kwargs["threads"] = config.threads
    bar = tqdm(total=len(tasks), desc=config.name, unit="cell", disable=not progress,
               file=sys.stderr, mininterval=0.5 if sys.stderr.isatty() else 15,
               dynamic_ncols=True)
    try:
        for rec in EXECUTORS[executor](tasks, config.metrics, config.n_draws, config.timeout,
                                       **kwargs):
            journal.append(rec)
            summary.ran += 1
            if rec["status"] != "ok":
                summary.failed += 1
            bar.set_postfix_str(f"failed={summary.failed}", refresh=False)
            bar.update(1)
    finally:
        bar.close()
    return summary


def plan_path(journal_path: str | Path) -> Path:
    """Where a run keeps its plan: ``journal.plan.json`` beside ``journal.jsonl``."""
    p = Path(journal_path)
    return p.with_name(p.stem + ".plan.json")


def write_plan(config: BenchmarkConfig, cells: list[Cell], journal_path: str | Path) -> Path:
    """Record every cell the run plans (key and a readable title), so that a report of a
    journal that is still being written can say which cells are missing."""
    import json

    from imputebench.benchmarks.report.tables import dataset_name, mask_name

    out = plan_path(journal_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {"config": config.name, "title": config.title,
            "cells": [{"key": c.key, "title": (
                f"{dataset_name(c.dataset.name, c.dataset.kwargs)} | "
                f"{mask_name(c.mask.to_dict())} | rep {c.repetition} | {c.imputer.label()}")}
                for c in cells]}
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(out)
    return out


def default_paths(config: BenchmarkConfig, root: str | Path = ".") -> tuple[Path, Path]:
    """``runs/<name>/journal.jsonl`` (resumable, not committed) and ``reports/<name>/``."""
    root = Path(root)
    return root / "runs" / config.name / "journal.jsonl", root / "reports" / config.name


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
