"""The synthesis task (benchmarks/synthesis.py): config, split, cells and the sanity of the
protocol (real holdout rows score like a perfect generator; no dependence scores worst)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imputebench.benchmarks.config import load_config, parse_config
from imputebench.benchmarks.journal import Journal
from imputebench.benchmarks.runner import run_benchmark
from imputebench.benchmarks.synthesis import SplitSpec, holdout_rows, score_tables, split_mask
from imputebench.datasets import load_dataset
from imputebench.datasets.errors import ImputebenchError


def _raw(**over):
    raw = {"name": "s", "task": "synthesis", "repetitions": 2,
           "metrics": ["pmse", "pmse_ratio", "pmse_cart", "corr_diff"],
           "datasets": [{"name": "synthetic", "params": {"n_rows": 600, "n_numeric": 4,
                                                          "n_categorical": 2}}],
           "imputers": [{"name": "holdout"}, {"name": "independent"}, {"name": "cart"},
                        {"name": "knn"}]}
    raw.update(over)
    return raw


def test_config_of_a_synthesis_run():
    cfg = parse_config(_raw(split={"holdout": 0.4}))
    assert cfg.task == "synthesis" and cfg.masks == (SplitSpec(0.4),)
    assert cfg.summary()["masks"] == ["split(0.4)"]
    assert parse_config(_raw()).masks == (SplitSpec(0.5),)
    with pytest.raises(ImputebenchError, match="no \\[\\[masks\\]\\]"):
        parse_config(_raw(masks=[{"mechanism": "mcar", "rate": 0.2}]))
    with pytest.raises(ImputebenchError, match="rmse_zscore"):
        parse_config(_raw(metrics=["pmse", "rmse_zscore"]))
    with pytest.raises(ImputebenchError, match="holdout"):
        parse_config(_raw(split={"holdout": 1.0}))
    with pytest.raises(ImputebenchError, match="takes no params"):
        parse_config(_raw(imputers=[{"name": "holdout", "params": {"k": 1}}]))
    with pytest.raises(ImputebenchError, match="task"):
        parse_config(_raw(task="generation"))
    with pytest.raises(ImputebenchError, match="synthesis configs"):
        parse_config({**_raw(task="imputation"), "split": {"holdout": 0.5},
                      "masks": [{"mechanism": "mcar", "rate": 0.2}]})
    assert load_config("synth_smoke").task == "synthesis"


def test_split_is_whole_rows_seeded_and_exact():
    df = load_dataset("iris")
    m = split_mask(df, SplitSpec(0.3), 7)
    hold = holdout_rows(m)
    assert hold.sum() == 45 and m[hold].all() and not m[~hold].any()
    assert np.array_equal(m, split_mask(df, SplitSpec(0.3), 7))
    assert not np.array_equal(m, split_mask(df, SplitSpec(0.3), 8))
    with pytest.raises(ImputebenchError, match="at least 2"):
        split_mask(df.head(3), SplitSpec(0.5), 0)


def test_derived_metrics_read_their_parent_once():
    df = load_dataset("iris")
    hold = holdout_rows(split_mask(df, SplitSpec(0.5), 0))
    a, b = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    scores, errors, seconds = score_tables(["pmse_ratio", "pmse"], a, b)
    assert errors == {} and set(seconds) == {"pmse"}
    assert scores["pmse_ratio"]["__all__"] == pytest.approx(
        scores["pmse"]["__all__"] / scores["pmse"]["null"])


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "journal.jsonl"
    run_benchmark(parse_config(_raw()), path, executor="inprocess", progress=False)
    return list(Journal(path).latest().values())


def _mean(records, imputer, metric):
    return np.mean([r["metrics"][metric]["__all__"] for r in records
                    if r["imputer"] == imputer and r["status"] == "ok"])


def test_cells_record_the_split_and_skip_non_generators(records):
    assert len(records) == 8
    ok = [r for r in records if r["status"] == "ok"]
    assert {r["imputer"] for r in ok} == {"holdout", "independent", "cart"}
    assert all(r["n_train"] == 300 and r["n_synthetic"] == r["n_reference"] == 150 for r in ok)
    assert all(r["mask"] == {"mechanism": "split", "rate": 0.5} for r in records)
    knn = [r for r in records if r["imputer"] == "knn"]
    assert all(r["status"] == "skipped" and "does not generate" in r["reason"] for r in knn)


def test_real_holdout_rows_beat_no_dependence(records):
    """The sanity of the issue: a perfect generator (real unseen rows) scores far better on
    pMSE and correlation than one with the right marginals and no dependence; CART, which
    keeps the dependence, too."""
    for metric in ("pmse", "pmse_cart", "corr_diff"):
        assert _mean(records, "holdout", metric) < _mean(records, "independent", metric)
        assert _mean(records, "cart", metric) < _mean(records, "independent", metric)
    assert 0.5 < _mean(records, "holdout", "pmse_ratio") < 2.0     # about its null
    assert _mean(records, "independent", "pmse_ratio") > 1.8


def test_memorisation_and_utility_are_measured(records):
    ok = {r["imputer"]: r for r in records if r["status"] == "ok" and r["repetition"] == 0}
    for r in ok.values():
        assert set(r["privacy"]) == {"copy_rate", "baseline_copy_rate", "dcr_median",
                                     "baseline_dcr_median", "dcr_ratio"}
        assert set(r["metrics_vs_train"]) == set(r["metrics"])
    hold = ok["holdout"]["privacy"]
    assert hold["copy_rate"] == hold["baseline_copy_rate"] == 0.0     # continuous columns
    assert hold["dcr_ratio"] == pytest.approx(1.0)                    # the baseline itself
    assert "utility" not in ok["holdout"]              # synthetic has no declared target


def test_privacy_counts_exact_copies_and_distances():
    from imputebench.benchmarks.synthesis import privacy

    df = load_dataset("penguins", include_target=True).dropna().reset_index(drop=True)
    train, other = df.iloc[:150].reset_index(drop=True), df.iloc[150:250].reset_index(drop=True)
    copies = train.iloc[:40].reset_index(drop=True)
    mixed = pd.concat([copies, other.iloc[:60]], ignore_index=True)
    p = privacy(train, mixed, other, seed=0)
    assert p["copy_rate"] == pytest.approx(0.4) and p["baseline_copy_rate"] == 0.0
    assert p["dcr_median"] < p["baseline_dcr_median"] and p["dcr_ratio"] < 1
    assert privacy(train, copies, other, 0)["dcr_median"] == 0.0


def test_utility_trains_on_synthetic_and_tests_on_real():
    from imputebench.benchmarks.synthesis import utility

    df = load_dataset("iris", include_target=True)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(df))
    train = df.iloc[perm[:75]].reset_index(drop=True)
    ref = df.iloc[perm[75:]].reset_index(drop=True)
    train.attrs = ref.attrs = {"target": "species"}
    shuffled = train.copy()
    shuffled["species"] = pd.Categorical(
        shuffled["species"].sample(frac=1, random_state=0).to_numpy(),
        categories=train["species"].cat.categories)
    good, bad = utility(train, train, ref), utility(train, shuffled, ref)
    assert good["real"] == good["synthetic"] > 0.85 and good["gap"] == 0.0
    assert bad["synthetic"] < 0.6 and bad["gap"] > 0.3
    no_target = train.copy()
    no_target.attrs = {}
    assert utility(no_target, train, ref) is None


def test_unseen_reference_rows_keep_the_real_baseline_best(records):
    """Against train, CART's synthpop rows (leaf donors of deep trees) sit closer to the
    training rows than real unseen rows do and beat them on pMSE; against the reference rows
    no model saw, the real baseline is best: the reason the protocol scores on those."""
    def vs_train(imputer):
        return np.mean([r["metrics_vs_train"]["pmse_cart"]["__all__"] for r in records
                        if r["imputer"] == imputer and r["status"] == "ok"])

    assert _mean(records, "holdout", "pmse_cart") < _mean(records, "cart", "pmse_cart")
    assert vs_train("cart") < vs_train("holdout")
    assert np.mean([r["privacy"]["dcr_ratio"] for r in records
                    if r["imputer"] == "cart" and r["status"] == "ok"]) < 1.0


def test_table_types_follow_the_stated_rule():
    from imputebench.benchmarks.synthesis import table_type

    assert table_type(load_dataset("iris", include_target=True)) == {
        "columns": "numeric", "target": "balanced"}
    assert table_type(load_dataset("penguins", include_target=True))["columns"] == "mixed"
    assert table_type(load_dataset("diabetes", include_target=True))["target"] == "numeric"
    assert table_type(load_dataset("iris")) == {"columns": "numeric", "target": "none"}
    df = load_dataset("iris", include_target=True)
    rare = df.iloc[list(range(100)) + list(range(100, 105))].reset_index(drop=True)
    rare.attrs = dict(df.attrs)
    assert table_type(rare)["target"] == "unbalanced"        # 5 of 105 < 1 / 6
    cats = rare[["species"]].assign(other=rare["species"])
    cats.attrs = {"target": "species"}
    assert table_type(cats)["columns"] == "categorical"


def test_generators_that_impute_are_scored_as_imputers_on_the_same_scale(tmp_path):
    """``[split] impute_rate``: the baseline rows with 30 % of their cells hidden and filled by
    the fitted generator, scored against the reference rows like a synthetic table. Imputing
    30 % of the cells by independent draws must sit between the real rows (holdout, 0 %
    imputed) and the fully independent table (100 %)."""
    cfg = parse_config(_raw(split={"holdout": 0.5, "impute_rate": 0.3}, repetitions=3,
                            imputers=[{"name": "holdout"}, {"name": "independent"},
                                      {"name": "cart"}]))
    assert cfg.masks == (SplitSpec(0.5, impute_rate=0.3),)
    assert cfg.summary()["masks"] == ["split(0.5, impute 0.3)"]
    path = tmp_path / "journal.jsonl"
    run_benchmark(cfg, path, executor="inprocess", progress=False)
    recs = [r for r in Journal(path).latest().values() if r["status"] == "ok"]
    assert len(recs) == 9
    for r in recs:
        if r["imputer"] == "holdout":
            assert "metrics_as_imputer" not in r
            continue
        assert set(r["metrics_as_imputer"]) == set(r["metrics"])
        assert r["as_imputer"]["mechanism"] == "mcar"
        assert r["as_imputer"]["achieved_rate"] == pytest.approx(0.3, abs=0.05)   # 900 cells

    def mean(imputer, key):
        return np.mean([r[key]["pmse"]["__all__"] for r in recs if r["imputer"] == imputer])

    assert mean("holdout", "metrics") < mean("independent", "metrics_as_imputer") \
        < mean("independent", "metrics")
    with pytest.raises(ImputebenchError, match="impute_rate"):
        parse_config(_raw(split={"holdout": 0.5, "impute_rate": 0}))


@pytest.mark.synth
def test_the_synth_smoke_config_runs_every_generator(tmp_path):
    """CI runs the shipped synth_smoke config (tiny budgets): every generator finishes, or,
    without the synth extra, is a skipped cell naming the package; the report's sanity
    section holds holdout's row on every dataset."""
    from imputebench.benchmarks.report import build_report_data

    cfg = load_config("synth_smoke")
    path = tmp_path / "journal.jsonl"
    run_benchmark(cfg, path, executor="local", progress=False)
    recs = list(Journal(path).latest().values())
    assert len(recs) == len(cfg.datasets) * cfg.repetitions * len(cfg.imputers)
    for r in recs:
        external = r["imputer"].startswith("sdv_") or r["imputer"] == "bayesian_network"
        if r["status"] == "skipped" and external:
            assert "needs the optional package" in r["reason"]
            assert "imputebench[synth]" in r["reason"]
        else:
            assert r["status"] == "ok", (r["imputer"], r["reason"])
    ok = {r["imputer"] for r in recs if r["status"] == "ok"}
    assert {"holdout", "independent", "cart", "gaussian_copula", "vae", "tvae",
            "tabddpm"} <= ok
    as_imputer = {r["imputer"] for r in recs if "metrics_as_imputer" in r}
    assert {"cart", "vae", "tabddpm"} <= as_imputer and not as_imputer & {
        "holdout", "sdv_ctgan", "bayesian_network"}
    sec = build_report_data(recs, meta={"claims": []}).synthesis
    holdout_checks = [s for s in sec.sanity if s["check"] == "holdout best or tied"]
    assert len({s["dataset"] for s in holdout_checks}) == len(cfg.datasets)
    assert {s["verdict"] for s in holdout_checks} <= {"best", "tied", "fails"}
