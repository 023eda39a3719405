"""Kill a run midway, run it again: no finished cell is recomputed and the results match."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from imputebench.benchmarks.config import load_config
from imputebench.benchmarks.journal import Journal
from imputebench.benchmarks.runner import plan, run_benchmark

CONFIG = """
name = "resume"
repetitions = 3
metrics = ["rmse_minmax", "accuracy"]
[[datasets]]
name = "synthetic"
params = { n_rows = 400 }
[[datasets]]
name = "penguins"
params = { include_target = true }
[[masks]]
mechanism = ["mcar", "mar"]
rate = [0.2, 0.4]
[[imputers]]
name = "mean"
[[imputers]]
name = "knn"
"""


def _cmd(cfg, journal):
    return [sys.executable, "-m", "imputebench.benchmarks.cli", "run", str(cfg), "--journal",
            str(journal), "--no-report", "--quiet", "--workers", "1"]


def test_killed_run_resumes_without_recomputing(tmp_path):
    cfg_path = tmp_path / "resume.toml"
    cfg_path.write_text(CONFIG)
    journal = tmp_path / "j.jsonl"
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    proc = subprocess.Popen(_cmd(cfg_path, journal), env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= 6:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, mid-run
    proc.wait()
    first = {r["key"]: r for r in Journal(journal).records()}
    total = len(plan(load_config(cfg_path)))
    assert 6 <= len(first) < total

    done = subprocess.run(_cmd(cfg_path, journal), env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(first)} already in" in done.stdout
    records = Journal(journal).records()
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) == total  # each cell exactly once
    for r in records:  # finished cells were not touched
        if r["key"] in first:
            assert r == first[r["key"]]

    fresh = tmp_path / "fresh.jsonl"
    run_benchmark(load_config(cfg_path), fresh, executor="inprocess", progress=False)
    want = {r["key"]: r["metrics"] for r in Journal(fresh).records()}
    assert {r["key"]: r["metrics"] for r in records} == want


SLOW = """
name = "slow"
repetitions = 2
metrics = ["rmse_minmax"]
timeout = 600
[[datasets]]
name = "synthetic"
params = { n_rows = 2000 }
[[masks]]
mechanism = "mcar"
rate = 0.3
[[imputers]]
name = "vae"
params = { epochs = 100000, patience = 100000, device = "cpu" }
"""


def _descendants(pid: int) -> set[int]:
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parent[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_to_the_driver_leaves_no_worker_running(tmp_path):
    pytest.importorskip("torch")
    cfg_path = tmp_path / "slow.toml"
    cfg_path.write_text(SLOW)
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    proc = subprocess.Popen(_cmd(cfg_path, tmp_path / "j.jsonl"), env=env,
                            start_new_session=True)
    kids: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(kids) < 3:   # tracker, fork server, worker
            time.sleep(0.2)
            kids = _descendants(proc.pid)
        assert len(kids) >= 2, "no worker started"
        time.sleep(1.0)                                          # the worker is inside the cell
        kids = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10     # the cell would run for hours
        while time.monotonic() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.2)
        assert [k for k in kids if _alive(k)] == []
    finally:  # never leave a process behind, even when the test fails
        for pid in [proc.pid, *kids]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
