"""benchmarks/perf/scale.py end to end at tiny sizes: records, slopes, resume (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "perf" / "scale.py"


def _run(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "scale.json"
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT), *args, "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.mark.skipif(not SCRIPT.exists(), reason="run from a source checkout")
def test_scale_records_imputers_and_metrics_and_resumes(tmp_path):
    first = _run(tmp_path, "--sizes", "150", "300", "--imputers", "mean", "knnxkde",
                 "--metrics", "pmse", "rmse_zscore", "--numeric", "6", "--categorical", "2")
    runs = {(r["imputer"], r["n"]): r for r in first["results"]}
    assert set(runs) == {(name, n) for n in (150, 300)
                         for name in ("mean", "knnxkde", "metric:pmse", "metric:rmse_zscore")}
    assert all(r["status"] == "ok" for r in runs.values())
    assert runs[("mean", 300)]["cols"] == 8          # mixed table
    assert runs[("knnxkde", 300)]["cols"] == 6       # numeric-only imputer: numeric columns
    for r in runs.values():
        assert r["seconds"] >= 0 and r["peak_mb"] > 0
    pmse = runs[("metric:pmse", 300)]["value"]
    assert pmse["__all__"] > 0 and "null" in pmse     # a real score, table-wide keys only
    assert "x0" not in runs[("metric:rmse_zscore", 300)]["value"]
    # sub-second runs give no slope (timer noise)
    assert first["slopes"]["mean"] is None

    again = _run(tmp_path, "--sizes", "150", "300", "600", "--imputers", "mean",
                 "--metrics", "--numeric", "6", "--categorical", "2", "--resume")
    done = {(r["imputer"], r["n"]): r for r in again["results"]}
    assert set(done) == {("mean", 150), ("mean", 300), ("mean", 600)}
    for n in (150, 300):  # kept, not rerun
        assert done[("mean", n)]["wall_s"] == runs[("mean", n)]["wall_s"]


def test_slope_is_the_log_log_least_squares_fit():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_scale_under_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.slope([(10, 1.0), (100, 100.0)]) == pytest.approx(2.0)
    assert mod.slope([(1_000, 3.0), (10_000, 30.0), (100_000, 300.0)]) == pytest.approx(1.0)
    assert mod.slope([(10, 2.0)]) is None
