"""Short labels, the ablation section and the latent-space figures of a report, from
hand-built journal records with known numbers (DESIGN.md §9)."""

from __future__ import annotations

import copy
import re

import matplotlib
import numpy as np
import pytest

from imputebench.benchmarks.report import build_report_data, render_report
from imputebench.benchmarks.report.figures import _RC, GROUPS, _safe
from imputebench.benchmarks.report.labels import short_labels
from imputebench.benchmarks.report.latent import latent_section
from imputebench.benchmarks.report.latent_plots import latent_panels, parse_latent_map, specs
from imputebench.benchmarks.report.tables import metric_info, normalize_records

DATASETS = {"adult": 1.0, "letter": 0.5}          # base rmse_zscore
PRIORS, BETAS, TWS = ("standard", "mog"), (0.5, 1.0), (0.0, 1.0)
NO_MAP_REP0 = ("mog", 0.5, 1.0)                    # its latent_map is in repetition 1 only
BROKEN_MAP = ("standard", 0.5, 1.0)                # a malformed latent_map everywhere


def rmse(dataset, prior, beta, tw, rep):
    """mog +0.1 (worse), beta 0.5 +0.02 (worse), triplet_weight 1 -0.05 (better)."""
    return (DATASETS[dataset] + 0.1 * (prior == "mog") + 0.02 * (beta == 0.5)
            - 0.05 * (tw == 1.0) + 0.01 * rep)


def accuracy(prior, tw, rep):
    """beta never matters (ties); triplet_weight 1 loses in rep 0 and wins in rep 1."""
    return 0.8 + 0.05 * (prior == "mog") + (0.0 if tw == 0.0 else (0.01 if rep else -0.01))


