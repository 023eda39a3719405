"""Reproduction reports: our best setting beside the published mean, in units of its spread."""

from __future__ import annotations

import csv

import pytest

from imputebench.benchmarks.config import load_config, parse_config
from imputebench.benchmarks.report import render_report
from imputebench.benchmarks.report.published import compare, load_published, summary
from imputebench.benchmarks.report.tables import normalize_records
from imputebench.datasets import ImputebenchError


def _rec(ds, label, rep, value, rate=0.2):
    name = label.split("(")[0]
    return {"key": f"{ds}-{label}-{rep}-{rate}", "dataset": ds, "dataset_params": {},
            "mask": {"mechanism": "full_mcar", "rate": rate}, "repetition": rep,
            "imputer": name, "params": {}, "label": label, "status": "ok", "reason": None,
            "metrics": {"rmse_minmax": {"__all__": value}}, "n_rows": 10, "n_cols": 2}


@pytest.fixture
def published_csv(tmp_path):
    path = tmp_path / "pub.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "scenario", "miss_rate", "method", "best_param", "best_value",
                    "rmse_mean", "rmse_std", "n_repeats"])
        w.writerow(["a", "full_mcar", "0.2", "knnimputer", "n_neighbors", "5", "0.100", "0.010",
                    "3"])
        w.writerow(["a", "full_mcar", "0.2", "mean", "", "", "0.300", "0.010", "3"])
        w.writerow(["b", "full_mcar", "0.2", "mean", "", "", "0.300", "0.010", "3"])
        w.writerow(["a", "full_mcar", "0.2", "gain", "", "", "0.2", "0.01", "3"])
    return path


def test_best_setting_and_agreement(published_csv):
    recs = []
    for rep, (v5, v10, vm) in enumerate([(0.105, 0.20, 0.33), (0.107, 0.21, 0.35),
                                         (0.106, 0.19, 0.34)]):
        recs += [_rec("x_a", "knn(n_neighbors=5)", rep, v5), _rec("x_a", "knn(n_neighbors=10)",
                                                                   rep, v10),
                 _rec("x_a", "mean", rep, vm)]
    spec = {"file": str(published_csv), "dataset_prefix": "x_",
            "methods": {"knn": "knnimputer", "mean": "mean"}}
    comps = {(c.dataset, c.method): c for c in compare(normalize_records(recs), spec)}
    knn = comps[("x_a", "knnimputer")]
    assert knn.ours_label == "knn(n_neighbors=5)"      # best of the grid by mean
    assert knn.ours_mean == pytest.approx(0.106)
    assert knn.z == pytest.approx(0.6) and knn.agrees  # within one published sd
    mean = comps[("x_a", "mean")]
    assert mean.z == pytest.approx(4.0) and mean.agrees is False
    assert comps[("x_b", "mean")].agrees is None and comps[("x_b", "mean")].ours_n == 0
    assert ("x_a", "gain") not in comps                # a method we do not map is left out
    assert summary(list(comps.values())) == [("knnimputer", 1, 1, 1), ("mean", 0, 1, 2)]


def test_report_prints_the_comparison(published_csv, tmp_path):
    recs = [_rec("x_a", "mean", r, 0.30 + 0.001 * r) for r in range(3)]
    meta = {"published": {"file": str(published_csv), "dataset_prefix": "x_",
                          "methods": {"mean": "mean"}, "source": "Test et al."}}
    paths = render_report(recs, tmp_path / "rep", meta=meta)
    md = paths["markdown"].read_text()
    assert "## Reproduction: ours beside the published numbers" in md
    assert "| x_a | full_mcar | 0.2 | mean | mean | 0.30000 ± 0.01000 |" in md
    assert "+0.10 | agrees |" in md
    assert "Reproduction: ours beside the published numbers" in paths["html"].read_text()


def test_shipped_published_file_and_config():
    rows = load_published("knnxkde2023_full_mcar_rmse.csv")
    assert len(rows) == 120 and {r["n_repeats"] for r in rows} == {"20"}
    sulfur = [r for r in rows if r["dataset"] == "sulfur" and r["method"] == "knnxkde"][0]
    assert (sulfur["rmse_mean"], sulfur["rmse_std"]) == ("0.05849", "0.00160")
    cfg = load_config("knnxkde_paper")
    assert cfg.published["dataset_prefix"] == "knnxkde_"
    assert len(cfg.datasets) == 15 and cfg.repetitions == 20
    assert {m.mechanism for m in cfg.masks} == {"full_mcar"}


def test_bad_published_spec():
    base = {"datasets": [{"name": "iris"}], "masks": [{"mechanism": "mcar", "rate": 0.2}],
            "imputers": [{"name": "mean"}]}
    with pytest.raises(ImputebenchError, match="no published file"):
        parse_config({**base, "published": {"file": "nope.csv"}})
    with pytest.raises(ImputebenchError, match="'methods'"):
        parse_config({**base, "published": {"file": "knnxkde2023_full_mcar_rmse.csv",
                                            "method": {}}})
