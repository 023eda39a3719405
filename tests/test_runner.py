"""The harness: config expansion, derived seeds, journal and resume, isolation of failing cells."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest

from imputebench.benchmarks.config import load_config, parse_config
from imputebench.benchmarks.journal import Journal
from imputebench.benchmarks.runner import Prepared, plan, run_benchmark
from imputebench.datasets import ImputebenchError
from imputebench.imputers import Capabilities, Imputer
from imputebench.imputers.base import _REGISTRY
from imputebench.imputers.mean import MeanImputer


def _raw(**over):
    raw = {
        "name": "t", "repetitions": 2, "metrics": ["rmse_minmax", "accuracy"],
        "datasets": [{"name": "iris", "params": {"include_target": True}}],
        "masks": [{"mechanism": ["mcar", "mar"], "rate": [0.2, 0.4]}],
        "imputers": [{"name": "mean"}, {"name": "knn", "params": {"n_neighbors": [3, 5]}}],
    }
    raw.update(over)
    return raw


def test_cartesian_expansion():
    cfg = parse_config(_raw())
    assert len(cfg.masks) == 4 and len(cfg.imputers) == 3 and len(cfg.datasets) == 1
    cells = plan(cfg)
    assert len(cells) == 1 * 4 * 2 * 3
    assert len({c.key for c in cells}) == len(cells)
    labels = sorted(i.label() for i in cfg.imputers)
    assert labels == ["knn(n_neighbors=3)", "knn(n_neighbors=5)", "mean"]


@pytest.mark.parametrize("over, needle", [
    ({"repetition": 3}, "'repetitions'"),
    ({"imputers": [{"name": "knnn"}]}, "'knn'"),
    ({"imputers": [{"name": "knn", "params": {"k": 3}}]}, "bad parameters for imputer 'knn'"),
    ({"datasets": [{"name": "irsi"}]}, "'iris'"),
    ({"metrics": ["rmse_minmx"]}, "'rmse_minmax'"),
    ({"masks": [{"mechanism": "mcar", "rate": 1.5}]}, "rate"),
    ({"masks": [{"mechanism": "mcra", "rate": 0.2}]}, "'mcar'"),
    ({"masks": [{"mechanism": "mcar", "rat": 0.2}]}, "'rate'"),
    ({"masks": [{"mechanism": "mcar", "rate": []}]}, "empty list"),
    ({"repetitions": 0}, "repetitions"),
    ({"timeout": -1}, "timeout"),
])
def test_config_errors_name_the_problem(over, needle):
    with pytest.raises(ImputebenchError, match=None) as info:
        parse_config(_raw(**over))
    assert needle in str(info.value)


def test_shipped_configs_parse():
    default = load_config("default")
    assert len(default.datasets) >= 4 and default.repetitions == 3
    assert {m.mechanism for m in default.masks} >= {"mcar", "mar", "mnar_logistic"}
    assert len({m.rate for m in default.masks}) == 3
    assert load_config("smoke").name == "smoke"


def test_seeds_come_from_fields_not_order():
    cfg = parse_config(_raw())
    cells = plan(cfg)
    rev = plan(parse_config(_raw(imputers=list(reversed(_raw()["imputers"])))))
    by_key = {c.key: (c.mask_seed, c.imputer_seed) for c in rev}
    assert all(by_key[c.key] == (c.mask_seed, c.imputer_seed) for c in cells)
    # the mask does not depend on the imputer: one mask per (dataset, spec, repetition)
    groups = {}
    for c in cells:
        groups.setdefault(c.mask_fields().__repr__(), set()).add(c.mask_seed)
    assert all(len(s) == 1 for s in groups.values()) and len(groups) == 8
    prep = Prepared(cells)
    a, b = (prep.task(c).mask for c in cells[:2])
    assert a is b  # shared, not redrawn
    assert len({c.imputer_seed for c in cells}) == len(cells)


def _metrics_by_key(path):
    return {r["key"]: (r["status"], r.get("metrics")) for r in Journal(path).records()}


def _close(a, b, rel=1e-9) -> bool:
    """Equal structures, floats to ``rel``: iterative fits whose BLAS rounding depends on the
    process (pMSE's float32 Hessian) agree to about 1e-12, not always to the bit."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rel) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_close(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= rel * max(abs(a), abs(b))
    return a == b


def test_serial_and_parallel_runs_agree_and_resume(tmp_path):
    cfg = load_config("smoke")
    s1 = run_benchmark(cfg, tmp_path / "a.jsonl", executor="inprocess", progress=False)
    s2 = run_benchmark(cfg, tmp_path / "b.jsonl", executor="local", workers=2, progress=False)
    assert s1.ran == s2.ran == len(plan(cfg)) and s1.failed == s2.failed == 0
    assert _close(_metrics_by_key(tmp_path / "a.jsonl"), _metrics_by_key(tmp_path / "b.jsonl"))
    again = run_benchmark(cfg, tmp_path / "b.jsonl", executor="local", progress=False)
    assert again.ran == 0 and again.skipped_done == len(plan(cfg))
    assert len(Journal(tmp_path / "b.jsonl").records()) == len(plan(cfg))


class _Raises(MeanImputer):
    name = "raises_for_test"

    def _fit(self, X, kinds, rng):
        raise ValueError("boom on purpose")


class _Crashes(MeanImputer):
    name = "crashes_for_test"

    def _fit(self, X, kinds, rng):
        os.kill(os.getpid(), signal.SIGKILL)


class _Sleeps(MeanImputer):
    name = "sleeps_for_test"

    def _fit(self, X, kinds, rng):
        time.sleep(60)


class _Stochastic(Imputer):
    name = "noisy_for_test"
    capabilities = Capabilities(stochastic=True)

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit(self, X, kinds, rng):
        self.value_ = rng.standard_normal()

    def _impute(self, X, rng):
        return X.fillna(self.value_)


@pytest.fixture
def test_imputers():
    classes = [_Raises, _Crashes, _Sleeps, _Stochastic]
    for cls in classes:
        _REGISTRY.register(cls)
    yield
    for cls in classes:
        _REGISTRY._entries.pop(cls.name, None)


def test_failing_cells_are_recorded_and_the_run_goes_on(tmp_path, test_imputers):
    raw = _raw(repetitions=1, timeout=3, masks=[{"mechanism": "mcar", "rate": 0.3}],
               datasets=[{"name": "diabetes"}], metrics=["rmse_minmax"],
               imputers=[{"name": n} for n in ("mean", "raises_for_test", "crashes_for_test",
                                               "sleeps_for_test")])
    cfg = parse_config(raw)
    t0 = time.monotonic()
    s = run_benchmark(cfg, tmp_path / "j.jsonl", executor="local", workers=2,
                      progress=False, start_method="fork")
    assert time.monotonic() - t0 < 30
    recs = {r["imputer"]: r for r in Journal(tmp_path / "j.jsonl").records()}
    assert s.ran == 4 and s.failed == 3
    assert recs["mean"]["status"] == "ok" and recs["mean"]["metrics"]["rmse_minmax"]["__all__"] > 0
    assert recs["raises_for_test"]["status"] == "failed"
    assert recs["raises_for_test"]["reason"] == "ValueError: boom on purpose"
    assert recs["crashes_for_test"]["status"] == "failed"
    assert "SIGKILL" in recs["crashes_for_test"]["reason"]
    assert recs["sleeps_for_test"]["status"] == "timeout"
    assert "timed out after 3 s" in recs["sleeps_for_test"]["reason"]
    # a rerun keeps finished failures unless asked to retry them
    assert run_benchmark(cfg, tmp_path / "j.jsonl", progress=False, start_method="fork").ran == 0
    _REGISTRY._entries.pop("crashes_for_test")
    _REGISTRY._entries.pop("sleeps_for_test")
    retry = run_benchmark(cfg, tmp_path / "j.jsonl", executor="inprocess", progress=False,
                          retry_failed=True)
    assert retry.ran == 3  # the failed and timed-out cells, not the finished one
    latest = {r["imputer"]: r for r in Journal(tmp_path / "j.jsonl").latest().values()}
    assert "unknown imputer 'crashes_for_test'" in latest["crashes_for_test"]["reason"]


def test_random_state_is_the_cell_seed(tmp_path, test_imputers):
    raw = _raw(repetitions=2, masks=[{"mechanism": "mcar", "rate": 0.3}],
               datasets=[{"name": "diabetes"}], metrics=["rmse_minmax"],
               imputers=[{"name": "noisy_for_test"}])
    cfg = parse_config(raw)
    run_benchmark(cfg, tmp_path / "a.jsonl", executor="inprocess", progress=False)
    run_benchmark(cfg, tmp_path / "b.jsonl", executor="inprocess", progress=False)
    a, b = _metrics_by_key(tmp_path / "a.jsonl"), _metrics_by_key(tmp_path / "b.jsonl")
    assert a == b
    values = [m["rmse_minmax"]["__all__"] for _, m in a.values()]
    assert len(set(values)) == 2  # each repetition its own seed


def test_journal_survives_a_torn_line(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append({"key": "a", "status": "ok"})
    with open(j.path, "a") as fh:
        fh.write('{"key": "b", "stat')  # killed mid-write
    with pytest.warns(UserWarning, match="unreadable"):
        assert set(j.latest()) == {"a"}
    j.append({"key": "c", "status": "ok"})
    with pytest.warns(UserWarning):
        assert set(j.latest()) == {"a", "c"}
    lines = j.path.read_text().splitlines()
    assert json.loads(lines[-1])["key"] == "c"


def test_achieved_rate_is_recorded(tmp_path):
    cfg = parse_config(_raw(repetitions=1, imputers=[{"name": "mean"}]))
    run_benchmark(cfg, tmp_path / "j.jsonl", executor="inprocess", progress=False)
    recs = Journal(tmp_path / "j.jsonl").records()
    for r in recs:
        assert 0 < r["achieved_rate"] < 1
        if r["mask"]["mechanism"] == "mcar":
            assert abs(r["achieved_rate"] - r["mask"]["rate"]) < 0.06
    assert np.isfinite([r["fit_seconds"] + r["impute_seconds"] for r in recs]).all()


def test_numeric_only_imputer_is_skipped_on_mixed_tables(tmp_path):
    cfg = parse_config(_raw(repetitions=1, masks=[{"mechanism": "mcar", "rate": 0.2}],
                            datasets=[{"name": "iris", "params": {"include_target": True}},
                                      {"name": "iris"}],
                            imputers=[{"name": "mice"}]))
    s = run_benchmark(cfg, tmp_path / "j.jsonl", executor="inprocess", progress=False)
    recs = {json.dumps(r["dataset_params"]): r for r in Journal(tmp_path / "j.jsonl").records()}
    mixed, numeric = recs['{"include_target": true}'], recs["{}"]
    assert mixed["status"] == "skipped" and "numeric columns only" in mixed["reason"]
    assert "['species']" in mixed["reason"]
    assert numeric["status"] == "ok" and s.failed == 1


def test_table_metrics_run_once_per_cell_and_ratios_come_from_their_parent(tmp_path):
    metrics = ["rmse_minmax", "pmse_ratio", "pmse", "cluster_log", "utility_xgb"]
    cfg = parse_config(_raw(repetitions=1, masks=[{"mechanism": "mcar", "rate": 0.3}],
                            imputers=[{"name": "mean"}, {"name": "knn"}], metrics=metrics))
    run_benchmark(cfg, tmp_path / "j.jsonl", executor="inprocess", progress=False)
    recs = Journal(tmp_path / "j.jsonl").records()
    assert len(recs) == 2
    for r in recs:
        assert r["status"] == "ok", r.get("reason")
        assert set(r["metrics"]) == set(metrics)
        # the ratio was read from pmse's result, not computed again
        assert "pmse_ratio" not in r["metric_seconds"]
        assert r["metrics"]["pmse_ratio"]["__all__"] == r["metrics"]["pmse"]["ratio"]
        # iris with its target: utility_xgb predicts species (df.attrs["target"])
        assert 0.5 < r["metrics"]["utility_xgb"]["complete"] <= 1.0


def test_cells_run_with_the_configs_thread_cap_and_leave_the_process_as_it_was(tmp_path):
    """``threads`` (default 1) caps every thread pool of a cell: side-by-side cells would
    oversubscribe the cores with one thread per core each. Restored afterwards."""
    from threadpoolctl import threadpool_info

    from imputebench.benchmarks.cell import thread_limit

    torch = pytest.importorskip("torch")
    before_torch = torch.get_num_threads()
    before_env = os.environ.get("OMP_NUM_THREADS")
    with thread_limit(1):
        assert torch.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1"
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert torch.get_num_threads() == before_torch
    assert os.environ.get("OMP_NUM_THREADS") == before_env
    cfg = parse_config(_raw(repetitions=1, masks=[{"mechanism": "mcar", "rate": 0.3}],
                            datasets=[{"name": "diabetes"}], metrics=["rmse_minmax"],
                            imputers=[{"name": "mean"}], threads=2))
    assert cfg.threads == 2 and parse_config(_raw()).threads == 1
    run_benchmark(cfg, tmp_path / "j.jsonl", executor="inprocess", progress=False)
    (rec,) = Journal(tmp_path / "j.jsonl").records()
    assert rec["threads"] == 2
    with pytest.raises(ImputebenchError, match="threads"):
        parse_config(_raw(threads=0))
