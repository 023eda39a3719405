"""The report's Synthesis section (benchmarks/report/synthesis.py) on hand-built records with
known numbers: ranks by dataset type, claim verdicts, memorisation flags, the [[claims]] config
and the rendered section."""

from __future__ import annotations

import pytest

from imputebench.benchmarks.config import parse_config
from imputebench.benchmarks.report import build_report_data, render_report
from imputebench.datasets.errors import ImputebenchError

# dataset -> its type; two repetitions each: 6 blocks (dataset × repetition) in all
TYPES = {"a": {"columns": "numeric", "target": "balanced"},
         "b": {"columns": "numeric", "target": "unbalanced"},
         "c": {"columns": "categorical", "target": "balanced"}}
# pmse (and pmse_cart against the reference rows) per generator; lower is better
PMSE = {"holdout": 0.01, "cart": 0.02, "gaussian_copula": 0.03, "tvae": 0.04,
        "independent": 0.05}
GENERATORS = list(PMSE)


def _pmse(ds: str, gen: str) -> float:
    return 0.005 if (ds, gen) == ("b", "cart") else PMSE[gen]     # cart beats holdout on b


def _cluster(rep: int, gen: str) -> float:
    order = dict(PMSE)
    if rep == 1:   # tvae and independent swap places in the second repetition
        order["tvae"], order["independent"] = order["independent"], order["tvae"]
    return -10 + 100 * order[gen]


def _record(ds: str, rep: int, gen: str) -> dict:
    p = _pmse(ds, gen)
    return {
        "key": f"{ds}-{rep}-{gen}", "dataset": ds, "dataset_params": {}, "n_rows": 400,
        "n_cols": 5, "mask": {"mechanism": "split", "rate": 0.5}, "achieved_rate": 0.5,
        "repetition": rep, "imputer": gen, "params": {}, "label": gen, "status": "ok",
        "reason": None, "device": "cpu", "fit_seconds": 0.1, "impute_seconds": 0.01,
        "peak_memory_mb": 1.0, "seed": 1, "versions": {}, "finished_at": "2026-11-25T06:00:00Z",
        "metrics": {"pmse": {"__all__": p}, "pmse_cart": {"__all__": p},
                    "cluster_log": {"__all__": _cluster(rep, gen)}},
        # against train CART's copies look better than real unseen rows
        "metrics_vs_train": {"pmse_cart": {"__all__": 0.001 if gen == "cart" else p}},
        "privacy": {"copy_rate": 0.1 + 0.2 * rep if gen == "cart" else 0.0,
                    "baseline_copy_rate": 0.0, "dcr_median": 1.0, "baseline_dcr_median": 1.0,
                    "dcr_ratio": 0.5 if gen == "cart" else 1.0},
        "utility": {"target": "y", "synthetic": 0.8 + 0.1 * rep, "real": 0.95,
                    "gap": 0.15 - 0.1 * rep},
        "table_type": dict(TYPES[ds]), "n_train": 200, "n_reference": 50, "n_synthetic": 50}


def _skipped(gen: str) -> dict:
    rec = _record("a", 0, "cart")
    rec.update(key=f"skip-{gen}", imputer=gen, label=gen, status="skipped",
               reason="sdv is not installed", metrics={})
    for k in ("metrics_vs_train", "privacy", "utility", "table_type"):
        rec.pop(k)
    return rec


RECORDS = [_record(ds, rep, gen) for ds in TYPES for rep in range(2) for gen in GENERATORS]
CLAIMS = [
    {"text": "CART beats the Gaussian copula", "better": ["cart"],
     "worse": ["gaussian_copula", "sdv_gaussian_copula"], "metrics": ["pmse"]},
    {"text": "TVAE beats the Gaussian copula", "better": ["tvae"],
     "worse": ["gaussian_copula"], "metrics": ["pmse"]},
    {"text": "TVAE beats independent", "better": ["tvae"], "worse": ["independent"],
     "metrics": ["pmse", "cluster_log"]},
    {"text": "independent is last", "better": ["*"], "worse": ["independent"],
     "metrics": ["pmse"]},
    {"text": "the Bayesian network is last", "better": ["*"], "worse": ["bayesian_network"],
     "metrics": ["pmse"]},
]


def _section(claims=CLAIMS, records=None):
    recs = RECORDS + [_skipped("bayesian_network")] if records is None else records
    return build_report_data(recs, meta={"claims": claims}).synthesis