def latent_map(prior: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    g = np.linspace(-3, 3, 12)
    logd = -0.5 * (g[None, :] ** 2 + g[:, None] ** 2)
    logd[0, 0] = -1e30                                 # "may contain very negative numbers"
    pts = rng.normal(size=(30, 2)) * 0.5
    labels = [("a", "b", None)[i % 3] for i in range(30)]
    pca = prior == "mog"
    return {"projection": "pca" if pca else "identity", "explained": 0.83 if pca else 1.0,
            "points": pts.tolist(), "labels": labels, "label_column": "species",
            "grid_x": g.tolist(), "grid_y": g.tolist(), "log_density": logd.tolist(),
            "density": "kde" if pca else "exact"}


def vae_record(dataset, prior, beta, tw, rep, with_map=True):
    params = {"batch_size": 128, "beta": beta, "epochs": 60, "prior": prior,
              "triplet_weight": tw}
    label = ("vae(" + ", ".join(f"{k}={v!r}".replace("'", '"') for k, v in params.items())
             + ")")
    diag = {"prior": prior, "description": f"vae, {prior} prior",
            "kl_per_dim": [0.001, 1.5, 0.7] if prior == "standard" else [0.3, 0.0, 2.0],
            "active_units": 2 if prior == "standard" else 1,
            "kl_total": 2.0, "hole": -0.1 - 0.5 * (prior == "mog")}
    if with_map:
        if (prior, beta, tw) == BROKEN_MAP:
            diag["latent_map"] = {"points": "oops", "grid_x": [1, 2], "log_density": 3}
        elif not ((prior, beta, tw) == NO_MAP_REP0 and rep == 0):
            diag["latent_map"] = latent_map(prior, rep)
    return {"key": f"{dataset}-{label}-{rep}", "dataset": dataset, "dataset_params": {},
            "n_rows": 100, "n_cols": 4, "mask": {"mechanism": "mcar", "rate": 0.3},
            "achieved_rate": 0.3, "repetition": rep, "imputer": "vae", "params": params,
            "label": label, "status": "ok", "reason": None,
            "metrics": {"rmse_zscore": {"__all__": rmse(dataset, prior, beta, tw, rep)},
                        "accuracy": {"__all__": accuracy(prior, tw, rep)}},
            "fit_seconds": 5.0, "impute_seconds": 1.0, "peak_memory_mb": 10.0, "device": "cpu",
            "seed": 1, "versions": {}, "finished_at": "2026-11-25T06:00:00Z",
            "diagnostics": diag}


def mean_record(dataset, rep):
    return {"key": f"{dataset}-mean-{rep}", "dataset": dataset, "dataset_params": {},
            "n_rows": 100, "n_cols": 4, "mask": {"mechanism": "mcar", "rate": 0.3},
            "achieved_rate": 0.3, "repetition": rep, "imputer": "mean", "params": {},
            "label": "mean", "status": "ok", "reason": None,
            "metrics": {"rmse_zscore": {"__all__": 2.0}, "accuracy": {"__all__": 0.5}},
            "fit_seconds": 0.1, "impute_seconds": 0.1, "peak_memory_mb": 1.0, "device": "cpu",
            "seed": 1, "versions": {}, "finished_at": "2026-11-25T06:00:00Z", "diagnostics": {}}


def make_records(with_map=True):
    recs = [vae_record(d, p, b, t, rep, with_map) for d in DATASETS for p in PRIORS
            for b in BETAS for t in TWS for rep in range(2)]
    return recs + [mean_record(d, rep) for d in DATASETS for rep in range(2)]


@pytest.fixture(scope="module")
def records():
    return make_records()


@pytest.fixture(scope="module")
def data(records):
    return build_report_data(records)


def _param(data, name):
    imp = next(i for i in data.ablation.imputers if i.name == "vae")
    return next(p for p in imp.params if p.name == name)


def test_short_labels_keep_only_varying_params(records):
    short = short_labels(normalize_records(records))
    full = ('vae(batch_size=128, beta=0.5, epochs=60, prior="mog", triplet_weight=1.0)')
    assert short[full] == "vae(beta=0.5, prior=mog, triplet_weight=1)"
    assert short['vae(batch_size=128, beta=1.0, epochs=60, prior="standard", '
                 'triplet_weight=0.0)'] == "vae(beta=1, prior=standard, triplet_weight=0)"
    assert short["mean"] == "mean"
    assert len(set(short.values())) == 9
    # two labels with the same params cannot be told apart: both keep their full label
    twin = dict(records[-1], label="mean(fast)", key="twin")
    short = short_labels(normalize_records([*records, twin]))
    assert short["mean"] == "mean" and short["mean(fast)"] == "mean(fast)"


def test_latent_section_falls_back_to_varying_params(records):
    rows = normalize_records(records)
    infos = {m: metric_info(m) for m in ("rmse_zscore", "accuracy")}
    sec = latent_section(rows, infos)   # vae(prior=...) names 4 labels each: ambiguous
    labels = [lb for lb, _ in sec.blocks[0].rows]
    assert labels[0] == "vae(beta=0.5, prior=mog, triplet_weight=0)" and labels[-1] == "mean"
    assert len(labels) == 9 and not any("batch_size" in lb for lb in labels)


def test_ablation_varying_params_and_references(data):
    imp = data.ablation.imputers
    assert [i.name for i in imp] == ["vae"]            # mean has one configuration
    assert [(p.name, p.reference, p.values) for p in imp[0].params] == [
        ("beta", "1", ["1", "0.5"]), ("prior", "standard", ["standard", "mog"]),
        ("triplet_weight", "0", ["0", "1"])]
    assert imp[0].summary == ("vae: 8 configurations; varying beta (1*, 0.5); prior "
                              "(standard*, mog); triplet_weight (0*, 1) (* = reference)")


def test_ablation_block_tables_means_and_counts(data):
    tw = _param(data, "triplet_weight")
    assert [t.title for t in tw.tables] == ["adult, mcar, rate=0.3", "letter, mcar, rate=0.3"]
    adult = tw.tables[0]
    assert adult.header == ["triplet_weight", "cells", "rmse_zscore ↓", "accuracy ↑",
                            "active_units", "hole"]
    ref, one = adult.rows
    # tw=0: 1.0 + mean(0, 0.1) + mean(0, 0.02) + mean(0, 0.01) = 1.065; tw=1: 1.015
    assert ref[:3] == ["0 (reference)", "8", "1.065"]
    assert one[:2] == ["1", "8"] and one[2].startswith("1.015 (8/0/0, p ")
    # accuracy: tw=1 loses the 4 pairs of rep 0 and wins the 4 of rep 1
    assert ref[3] == "0.8250" and one[3].startswith("0.8250 (4/0/4, p ")
    # diagnostics: means only, no paired counts
    assert ref[4] == one[4] == "1.500" and ref[5] == one[5] == "-0.3500"
    prior = _param(data, "prior").tables[1]        # letter
    # standard: 0.5 + 0.01 (beta) - 0.025 (triplet_weight) + 0.005 (rep); mog 0.1 more
    assert [r[:3] for r in prior.rows] == [["standard (reference)", "8", "0.4900"],
                                           ["mog", "8", "0.5900 (0/0/8, p 0.0078)"]]
    assert [r[4] for r in prior.rows] == ["2.000", "1.000"]


def test_ablation_pooled_verdicts(data):
    tw, beta, prior = (_param(data, n) for n in ("triplet_weight", "beta", "prior"))
    assert re.fullmatch(r"triplet_weight=1 vs 0 on rmse_zscore ↓: 16 wins, 0 losses, 0 ties "
                        r"over 16 pairs, Wilcoxon p = [0-9.e-]+ \(better\)\.", tw.verdicts[0])
    assert tw.verdicts[1] == ("triplet_weight=1 vs 0 on accuracy ↑: 8 wins, 8 losses, 0 ties "
                              "over 16 pairs, Wilcoxon p = 1.0 (not significant).")
    assert re.fullmatch(r"beta=0.5 vs 1 on rmse_zscore ↓: 0 wins, 16 losses, 0 ties over 16 "
                        r"pairs, Wilcoxon p = [0-9.e-]+ \(worse\)\.", beta.verdicts[0])
    assert beta.verdicts[1] == ("beta=0.5 vs 1 on accuracy ↑: 0 wins, 0 losses, 16 ties over "
                                "16 pairs, Wilcoxon p = 1.0 (not significant).")
    assert prior.verdicts[1].startswith("prior=mog vs standard on accuracy ↑: 16 wins, 0 "
                                        "losses, 0 ties over 16 pairs")


def test_ablation_several_values_in_one_sentence(records):
    vamp = []
    for r in copy.deepcopy([r for r in records if r["params"].get("prior") == "standard"]):
        r["params"]["prior"] = r["diagnostics"]["prior"] = "vamp"
        r["label"], r["key"] = r["label"].replace("standard", "vamp"), r["key"] + "vamp"
        r["metrics"]["rmse_zscore"]["__all__"] -= 0.03          # better than standard
        vamp.append(r)
    prior = _param(build_report_data([*records, *vamp]), "prior")
    assert prior.values == ["standard", "mog", "vamp"]
    assert re.fullmatch(r"prior vs standard on rmse_zscore ↓, wins/ties/losses of pairs "
                        r"\(Wilcoxon p\): mog 0/0/16 of 16 \(p = [0-9.e-]+, worse\); "
                        r"vamp 16/0/0 of 16 \(p = [0-9.e-]+, better\)\.", prior.verdicts[0])
    assert [r[0] for r in prior.tables[0].rows] == ["standard (reference)", "mog", "vamp"]


def test_no_ablation_without_a_grid(records):
    plain = [r for r in records if r["imputer"] == "mean"]
    assert not build_report_data(plain).ablation
    # configurations that differ only together: no pair, said plainly
    two = [r for r in records if r["imputer"] == "vae" and (
        (r["params"]["prior"], r["params"]["beta"], r["params"]["triplet_weight"])
        in (("standard", 1.0, 0.0), ("mog", 0.5, 1.0)))]
    sec = build_report_data(two).ablation
    p = sec.imputers[0].params[0]
    assert p.name == "beta"
    assert p.verdicts[0] == ("beta=0.5 vs 1 on rmse_zscore ↓: no pairs (no two cells differ in "
                             "beta alone).")


def _draw(data):
    with matplotlib.rc_context(_RC):
        return [(stem, draw()) for group, stem, *_, draw in specs(data, GROUPS[3], _safe)]


def test_latent_figures_panels(data):
    assert GROUPS.index("Latent space") == GROUPS.index("Trade-offs") + 1
    figs = dict(_draw(data))
    assert sorted(figs) == ["latent_kl_adult_mcar_rate_0.3", "latent_kl_letter_mcar_rate_0.3",
                            "latent_map_adult_mcar_rate_0.3", "latent_map_letter_mcar_rate_0.3"]
    fmap = figs["latent_map_adult_mcar_rate_0.3"]
    shown = [ax for ax in fmap.axes if ax.axison]
    assert len(shown) == 7                      # 8 configs, one with a malformed map
    assert len(fmap.axes) == 12                 # 2 rows of at most 6 panels
    titles = [ax.get_title() for ax in shown]
    assert not any("batch_size" in t for t in titles)
    # the config without a map in repetition 0 is drawn from repetition 1
    mog = next(ax for ax in shown if ax.get_title().startswith("vae(beta=0.5, prior=mog,"))
    assert "PCA, 83% of var., prior by KDE" in mog.get_title() and mog.get_xlabel() == "PC1"
    std = next(ax for ax in shown if "prior=standard" in ax.get_title())
    assert std.get_xlabel() == "z1" and std.get_ylabel() == "z2"
    # dots in three colours (a, b, missing), the legend once with the label column's name
    assert len(mog.get_lines()) == 3 and sum(len(ln.get_xdata()) for ln in mog.lines) == 30
    (legend,) = fmap.legends
    assert legend.get_title().get_text() == "species"
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "missing"]
    fkl = figs["latent_kl_adult_mcar_rate_0.3"]
    kl_axes = [ax for ax in fkl.axes if ax.axison]
    assert len(kl_axes) == 8
    std_kl = next(ax for ax in kl_axes if "prior=standard" in ax.get_title())
    heights = [p.get_height() for p in std_kl.patches]
    assert heights == [1.5, 0.7, 0.001]
    assert std_kl.get_title().endswith("active units 2, KL > 0.01: 2 of 3")


