"""Bad input at the command line: one clear line naming the problem, exit status 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imputebench.benchmarks.cli import main

BASE = """
name = "cli"
repetitions = 1
metrics = ["rmse_minmax"]
[[datasets]]
name = "{dataset}"
[[masks]]
mechanism = "{mechanism}"
rate = {rate}
{mask_extra}
[[imputers]]
name = "{imputer}"
"""


def _config(tmp_path, **over):
    fields = dict(dataset="iris", mechanism="mcar", rate=0.2, mask_extra="", imputer="mean")
    fields.update(over)
    path = tmp_path / "c.toml"
    path.write_text(BASE.format(**fields))
    return path


def _run_error(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imputebench: error: ")
    return lines[0]


def _csv(tmp_path, frame: pd.DataFrame) -> str:
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return f"csv:{path}"


@pytest.mark.parametrize("over, needle", [
    ({"imputer": "kn"}, "unknown imputer 'kn'; did you mean 'knn'"),
    ({"dataset": "penguin"}, "unknown dataset 'penguin'; did you mean 'penguins'"),
    ({"rate": 1.2}, "mask rate must lie strictly between 0 and 1, got 1.2"),
    ({"rate": 0}, "mask rate must lie strictly between 0 and 1, got 0"),
    ({"mechanism": "mar", "rate": 0.9, "mask_extra": 'scope = "table"'}, "mar cannot reach"),
    ({"mechanism": "mnar"}, "unknown missingness mechanism 'mnar'"),
])
def test_bad_config_values(tmp_path, capsys, over, needle):
    line = _run_error(capsys, ["run", str(_config(tmp_path, **over)), "--journal",
                               str(tmp_path / "j.jsonl"), "--no-report", "--quiet"])
    assert needle in line


def test_unknown_config_key(tmp_path, capsys):
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("repetitions", "repititions"))
    line = _run_error(capsys, ["run", str(path), "--no-report"])
    assert "unknown config key 'repititions'; did you mean 'repetitions'" in line


def test_unknown_metric(tmp_path, capsys):
    path = _config(tmp_path)
    path.write_text(path.read_text().replace('"rmse_minmax"', '"rmse"'))
    assert "unknown metric 'rmse'" in _run_error(capsys, ["run", str(path), "--no-report"])


def test_missing_and_malformed_config(tmp_path, capsys):
    assert "no config file" in _run_error(capsys, ["run", str(tmp_path / "nope.toml")])
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed\n")
    assert "not valid TOML" in _run_error(capsys, ["run", str(bad)])


def test_unreadable_csv(tmp_path, capsys):
    binary = tmp_path / "data.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    path = _config(tmp_path, dataset=f"csv:{binary}")
    line = _run_error(capsys, ["run", str(path), "--no-report"])
    assert str(binary) in line


def test_mistyped_csv_column(tmp_path, capsys):
    frame = pd.DataFrame({"a": ["1", "2", "x"], "b": [1.0, 2.0, 3.0]})
    src = _csv(tmp_path, frame)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
metrics = ["rmse_minmax"]
[[datasets]]
name = "{src}"
params = {{ kinds = {{ a = "numeric" }} }}
[[masks]]
mechanism = "mcar"
rate = 0.2
[[imputers]]
name = "mean"
""")
    line = _run_error(capsys, ["run", str(cfg), "--no-report"])
    assert "column 'a' is declared numeric" in line and "'x'" in line


def test_column_with_no_observed_value(tmp_path, capsys):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "empty": [np.nan] * 3})
    path = _config(tmp_path, dataset=_csv(tmp_path, frame))
    line = _run_error(capsys, ["run", str(path), "--no-report"])
    assert "['empty']" in line and "no observed value" in line


def test_constant_column_and_full_rows_run(tmp_path, capsys):
    frame = pd.DataFrame({"a": np.arange(40.0), "const": 5.0, "b": np.sin(np.arange(40.0))})
    path = _config(tmp_path, dataset=_csv(tmp_path, frame), rate=0.5, imputer="knn")
    rc = main(["run", str(path), "--journal", str(tmp_path / "j.jsonl"), "--no-report",
               "--quiet", "--executor", "inprocess"])
    assert rc == 0
    assert "1 run now (0 not ok)" in capsys.readouterr().out


def test_list_and_check(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("knn", "mean", "rmse_minmax", "iris", "penguins", "mnar_logistic"):
        assert name in out
    assert main(["check", "knn"]) == 0
    out = capsys.readouterr().out
    assert "PASS  check_transform_contract" in out and "all checks passed" in out
    _run_error(capsys, ["check", "nope"])


def test_report_of_a_partial_run_says_what_is_missing(tmp_path, capsys):
    small = _config(tmp_path)
    journal = tmp_path / "j.jsonl"
    assert main(["run", str(small), "--journal", str(journal), "--no-report", "--quiet",
                 "--executor", "inprocess"]) == 0
    bigger = tmp_path / "big.toml"
    bigger.write_text(small.read_text().replace("repetitions = 1", "repetitions = 3"))
    assert main(["report", str(journal), "--config", str(bigger), "--out",
                 str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "2 of the 3 cells this config plans" in md