def test_ranks_by_dataset_type():
    sec = _section()
    assert list(sec.types) == [("columns", "numeric"), ("columns", "categorical"),
                               ("target", "balanced"), ("target", "unbalanced")]
    numeric = sec.types[("columns", "numeric")]["pmse"]   # datasets a and b: 4 blocks
    assert numeric.n_blocks == 4 and numeric.unit == "dataset × repetition"
    assert numeric.avg_ranks == {"holdout": 1.5, "cart": 1.5, "gaussian_copula": 3.0,
                                 "tvae": 4.0, "independent": 5.0}
    assert numeric.p_f is not None and numeric.cd is not None
    categorical = sec.types[("columns", "categorical")]["pmse"]
    assert categorical.avg_ranks["cart"] == 2.0 and categorical.avg_ranks["holdout"] == 1.0
    cl = sec.types[("target", "balanced")]["cluster_log"]           # a and c, 4 blocks
    assert cl.avg_ranks["tvae"] == 4.5 and cl.avg_ranks["independent"] == 4.5
    unbalanced = sec.types[("target", "unbalanced")]["pmse"]        # b alone: 2 blocks
    assert unbalanced.n_blocks == 2 and unbalanced.p_f is None
    assert "too few blocks for a test: 2" in unbalanced.reason
    assert "blocks are dataset × repetition" in unbalanced.reason


def test_claim_verdicts():
    res = {(c.text, c.metric): c for c in _section().claims}
    agree = res[("CART beats the Gaussian copula", "pmse")]
    assert (agree.n_blocks, agree.wins, agree.ties, agree.losses) == (6, 6, 0, 0)
    assert agree.verdict == "agree" and agree.p == pytest.approx(2 / 2 ** 6)
    assert agree.better == ["cart"] and agree.worse == ["gaussian_copula"]
    assert agree.missing == ["sdv_gaussian_copula (not in the run)"]
    assert agree.rank_better == pytest.approx(5 / 3)    # ranks 2, 2, 1, 1, 2, 2
    assert agree.rank_worse == 3.0
    disagree = res[("TVAE beats the Gaussian copula", "pmse")]
    assert disagree.verdict == "disagree" and (disagree.wins, disagree.losses) == (0, 6)
    assert res[("TVAE beats independent", "pmse")].verdict == "agree"
    mixed = res[("TVAE beats independent", "cluster_log")]
    assert (mixed.wins, mixed.losses, mixed.verdict) == (3, 3, "not significant")
    star = res[("independent is last", "pmse")]   # every other generator but holdout
    assert star.better == ["cart", "gaussian_copula", "tvae"] and star.verdict == "agree"
    missing = res[("the Bayesian network is last", "pmse")]
    assert missing.verdict == "not measured" and missing.n_blocks == 0 and missing.p is None
    assert missing.missing == ["bayesian_network (skipped (1 cell))"]
    (unmeasured,) = _section([{**CLAIMS[0], "metrics": ["corr_diff"]}]).claims
    assert unmeasured.verdict == "not measured"
    assert "no value of corr_diff in the run" in unmeasured.missing


def test_a_side_mean_decides_and_few_blocks_cannot_be_significant():
    # cart + tvae averaged (0.03; b: 0.0225) against the Gaussian copula (0.03): ties on a and
    # c, a win on b; over a and b only (four blocks) even all wins would give p = 0.125
    claim = {"text": "t", "better": ["cart", "tvae"], "worse": ["gaussian_copula"],
             "metrics": ["pmse"]}
    (res,) = _section([claim]).claims
    assert (res.wins, res.ties, res.losses) == (2, 4, 0)
    assert res.verdict == "not significant"
    few = [r for r in RECORDS if r["dataset"] != "c"]
    (res,) = _section([CLAIMS[0]], few).claims
    assert (res.n_blocks, res.wins, res.verdict) == (4, 4, "not significant")


def test_memorisation_and_utility():
    sec = _section()
    rows = {r["label"]: r for r in sec.memo["a"]}
    assert [r["label"] for r in sec.memo["a"]][0] == "holdout"
    cart = rows["cart"]
    assert cart["copy_rate"] == pytest.approx(0.2) and cart["dcr_ratio"] == 0.5
    assert cart["utility"] == pytest.approx(0.85) and cart["gap"] == pytest.approx(0.1)
    assert cart["memorises"]                     # beats holdout vs train, not vs reference
    assert not rows["gaussian_copula"]["memorises"] and not rows["holdout"]["memorises"]
    assert not {r["label"]: r for r in sec.memo["b"]}["cart"]["memorises"]   # beats it on both