def test_parse_latent_map_rejects_malformed():
    good = latent_map("standard", 0)
    m = parse_latent_map(good)
    assert m.points.shape == (30, 2) and m.density.max() == 1.0 and m.density[0, 0] == 0.0
    assert parse_latent_map(None) is None and parse_latent_map("x") is None
    assert parse_latent_map({"points": "oops", "grid_x": [1, 2], "log_density": 3}) is None
    bad_grid = dict(good, log_density=[[0.0] * 12] * 3)        # wrong shape: points only
    m = parse_latent_map(bad_grid)
    assert m.density is None and m.points.shape == (30, 2)
    nan_pts = dict(good, points=[[0.0, float("nan")], [1.0, 2.0]], labels=["a", "b"])
    m = parse_latent_map(nan_pts)
    assert m.points.tolist() == [[1.0, 2.0]] and m.labels == ["b"]


def test_no_latent_map_no_map_figure():
    recs = make_records(with_map=False)
    stems = [stem for stem, fig in _draw(build_report_data(recs)) if fig is not None]
    assert stems == ["latent_kl_adult_mcar_rate_0.3", "latent_kl_letter_mcar_rate_0.3"]
    for r in recs:                       # no kl either, or garbage: no latent figure at all
        r["diagnostics"].pop("kl_per_dim", None)
        if r["imputer"] == "vae" and r["repetition"] == 1:
            r["diagnostics"].update(kl_per_dim=["x"], latent_map="garbage")
    assert _draw(build_report_data(recs)) == []
    assert latent_panels(build_report_data([mean_record("adult", 0)])) == []


