"""`imputebench datasets fetch | verify | info` on the real data directory, offline."""

from __future__ import annotations

import shutil

import pytest

from imputebench.benchmarks.cli import main
from imputebench.datasets.files import sha256_of
from imputebench.datasets.standard import standard_datasets


@pytest.fixture
def shared(data_dir, monkeypatch):
    monkeypatch.setenv("IMPUTEBENCH_DATA", str(data_dir))
    return data_dir


def test_verify_checks_every_registered_file(shared, capsys):
    assert main(["datasets", "verify"]) == 0
    out = capsys.readouterr().out
    paths = {f.path for cls in standard_datasets() for f in cls.files}
    assert len(paths) >= 20
    for p in paths:
        assert f"ok                     {p}" in out
    assert f"{len(paths)} file(s) of {len(standard_datasets())} dataset(s): all verified" in out


def test_verify_reports_missing_and_corrupt_files(shared, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPUTEBENCH_DATA", str(tmp_path))
    (tmp_path / "gain").mkdir()
    shutil.copy(shared / "gain" / "letter.csv", tmp_path / "gain" / "letter.csv")
    (tmp_path / "gain" / "spam.csv").write_text("not the spam file\n")
    assert main(["datasets", "verify", "letter", "spam", "adult"]) == 1
    out = capsys.readouterr().out
    assert "ok                     gain/letter.csv" in out
    assert "bad hash" in out and "gain/spam.csv  <- https://raw.githubusercontent.com/" in out
    assert "missing                jbrownlee/adult-train.csv" in out
    assert "2 missing or corrupt" in out or "3 missing or corrupt" in out


def test_offline_fetch_names_file_url_and_destination(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPUTEBENCH_DATA", str(tmp_path))
    monkeypatch.setenv("IMPUTEBENCH_OFFLINE", "1")
    from imputebench.datasets import load_dataset
    from imputebench.datasets.errors import ImputebenchError

    with pytest.raises(ImputebenchError) as info:
        load_dataset("adult")
    msg = str(info.value)
    assert "\n" not in msg
    assert "jbrownlee/adult-train.csv" in msg
    assert "https://raw.githubusercontent.com/jbrownlee/Datasets/" in msg
    assert str(tmp_path / "jbrownlee" / "adult-train.csv") in msg


def test_fetch_copies_nothing_when_present(shared, capsys):
    before = sha256_of(shared / "gain" / "letter.csv")
    assert main(["datasets", "fetch", "letter"]) == 0
    assert "gain/letter.csv verified" in capsys.readouterr().out
    assert sha256_of(shared / "gain" / "letter.csv") == before


def test_info_shows_the_card(shared, capsys):
    assert main(["datasets", "info", "adult"]) == 0
    out = capsys.readouterr().out
    assert "rows x columns: 48842 x 15" in out
    assert "target: income" in out
    assert "real missing: 6465 cells" in out
    assert "file: jbrownlee/adult-train.csv" in out
    assert main(["datasets", "info", "adlt"]) == 2
    assert "did you mean 'adult'" in capsys.readouterr().err


def test_a_config_can_name_a_standard_dataset(shared, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("""
repetitions = 1
metrics = ["rmse_minmax", "accuracy"]
[[datasets]]
name = "california"
[[datasets]]
name = "knnxkde_geyser"
[[masks]]
mechanism = "mcar"
rate = 0.2
[[imputers]]
name = "mean"
""")
    rc = main(["run", str(cfg), "--journal", str(tmp_path / "j.jsonl"), "--out",
               str(tmp_path / "rep"), "--quiet", "--executor", "inprocess"])
    assert rc == 0
    assert "2 run now (0 not ok)" in capsys.readouterr().out
    assert (tmp_path / "rep" / "report.md").is_file()