def test_absent_for_imputation_records():
    rec = dict(RECORDS[0], mask={"mechanism": "mcar", "rate": 0.2}, key="imp")
    for k in ("table_type", "metrics_vs_train", "privacy", "utility"):
        rec.pop(k)
    data = build_report_data([rec])
    assert not data.synthesis


def _raw(**over):
    raw = {"name": "s", "task": "synthesis", "repetitions": 2, "metrics": ["pmse", "pmse_cart"],
           "datasets": [{"name": "synthetic", "params": {"n_rows": 600}}],
           "imputers": [{"name": "holdout"}, {"name": "cart"}]}
    raw.update(over)
    return raw


def test_claims_config():
    cfg = parse_config(_raw(claims=CLAIMS[:1]))
    assert cfg.claims == ({"text": "CART beats the Gaussian copula", "better": ["cart"],
                           "worse": ["gaussian_copula", "sdv_gaussian_copula"],
                           "metrics": ["pmse"]},)
    assert parse_config(_raw()).claims == ()
    assert cfg == parse_config(_raw())        # claims do not change which cells run
    bad = [({**CLAIMS[0], "winner": "cart"}, "unknown key in \\[claims\\] 'winner'"),
           ({k: v for k, v in CLAIMS[0].items() if k != "worse"}, "lacks worse"),
           ({**CLAIMS[0], "better": "cart"}, "'better' must be a non-empty list"),
           ({**CLAIMS[0], "worse": []}, "'worse' must be a non-empty list"),
           ({**CLAIMS[0], "better": ["*", "cart"]}, "either"),
           ({**CLAIMS[0], "better": ["*"], "worse": ["*"]}, "only one side"),
           ({**CLAIMS[0], "worse": ["cart"]}, "on both sides"),
           ({**CLAIMS[0], "metrics": ["no_such_metric"]}, "no_such_metric"),
           ({**CLAIMS[0], "metrics": ["cluster_log"]}, "not among the config's metrics"),
           ({**CLAIMS[0], "text": " "}, "'text' must be a non-empty string")]
    for claim, message in bad:
        with pytest.raises(ImputebenchError, match=message):
            parse_config(_raw(claims=[claim]))
    with pytest.raises(ImputebenchError, match="synthesis configs"):
        parse_config(_raw(task="imputation", masks=[{"mechanism": "mcar", "rate": 0.2}],
                          imputers=[{"name": "cart"}], claims=CLAIMS[:1]))


def test_rendered_section(tmp_path):
    recs = RECORDS + [_skipped("bayesian_network")]
    paths = render_report(recs, tmp_path, meta={"claims": CLAIMS, "config": {"name": "s"}})
    md = paths["markdown"].read_text(encoding="utf-8")
    html = paths["html"].read_text(encoding="utf-8")
    assert "## Synthesis" in md and "### Protocol" in md and "reward" in md
    assert "n_train / n_synthetic / n_reference: 200/50/50 on every dataset." in md
    assert "#### columns: numeric (a, b)" in md
    assert ("- pmse: 5 imputers over 4 blocks (dataset × repetition). Friedman chi2 = 15.2"
            in md)
    assert "Not separated by the CD: {cart, holdout, gaussian_copula, tvae}" in md
    assert "too few blocks for a test: 2 (at least 3 needed; blocks are dataset × repetition)" \
        in md
    assert "| holdout | **1.50** |" in md
    assert ("| CART beats the Gaussian copula | pmse | cart | gaussian_copula | 6 | 6 / 0 / 0 | "
            "0.0312 | 1.67 | 3.00 | agree |") in md
    assert "6 claim × metric checks: agree 3, disagree 1, not significant 1, not measured 1." \
        in md
    assert "bayesian_network (skipped (1 cell))" in md
    assert "| cart | 0.2000 | 0.5000 | 0.8500 | 0.1000 | 0.02000 | 0.001000 | memorises |" in md
    assert "**claims**" not in md     # not dumped as JSON at the top: the section shows them
    assert '<h2 id="synthesis">Synthesis</h2>' in html and 'href="#synthesis"' in html
    assert "memorises" in html and "not measured" in html
    plain = render_report(RECORDS[:5], tmp_path / "one")["markdown"].read_text(encoding="utf-8")
    assert "The config lists no [[claims]] to check." in plain