def test_full_report_has_the_new_section_and_figures(records, tmp_path):
    paths = render_report(copy.deepcopy(records), tmp_path)
    md, html = paths["markdown"].read_text(), paths["html"].read_text()
    assert "## Ablation: what each parameter does" in md
    assert "### vae: triplet_weight (reference 0)" in md
    assert "#### vae: prior — adult, mcar, rate=0.3" in md
    assert "| 0 (reference) | 8 | 1.065 |" in md
    assert md.index("## Latent models side by side") < md.index("## Ablation")
    assert "### Latent space" in md and "![Latent space: adult, mcar, rate=0.3]" in md
    assert 'id="ablation"' in html and 'href="#ablation"' in html
    assert html.count("<svg") == md.count("![")
    names = {p.name for p in paths["figures"]}
    assert {"latent_map_adult_mcar_rate_0.3.png", "latent_kl_letter_mcar_rate_0.3.png"} <= names
    for p in paths["figures"]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = next(f.svg for f in paths["figure_objects"] if f.png_path.name.startswith("latent_map"))
    assert len(svg) < 400_000
    # the same records give the same bytes; a render without maps removes the stale PNGs
    again = render_report(copy.deepcopy(records), tmp_path / "again")
    for a, b in zip(paths["figures"], again["figures"], strict=True):
        assert a.read_bytes() == b.read_bytes()
    render_report(make_records(with_map=False), tmp_path)
    assert not list((tmp_path / "figures").glob("latent_map_*.png"))


