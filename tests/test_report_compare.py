"""``imputebench report --compare A B``: two journals compared cell by cell, with significance."""

from __future__ import annotations

import json

import pytest

from imputebench.benchmarks.cli import main
from imputebench.benchmarks.report.comparison import compare_journals


def _records(change: dict | None = None, drop: str | None = None) -> list[dict]:
    """3 datasets x 2 mechanisms x 2 rates = 12 blocks, 2 repetitions, imputers x and y;
    ``change`` maps (label, metric) to a factor applied in every cell."""
    out = []
    for d in ("d1", "d2", "d3"):
        for mech in ("mcar", "mar"):
            for rate in (0.1, 0.3):
                for rep in range(2):
                    for lb in ("x", "y"):
                        base = 0.5 + rate + 0.05 * rep + 0.1 * ("d1", "d2", "d3").index(d)
                        vals = {"rmse_zscore": base, "pmse": base / 10}
                        for (clb, m), f in (change or {}).items():
                            if clb == lb:
                                vals[m] *= f
                        key = f"{d}-{mech}-{rate}-{rep}-{lb}"
                        if key == drop:
                            continue
                        out.append({"key": key, "dataset": d, "dataset_params": {},
                                    "mask": {"mechanism": mech, "rate": rate},
                                    "repetition": rep, "imputer": lb, "label": lb,
                                    "status": "ok", "metrics": {m: {"__all__": v}
                                                                for m, v in vals.items()}})
    return out


def test_identical_journals_change_nothing():
    c = compare_journals(_records(), _records())
    assert len(c.changes) == 4 and all(ch.n_blocks == 12 for ch in c.changes)
    assert all((ch.better, ch.same, ch.worse) == (0, 12, 0) for ch in c.changes)
    assert all(ch.p == 1.0 and not ch.significant for ch in c.changes)
    assert all(x.diff == 0 for x in c.cells) and len(c.cells) == 12 * 2 * 2 * 2


def test_a_consistent_change_is_significant_in_the_right_direction():
    b = _records({("x", "rmse_zscore"): 0.9, ("y", "pmse"): 1.2})
    c = compare_journals(_records(), b, "before", "after")
    got = {(ch.label, ch.metric): ch for ch in c.changes}
    gain, loss = got[("x", "rmse_zscore")], got[("y", "pmse")]
    assert (gain.better, gain.worse) == (12, 0) and gain.verdict == "B better"
    assert gain.p == pytest.approx(2 / 2 ** 12) and gain.p_holm == pytest.approx(4 * 2 / 2 ** 12)
    assert (loss.better, loss.worse) == (0, 12) and loss.verdict == "B worse"
    assert got[("x", "pmse")].verdict == "no significant change"


def test_cells_only_on_one_side_are_listed_not_compared():
    c = compare_journals(_records(), _records(drop="d2-mar-0.3-1-y"))
    assert c.only_a == ["d2 | mar, rate=0.3 | rep 1 | y"] and c.only_b == []


def test_cli_writes_the_comparison(tmp_path, capsys):
    for name, recs in (("a", _records()), ("b", _records({("x", "rmse_zscore"): 0.9}))):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in recs), "utf-8")
    out = tmp_path / "cmp"
    assert main(["report", "--compare", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"),
                 "--out", str(out)]) == 0
    assert "1 significant change(s) of 4" in capsys.readouterr().out
    md = (out / "compare.md").read_text("utf-8")
    assert "| x | rmse_zscore ↓ | 12 |" in md and "B better" in md
    page = (out / "compare.html").read_text("utf-8")
    assert '<tr class="agree">' in page and "http" not in page.split("<body>")[1]
    assert main(["report"]) == 2                        # neither a journal nor --compare
    (tmp_path / "empty.jsonl").write_text("{}\n", "utf-8")
    with pytest.warns(UserWarning, match="unreadable"):
        assert main(["report", "--compare", str(tmp_path / "a.jsonl"),
                     str(tmp_path / "empty.jsonl")]) == 2


def test_report_of_an_unfinished_journal_names_the_missing_cells(tmp_path):
    from imputebench.benchmarks.config import load_config
    from imputebench.benchmarks.runner import plan, write_plan

    config = load_config("smoke")
    cells = plan(config)
    journal = tmp_path / "journal.jsonl"
    write_plan(config, cells, journal)
    done = cells[0]
    rec = {**done.base_record(), "status": "ok", "metrics": {"rmse_zscore": {"__all__": 0.5}}}
    # a run still writing: one finished record and a torn line being appended
    journal.write_text(json.dumps(rec) + "\n" + '{"key": "half-writ', "utf-8")
    with pytest.warns(UserWarning, match="unreadable"):
        assert main(["report", str(journal), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text("utf-8")
    missing = md.split("## Not finished yet", 1)[1].split("\n## ", 1)[0]
    assert missing.count("\n- ") == len(cells) - 1
    assert f"{len(cells) - 1} of the {len(cells)} cells the run plans" in md
    assert done.imputer.label() in md
    page = (tmp_path / "rep" / "report.html").read_text("utf-8")
    assert f"{len(cells) - 1} cell(s) not finished yet" in page
