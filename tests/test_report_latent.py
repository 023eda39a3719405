"""The report's "Latent models side by side" section: per-block tables, winners, verdicts."""

from __future__ import annotations

from imputebench.benchmarks.report import build_report_data, render_report

# (dataset, label) -> (rmse_zscore, pmse); lower is better for both
VALUES = {
    ("adult", "mean"): (1.00, 0.060),
    ("adult", "vae(prior=mog)"): (0.90, 0.020),
    ("adult", "vae(prior=standard)"): (0.95, 0.010),
    ("letter", "mean"): (1.00, 0.050),
    ("letter", "vae(prior=mog)"): (0.70, 0.070),
    ("letter", "vae(prior=standard)"): (1.10, 0.030),
}


def _record(dataset: str, label: str, rep: int) -> dict:
    rmse, pmse = VALUES[(dataset, label)]
    name = label.split("(")[0]
    diag = {}
    if name == "vae":
        prior = label.split("=")[1].rstrip(")")
        diag = {"prior": prior, "description": f"vae with the {prior}: a prior (Someone 2020)",
                "epochs_run": 10 + rep, "active_units": 4, "hole": -0.5, "kl_total": 3.0,
                "kl_per_dim": [1.0, 2.0]}
    return {"key": f"{dataset}-{label}-{rep}", "dataset": dataset, "dataset_params": {},
            "n_rows": 100, "n_cols": 4, "mask": {"mechanism": "mcar", "rate": 0.3},
            "achieved_rate": 0.3, "repetition": rep, "imputer": name, "params": {},
            "label": label, "status": "ok", "reason": None,
            "metrics": {"rmse_zscore": {"__all__": rmse + 0.01 * rep},
                        "pmse": {"__all__": pmse}},
            "fit_seconds": 5.0 if name == "vae" else 0.1, "impute_seconds": 1.0,
            "peak_memory_mb": 10.0, "device": "cpu", "seed": 1, "versions": {},
            "finished_at": "2026-11-25T06:00:00Z", "diagnostics": diag}


def _records():
    return [_record(d, lb, rep) for (d, lb) in VALUES for rep in range(2)]


def test_blocks_winners_and_verdicts():
    sec = build_report_data(_records()).latent
    assert [b.title for b in sec.blocks] == ["adult, mcar, rate=0.3", "letter, mcar, rate=0.3"]
    adult, letter = sec.blocks
    assert adult.best_latent == {"rmse_zscore": "vae(prior=mog)", "pmse": "vae(prior=standard)"}
    assert letter.best == {"rmse_zscore": "vae(prior=mog)", "pmse": "vae(prior=standard)"}
    labels = [lb for lb, _ in adult.rows]
    assert labels == ["vae(prior=mog)", "vae(prior=standard)", "mean"]  # latent models first
    cells = dict(adult.rows)["vae(prior=mog)"]
    assert cells["rmse_zscore"] == "0.9050" and cells["epochs_run"] == "10.50"
    assert dict(adult.rows)["mean"]["epochs_run"] == ""
    assert ("vae(prior=mog) beats mean on rmse_zscore in 2 of 2 and on pmse in 1 of 2 blocks."
            in sec.verdicts)
    assert ("vae(prior=standard) beats mean on rmse_zscore in 1 of 2 and on pmse in 2 of 2 "
            "blocks." in sec.verdicts)
    assert any(v.startswith("rmse_zscore: the best latent model is vae(prior=mog) on 2")
               for v in sec.verdicts)
    assert sec.descriptions["vae(prior=mog)"] == "vae with the mog: a prior (Someone 2020)"


def test_rendered_in_markdown_and_html(tmp_path):
    paths = render_report(_records(), tmp_path)
    md, html = paths["markdown"].read_text(), paths["html"].read_text()
    assert "## Latent models side by side" in md and "### adult, mcar, rate=0.3" in md
    assert "- **vae(prior=mog)**: vae with the mog: a prior (Someone 2020)" in md
    assert 'id="latent"' in html and 'href="#latent"' in html
    # descriptions are not repeated as a diagnostics column
    assert "| description |" not in md


def test_absent_without_latent_models(tmp_path):
    plain = [r for r in _records() if r["imputer"] == "mean"]
    assert not build_report_data(plain).latent
    md = render_report(plain, tmp_path)["markdown"].read_text()
    assert "Latent models" not in md


def test_long_labels_are_shortened_when_unambiguous():
    recs = _records()
    for r in recs:
        if r["imputer"] == "vae":
            r["label"] = r["label"].replace("vae(", "vae(epochs=25, ")
    sec = build_report_data(recs).latent
    assert [lb for lb, _ in sec.blocks[0].rows] == ["vae(prior=mog)", "vae(prior=standard)",
                                                   "mean"]
    # two labels that would shorten to the same name keep their full labels
    twin = dict(recs[0], label="mean(k=2)", key="twin")
    sec = build_report_data([*recs, twin]).latent
    assert "vae(epochs=25, prior=mog)" in [lb for lb, _ in sec.blocks[0].rows]