def test_sanity_checks_follow_their_rules():
    """holdout is best on a and c, beaten by cart on b (0.005 < 0.01 with no spread over its
    repetitions: not a tie); independent is worse than holdout on every repetition, so the
    columns depend on each other, and cart (0.02, or 0.005) beats independent (0.05)."""
    sec = _section()
    got = {(r["dataset"], r["check"], r["metric"]): r["verdict"] for r in sec.sanity}
    for m in ("pmse", "pmse_cart"):
        assert got[("a", "holdout best or tied", m)] == "best"
        assert got[("b", "holdout best or tied", m)] == "fails"
        assert all(got[(ds, "cart beats independent", m)] == "pass" for ds in TYPES)
    text = next(p for p in sec.parts if p.heading == "Sanity checks").text[-1]
    assert text.startswith("10 of 12 checks hold; failing: b holdout best or tied on pmse")
    # a spread over holdout's repetitions that covers the gap makes a tie
    recs = [dict(r) for r in RECORDS]
    for r in recs:
        if r["imputer"] == "holdout" and r["dataset"] == "b":
            v = 0.004 if r["repetition"] == 0 else 0.0115
            r["metrics"] = {**r["metrics"], "pmse": {"__all__": v}}
    got = {(r["dataset"], r["check"], r["metric"]): r["verdict"]
           for r in _section(records=recs).sanity}
    assert got[("b", "holdout best or tied", "pmse")] == "tied"
    # independent no worse than holdout on one repetition: no dependence to find
    recs = [dict(r) for r in RECORDS]
    for r in recs:
        if r["imputer"] == "independent" and (r["dataset"], r["repetition"]) == ("c", 1):
            r["metrics"] = {**r["metrics"], "pmse": {"__all__": 0.009}}
    got = {(r["dataset"], r["check"], r["metric"]): r["verdict"]
           for r in _section(records=recs).sanity}
    assert got[("c", "cart beats independent", "pmse")] == "no dependence seen"


def test_models_scored_as_imputers_beside_as_generators(tmp_path):
    recs = [dict(r) for r in RECORDS]
    for r in recs:
        if r["imputer"] == "cart":
            r["metrics_as_imputer"] = {"pmse": {"__all__": 0.015 + 0.01 * r["repetition"]}}
            r["as_imputer"] = {"mechanism": "mcar", "rate": 0.3}
    sec = _section(records=recs)
    assert set(sec.dual) == set(TYPES)
    (row,) = sec.dual["a"]
    assert row["label"] == "cart" and row["rate"] == 0.3
    assert row["pmse"] == pytest.approx((0.02, 0.02, 0.01))   # generator, imputer, holdout
    assert row["pmse_cart"][1] is None                           # not measured as an imputer
    heads = [p.heading for p in sec.parts]
    assert heads.index("As imputers and as generators") < heads.index("Memorisation and utility")
    part = sec.parts[heads.index("As imputers and as generators") + 1]
    assert part.rows[0][:3] == ["holdout", "0.01000", "0.01000"]
    assert "30%" in sec.parts[heads.index("As imputers and as generators")].text[0]
    assert not _section().dual                     # no cell scored as an imputer: no part


def test_the_committed_study_passes_its_sanity_checks():
    """reports/synth_2023 (make bench-synth): on every dataset and pMSE model, holdout is best
    or tied and cart beats independent; the claims were all measured."""
    from pathlib import Path

    from imputebench.benchmarks.config import load_config
    from imputebench.benchmarks.journal import load_records
    from imputebench.benchmarks.report.synthesis import synthesis_section

    path = Path(__file__).resolve().parents[1] / "reports" / "synth_2023" / "journal.jsonl"
    cfg = load_config("synth_2023")
    sec = synthesis_section(load_records(path), claims=[dict(c) for c in cfg.claims])
    assert len(sec.datasets) == 6
    verdicts = {(s["dataset"], s["check"], s["metric"]): s["verdict"] for s in sec.sanity}
    assert len(verdicts) == 6 * 2 * 2
    assert all(v in ("best", "tied", "pass") for v in verdicts.values()), verdicts
    assert all(c.verdict != "not measured" for c in sec.claims)
