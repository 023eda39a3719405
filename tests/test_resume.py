"""Kill a run midway, run it again: no finished cell is recomputed and the results match."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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
