"""The Ray executor (benchmarks/ray_executor.py) on a real local cluster, on 127.0.0.1 only: a
head and two worker nodes (ray.cluster_utils.Cluster). Serial, local-parallel and Ray runs give
identical numbers; a worker killed in the middle of a cell is retried, or recorded once the
retries are spent; a cell past its timeout is cancelled and recorded; a driver killed mid-run
and restarted loses no finished cell and repeats none.

The test imputers live in a module written to a temporary folder and named in
``IMPUTEBENCH_IMPUTER_MODULES`` with the folder on ``PYTHONPATH``: the cluster's worker
processes inherit both, as a user's own imputer file would reach them.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time

import pytest

from imputebench.benchmarks.config import load_config, parse_config
from imputebench.benchmarks.journal import Journal
from imputebench.benchmarks.ray_executor import GPU_FRACTION, cell_resources, check_resources
from imputebench.benchmarks.runner import plan, run_benchmark
from imputebench.datasets.errors import ImputebenchError, MissingPackage

PLUGIN = '''
import os, signal, time
from pathlib import Path
from imputebench.imputers.base import Capabilities, register_imputer
from imputebench.imputers.mean import MeanImputer


@register_imputer
class CrashesOnce(MeanImputer):
    """Kills its own worker process on the first attempt at each cell, then imputes the mean."""
    name = "crashes_once_for_test"

    def _fit(self, X, kinds, rng):
        cell = f"attempt-{X.shape[0]}-{X.isna().sum().sum()}"     # one file per cell
        marker = Path(os.environ["IMPUTEBENCH_TEST_MARKERS"]) / cell
        with open(marker, "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        if len(marker.read_text().splitlines()) == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        super()._fit(X, kinds, rng)


@register_imputer
class AlwaysCrashes(MeanImputer):
    name = "always_crashes_for_test"

    def _fit(self, X, kinds, rng):
        os.kill(os.getpid(), signal.SIGKILL)


@register_imputer
class SleepsForTest(MeanImputer):
    """The mean imputer, slowly: ``seconds`` of sleep in fit."""
    name = "sleeps_a_while_for_test"

    def __init__(self, seconds=1.0):
        self.seconds = seconds

    def _fit(self, X, kinds, rng):
        time.sleep(self.seconds)
        super()._fit(X, kinds, rng)
'''

SMALL = {"name": "ray_small", "repetitions": 2, "metrics": ["rmse_minmax"],
         "datasets": [{"name": "diabetes"}], "masks": [{"mechanism": "mcar", "rate": 0.3}]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head (no CPU of its own) and two worker nodes of one CPU each, on loopback."""
    if importlib.util.find_spec("ray") is None:     # not imported yet: see below
        pytest.skip("ray is not installed (the ray extra)")
    base = tmp_path_factory.mktemp("ray")
    plugin_dir, markers = base / "plugin", base / "markers"
    plugin_dir.mkdir()
    markers.mkdir()
    (plugin_dir / "ray_test_imputers.py").write_text(PLUGIN)
    env = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
           "RAY_TMPDIR": str(base / "tmp"), "IMPUTEBENCH_IMPUTER_MODULES": "ray_test_imputers",
           "IMPUTEBENCH_TEST_MARKERS": str(markers),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir),
                                                        os.environ.get("PYTHONPATH")]))}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)         # before ray is imported: it reads them at import
    import ray
    from ray.cluster_utils import Cluster

    sys.path.insert(0, str(plugin_dir))
    from imputebench.imputers.base import _REGISTRY

    _REGISTRY._discovered = False          # discover the plugin in this process too
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    c.add_node(num_cpus=1)
    c.add_node(num_cpus=1)
    ray.init(address=c.address, log_to_driver=False)
    assert c.address.startswith("127.0.0.1:"), c.address       # loopback only
    try:
        yield {"address": c.address, "markers": markers, "env": dict(os.environ)}
    finally:
        ray.shutdown()
        c.shutdown()
        sys.path.remove(str(plugin_dir))
        for name in ("crashes_once_for_test", "always_crashes_for_test",
                     "sleeps_a_while_for_test"):
            _REGISTRY._entries.pop(name, None)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _metrics(path):
    return {k: (r["status"], r.get("metrics")) for k, r in Journal(path).latest().items()}