def test_degenerate_maps_still_draw():
    from imputebench.benchmarks.report.latent_plots import latent_map_figure

    flat = parse_latent_map({"grid_x": [0, 1], "grid_y": [0, 1], "log_density": [[0, 0], [0, 0]],
                             "points": []})
    many = parse_latent_map({"points": [[i, i] for i in range(24)],
                             "labels": [f"c{i % 12:02d}" for i in range(24)],
                             "label_column": "letter"})
    assert flat.points.shape == (0, 2) and many.density is None
    with matplotlib.rc_context(_RC):
        fig = latent_map_figure("t", [("flat", flat), ("many", many)])
    (legend,) = fig.legends
    names = [t.get_text() for t in legend.get_texts()]
    assert names == [f"c{i:02d}" for i in range(9)] + ["other"]   # 9 colours + other
    assert len([ax for ax in fig.axes if ax.axison]) == 2


def test_the_whole_report_names_grid_configs_by_what_varies(records, data):
    assert "mean" in data.labels                          # one config: its label as it was
    assert "vae(beta=0.5, prior=mog, triplet_weight=1)" in data.labels
    assert all("batch_size" not in lb for lb in data.labels)
    full = dict((name, labels) for name, labels, _ in data.imputers)
    assert any("batch_size=128" in lb for lb in full["vae"])   # the full settings stay listed
    assert {r.label for r in data.rows} == set(data.labels)


def test_pairwise_tables_of_many_imputers_list_the_best_ones_pairs(data):
    from imputebench.benchmarks.report.stats import MAX_PAIRWISE, pair_note, pair_rows

    s = data.stats["rmse_zscore"]
    assert len(s.labels) == 9 <= MAX_PAIRWISE and pair_note(s) is None
    assert len(pair_rows(s, str)) == 9 * 8 // 2
    many = copy.deepcopy(s)
    extra = [f"x{i}" for i in range(4)]
    many.labels = list(s.labels) + extra
    many.avg_ranks = {**s.avg_ranks, **{x: 20.0 + i for i, x in enumerate(extra)}}
    best = min(many.labels, key=lambda lb: many.avg_ranks[lb])
    rows = pair_rows(many, str)
    assert len(rows) == sum(best in (p.a, p.b) for p in many.pairs) == 8
    assert all(best in (r[0], r[1]) for r in rows)
    assert pair_note(many).startswith("13 imputers: only the 12 pairs of the best-ranked one")
