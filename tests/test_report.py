"""Report rendering from synthetic journal records with known numbers (DESIGN.md §9)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from imputebench.benchmarks.report import build_report_data, render_report
from imputebench.benchmarks.report.tables import Stat, fmt

DATASETS = {"alpha": {}, "beta": {"n_rows": 500}}
MECHANISMS = ("mcar", "mar")
RATES = (0.1, 0.3)
LABELS = ("bad", "good(k=1)", "tie")
LONG_REASON = "ValueError: singular matrix " + "x" * 300 + " END-OF-REASON"
SKIP_REASON = "SkipCell: torch is not installed"


def rmse(label: str, dataset: str, mech: str, rate: float, rep: int) -> float:
    """good dominates everywhere; bad and tie are equal cell by cell."""
    if label.startswith("good"):
        return 0.1 + rate * 0.2 + 0.01 * rep + (0.05 if dataset == "beta" else 0.0) \
            + (0.02 if mech == "mar" else 0.0)
    return 0.5 + rate + 0.1 * rep


def record(dataset: str, mech: str, rate: float, rep: int, label: str) -> dict:
    status, reason, metrics = "ok", None, {}
    if (dataset, mech, rate, rep, label) == ("beta", "mar", 0.3, 2, "bad"):
        status, reason = "failed", LONG_REASON
    elif (dataset, mech, rate, rep, label) == ("alpha", "mcar", 0.1, 0, "tie"):
        status, reason = "skipped", SKIP_REASON
    else:
        metrics = {
            "rmse_minmax": {"__all__": rmse(label, dataset, mech, rate, rep), "a": 0.0},
            "mae": {"__all__": {"bad": 1.0, "tie": 0.8}.get(label, 0.5) * rate},
            # accuracy applies to beta only (alpha is numeric): an empty dict there
            "accuracy": ({"__all__": {"bad": 0.5, "tie": 0.7}.get(label, 0.9)}
                         if dataset == "beta" else {}),
        }
    name = label.split("(")[0]
    return {
        "key": f"{dataset}-{mech}-{rate}-{rep}-{name}", "dataset": dataset,
        "dataset_params": DATASETS[dataset], "n_rows": 150 if dataset == "alpha" else 500,
        "n_cols": 5, "mask": {"mechanism": mech, "rate": rate},
        "achieved_rate": rate - 0.003 + 0.001 * rep, "repetition": rep, "imputer": name,
        "params": {"k": 1} if name == "good" else {}, "label": label, "status": status,
        "reason": reason, "metrics": metrics, "fit_seconds": 0.01 * (1 + LABELS.index(label)),
        "impute_seconds": 0.02, "peak_memory_mb": 12.5, "device": "cpu", "seed": 1,
        "versions": {"imputebench": "0.1.0", "python": "3.11.7"},
        "finished_at": f"2026-11-25T06:00:{rep:02d}Z",
    }


@pytest.fixture(scope="module")
def records() -> list[dict]:
    recs = [record(d, m, r, rep, lb) for d in DATASETS for m in MECHANISMS for r in RATES
            for rep in range(3) for lb in LABELS]
    return list(reversed(recs))  # journal order must not matter


@pytest.fixture(scope="module")
def rendered(records, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    meta = {"command": "imputebench run smoke.toml", "journal": "runs/smoke/journal.jsonl",
            "config": {"name": "smoke", "repetitions": 3}, "environment": {"numpy": "2.4.6"}}
    paths = render_report(records, out, title="Smoke <report>", meta=meta)
    return paths, paths["markdown"].read_text("utf-8"), paths["html"].read_text("utf-8")


def section(md: str, dataset_heading: str, mask_heading: str) -> str:
    """The Markdown of one dataset × mask block."""
    ds = md.split(f"### Dataset {dataset_heading}", 1)[1].split("\n### ", 1)[0]
    return ds.split(f"#### {mask_heading}\n", 1)[1].split("\n#### ", 1)[0]


def table_row(block: str, label: str) -> list[str]:
    line = next(ln for ln in block.splitlines() if ln.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_fmt_four_significant_digits():
    assert [fmt(0.12), fmt(12.3456), fmt(0.0), fmt(None), fmt(float("nan"))] == \
        ["0.1200", "12.35", "0", "—", "—"]
    assert fmt(123456.7) == "123500" and fmt(1.5e-6) == "1.500e-06"
    assert Stat.of([0.16, 0.17, 0.18]).text() == "0.1700 ± 0.01000"
    assert Stat.of([0.3]).text(3) == "0.3000 (n=1)"


def test_block_table_mean_sd_and_best_in_bold(rendered):
    _, md, _ = rendered
    block = section(md, "alpha — 150 rows × 5 columns", "mcar, rate=0.3")
    good, bad = table_row(block, "good(k=1)"), table_row(block, "bad")
    # columns: imputer, runs ok, mae, rmse_minmax (alpha has no accuracy column)
    assert "accuracy" not in block
    assert good == ["good(k=1)", "3/3", "**0.1500 ± 0**", "**0.1700 ± 0.01000**"]
    assert bad == ["bad", "3/3", "0.3000 ± 0", "0.9000 ± 0.1000"]
    assert "Achieved missing rate 0.2980" in block
    mar = section(md, "beta(n_rows=500) — 500 rows × 5 columns", "mar, rate=0.3")
    assert table_row(mar, "bad")[:2] == ["bad", "2/3"]
    assert table_row(mar, "bad")[-1] == "0.8500 ± 0.07071 (n=2)"  # rmse_minmax, reps 0 and 1
    assert table_row(mar, "good(k=1)")[2] == "**0.9000 ± 0**"  # accuracy is maximized


def test_average_ranks_goal_and_ties(records):
    data = build_report_data(records)
    ranks = data.ranks.ranks
    # rmse_minmax (minimize): good best in all 8 blocks; bad == tie cell by cell (rank 2.5),
    # except where one lacks a repetition and its mean over the others differs.
    assert ranks[("good(k=1)", "rmse_minmax")] == (1.0, 8)
    assert ranks[("bad", "rmse_minmax")] == (pytest.approx((6 * 2.5 + 2 + 2) / 8), 8)
    assert ranks[("tie", "rmse_minmax")] == (pytest.approx((6 * 2.5 + 3 + 3) / 8), 8)
    # accuracy (maximize), beta only: the highest accuracy gets rank 1
    assert ranks[("good(k=1)", "accuracy")] == (1.0, 4)
    assert ranks[("tie", "accuracy")] == (2.0, 4)
    assert ranks[("bad", "accuracy")] == (3.0, 4)
    assert data.metrics["accuracy"].goal == "maximize"
    s = data.stats["rmse_minmax"]
    assert (s.n_blocks, len(s.labels)) == (8, 3) and 0 < s.p_chi2 < 0.05 and s.significant
    # good beats both in all 8 blocks; bad and tie tie in 6 of 8 and are never told apart
    assert s.pair("good(k=1)", "bad").wins == 8 and s.pair("good(k=1)", "bad").significant
    assert not s.pair("bad", "tie").significant and s.pair("bad", "tie").ties == 6


def test_rank_table_and_other_sections_in_markdown(rendered):
    _, md, _ = rendered
    ranks = md.split("## Average rank", 1)[1].split("\n## ", 1)[0]
    assert table_row(ranks, "good(k=1)") == ["good(k=1)", "**1.00 (4)**", "**1.00 (8)**",
                                             "**1.00 (8)**"]
    assert table_row(ranks, "bad")[1] == "3.00 (4)"
    assert table_row(ranks, "tie")[3] == "2.62 (8)"
    assert "Friedman chi2" in ranks and "Iman–Davenport" in ranks
    pairs = ranks.split("#### Pairwise: rmse_minmax", 1)[1].split("\n#### ", 1)[0]
    assert table_row(pairs, "good(k=1)")[:3] == ["good(k=1)", "bad", "8 / 0 / 0"]  # rank 2.38
    assert "## Metrics" in md and "Yoon et al. 2018" in md  # rmse_minmax reference
    runtime = md.split("## Runtime and memory", 1)[1].split("\n## ", 1)[0]
    assert table_row(runtime, "good(k=1)") == ["good(k=1)", "cpu", "24", "0.02000", "0.02000",
                                               "12.50"]
    header = md.split("## Results by dataset", 1)[0]
    assert "72 cells: ok 70, failed 1, skipped 1, timeout 0" in md
    assert "`imputebench run smoke.toml`" in header and '"repetitions": 3' in header
    assert "| numpy | — | 2.4.6 |" in header and "| imputebench | 0.1.0 | — |" in header
    assert md.startswith("# Smoke &lt;report>\n")


def test_failed_and_skipped_cells_with_reasons(rendered):
    _, md, html = rendered
    failed = md.split("## Failed, skipped and timed-out cells", 1)[1].split("\n## ", 1)[0]
    row = table_row(failed, "beta(n_rows=500)")
    assert row[1:5] == ["mar, rate=0.3", "2", "bad", "failed"]
    assert row[5].startswith("ValueError: singular matrix xxx") and row[5].endswith("…")
    assert len(row[5]) == 200 and "END-OF-REASON" not in md
    assert SKIP_REASON in failed and "skipped" in failed
    assert "END-OF-REASON" in html and "<details" in html  # full reason in the HTML


def test_html_is_self_contained_and_escaped(rendered):
    _, _, html = rendered
    assert html.count("<svg") == 6 and "<title>Smoke &lt;report&gt;</title>" in html
    for url in re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html, flags=re.I):
        assert url.startswith("#"), url
    assert not re.search(r"<link\b|<script[^>]*\bsrc\b|@import|<iframe|<img\b", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # the inline SVGs do not share an id
    assert "<details><summary>Environment</summary>" in html
    assert "0.1700 ± 0.01000" in html


def test_png_figures_written(rendered):
    paths, md, _ = rendered
    names = sorted(p.name for p in paths["figures"])
    # rmse_minmax is the only headline metric here (no loglik, pmse or cluster_log)
    assert names == ["cd_rmse_minmax.png", "metric_vs_rate_accuracy.png",
                     "metric_vs_rate_mae.png", "metric_vs_rate_rmse_minmax.png",
                     "quality_vs_time.png", "rank_heatmap.png"]
    assert [f.group for f in paths["figure_objects"]] == [
        "Critical-difference diagrams", "Ranks by dataset", "Trade-offs",
        "Metrics vs missing rate", "Metrics vs missing rate", "Metrics vs missing rate"]
    for p in paths["figures"]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
        assert f"](figures/{p.name})" in md


def test_rendering_is_deterministic(records, rendered, tmp_path):
    paths, md, html = rendered
    again = render_report(list(reversed(records)), tmp_path, title="Smoke <report>",
                          meta={"command": "imputebench run smoke.toml",
                                "journal": "runs/smoke/journal.jsonl",
                                "config": {"repetitions": 3, "name": "smoke"},
                                "environment": {"numpy": "2.4.6"}})
    assert again["markdown"].read_bytes() == md.encode("utf-8")
    assert again["html"].read_bytes() == html.encode("utf-8")
    for a, b in zip(paths["figures"], again["figures"], strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_only_failures_still_renders(tmp_path):
    recs = [dict(record("alpha", "mcar", 0.1, rep, "bad"), status="failed", metrics={},
                 reason=f"RuntimeError: boom {rep}") for rep in range(2)]
    paths = render_report(recs, tmp_path)
    md = paths["markdown"].read_text("utf-8")
    html = paths["html"].read_text("utf-8")
    assert "There are no results" in md and "There are no results" in html
    assert "RuntimeError: boom 1" in md and "2 cells: ok 0, failed 2" in md
    assert paths["figures"] == [] and "<svg" not in html


def test_unknown_metric_and_retried_cell(records, tmp_path):
    recs = [dict(r, metrics={**r["metrics"], "plugin_score": {"__all__": 1.0}})
            if r["status"] == "ok" else r for r in records]
    retry = dict(record("beta", "mar", 0.3, 2, "bad"), status="ok", reason=None,
                 metrics={"rmse_minmax": {"__all__": 0.95}})
    data = build_report_data([*recs, retry])
    assert data.metrics["plugin_score"].goal == "minimize"
    assert not data.metrics["plugin_score"].known
    assert data.counts["failed"] == 0 and data.counts["ok"] == 71  # the later record wins
    assert data.ranks.ranks[("good(k=1)", "plugin_score")] == (2.0, 8)  # all tied: 3 ways


def test_imputer_diagnostics_are_averaged_per_imputer(records, tmp_path):
    recs = [dict(r) for r in records]
    goods = [r for r in recs if r["label"].startswith("good") and r["status"] == "ok"]
    for i, r in enumerate(goods):
        r["diagnostics"] = {"prior": "vamp", "active_units": 2 + i % 2, "hole": -1.0,
                            "kl_per_dim": [0.1, 0.2]}
    names, rows = build_report_data(recs).diagnostics
    assert names == ["active_units", "hole", "prior"]  # lists are left out
    ((label, cells),) = rows
    assert label.startswith("good")
    expect = np.mean([2 + i % 2 for i in range(len(goods))])
    assert cells["active_units"] == fmt(expect) and cells["prior"] == "vamp"
    paths = render_report(recs, tmp_path)
    md, html = paths["markdown"].read_text(), paths["html"].read_text()
    assert "## Imputer diagnostics" in md and 'id="diagnostics"' in html
    assert "Imputer diagnostics" not in render_report(records, tmp_path / "plain")[
        "markdown"].read_text()