def test_serial_local_and_ray_runs_give_identical_numbers(cluster, tmp_path):
    cfg = load_config("smoke")
    run_benchmark(cfg, tmp_path / "serial.jsonl", executor="inprocess", progress=False)
    run_benchmark(cfg, tmp_path / "local.jsonl", executor="local", workers=2, progress=False)
    summary = run_benchmark(cfg, tmp_path / "ray.jsonl", executor="ray", progress=False)
    serial = _metrics(tmp_path / "serial.jsonl")
    assert summary.ran == len(plan(cfg)) == len(serial)
    assert all(status == "ok" for status, _ in serial.values())
    assert _metrics(tmp_path / "local.jsonl") == serial
    assert _metrics(tmp_path / "ray.jsonl") == serial
    recs = Journal(tmp_path / "ray.jsonl").records()
    assert {r["executor"] for r in recs} == {"ray"}


def test_a_killed_worker_is_retried_then_recorded(cluster, tmp_path):
    cfg = parse_config({**SMALL, "imputers": [{"name": "crashes_once_for_test"},
                                              {"name": "always_crashes_for_test"},
                                              {"name": "mean"}]})
    s = run_benchmark(cfg, tmp_path / "j.jsonl", executor="ray", retries=1, progress=False)
    recs = list(Journal(tmp_path / "j.jsonl").latest().values())
    by = {(r["imputer"], r["repetition"]): r for r in recs}
    assert s.ran == 6 and s.failed == 2
    for rep in range(2):
        once = by[("crashes_once_for_test", rep)]
        assert once["status"] == "ok"      # the second attempt finished the cell
        mean = by[("mean", rep)]
        assert once["metrics"] == mean["metrics"]           # and it is the mean imputer
        dead = by[("always_crashes_for_test", rep)]
        assert dead["status"] == "failed"
        assert "worker died and was retried 1 time(s)" in dead["reason"]
    attempts = [len(p.read_text().splitlines()) for p in cluster["markers"].iterdir()]
    assert sorted(attempts) == [2, 2]       # one killed attempt and one retry per cell


def test_without_retries_a_killed_worker_is_a_failed_cell(cluster, tmp_path):
    cfg = parse_config({**SMALL, "repetitions": 1,
                        "imputers": [{"name": "always_crashes_for_test"}, {"name": "mean"}]})
    s = run_benchmark(cfg, tmp_path / "j.jsonl", executor="ray", retries=0, progress=False)
    recs = {r["imputer"]: r for r in Journal(tmp_path / "j.jsonl").records()}
    assert s.ran == 2 and recs["mean"]["status"] == "ok"
    assert recs["always_crashes_for_test"]["status"] == "failed"
    assert "retried 0 time(s)" in recs["always_crashes_for_test"]["reason"]


def test_a_cell_past_its_timeout_is_cancelled_and_the_run_goes_on(cluster, tmp_path):
    cfg = parse_config({**SMALL, "repetitions": 1, "timeout": 3,
                        "imputers": [{"name": "sleeps_a_while_for_test",
                                      "params": {"seconds": 120}}, {"name": "mean"}]})
    t0 = time.monotonic()
    run_benchmark(cfg, tmp_path / "j.jsonl", executor="ray", progress=False)
    assert time.monotonic() - t0 < 60
    recs = {r["imputer"]: r for r in Journal(tmp_path / "j.jsonl").records()}
    assert recs["sleeps_a_while_for_test"]["status"] == "timeout"
    assert recs["sleeps_a_while_for_test"]["reason"] == "timed out after 3 s"
    assert recs["mean"]["status"] == "ok"


DRIVER = """
name = "ray_driver"
repetitions = 6
metrics = ["rmse_minmax"]
[[datasets]]
name = "diabetes"
[[masks]]
mechanism = "mcar"
rate = [0.2, 0.4]
[[imputers]]
name = "sleeps_a_while_for_test"
params = { seconds = 0.7 }
"""


def test_a_killed_driver_loses_no_finished_cell_and_repeats_none(cluster, tmp_path):
    cfg_path = tmp_path / "driver.toml"
    cfg_path.write_text(DRIVER)
    journal = tmp_path / "j.jsonl"
    cmd = [sys.executable, "-m", "imputebench.benchmarks.cli", "run", str(cfg_path),
           "--journal", str(journal), "--no-report", "--quiet", "--executor", "ray",
           "--address", cluster["address"]]
    env = {**cluster["env"], "PYTHONSAFEPATH": "1"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = {r["key"]: r for r in Journal(journal).records()}
    total = len(plan(load_config(cfg_path)))
    assert 3 <= len(first) < total

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(first)} already in" in done.stdout
    records = Journal(journal).records()
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) == total        # each cell exactly once
    for r in records:
        if r["key"] in first:
            assert r == first[r["key"]]                  # finished cells untouched
    assert all(r["status"] == "ok" for r in records)


# ------------------------------------------------------------------ no cluster needed

def test_resources_follow_the_rule_and_the_config_overrides_them():
    cfg = parse_config({**SMALL, "imputers": [
        {"name": "mean"}, {"name": "vae", "params": {"epochs": 1}},
        {"name": "tvae", "params": {"epochs": 1, "device": "cpu"}},
        {"name": "tabddpm", "params": {"train_steps": 1}}],
        "resources": {"tabddpm": {"num_gpus": 0.5, "num_cpus": 2}}})
    cells = {c.imputer.name: c for c in plan(cfg)}
    over = cfg.resources
    assert cell_resources(cells["mean"], over, 1.0) == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert cell_resources(cells["vae"], over, 1.0) == {"num_cpus": 1.0, "num_gpus": GPU_FRACTION}
    assert cell_resources(cells["vae"], over, 0.0)["num_gpus"] == 0.0   # no GPU in the cluster
    assert cell_resources(cells["tvae"], over, 1.0)["num_gpus"] == 0.0  # device="cpu"
    assert cell_resources(cells["tabddpm"], over, 1.0) == {"num_cpus": 2.0, "num_gpus": 0.5}


@pytest.mark.parametrize("resources, needle", [
    ({"knn": {"num_gpus": 1}}, "not an imputer of this config"),
    ({"mean": {"gpus": 1}}, "unknown key"),
    ({"mean": {"num_cpus": 0}}, "num_cpus must be a number > 0"),
    ({"mean": {"num_gpus": 1.5}}, "num_gpus must be"),
    ({"mean": 2}, "must be a table"),
])
def test_bad_resources_name_the_problem(resources, needle):
    with pytest.raises(ImputebenchError, match=needle):
        check_resources(resources, ["mean"])


def test_without_ray_the_executor_is_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    cfg = parse_config({**SMALL, "imputers": [{"name": "mean"}]})
    with pytest.raises(MissingPackage, match=r"imputebench\[ray\]"):
        run_benchmark(cfg, tmp_path / "j.jsonl", executor="ray", progress=False)
    assert not (tmp_path / "j.jsonl").exists()
    from imputebench.benchmarks.cli import main

    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(DRIVER.replace("sleeps_a_while_for_test", "mean").replace(
        "params = { seconds = 0.7 }", ""))
    assert main(["run", str(cfg_path), "--executor", "ray", "--journal",
                 str(tmp_path / "j.jsonl"), "--no-report", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'imputebench[ray]'" in err[0]
    assert main(["run", str(cfg_path), "--address", "auto", "--no-report"]) == 2
    assert "belong to --executor ray" in capsys.readouterr().err
