"""The standard tier on the real files of the data directory (``IMPUTEBENCH_DATA``).

Every registered standard dataset passes one contract; the UCI/paper tables and the kNNxKDE suite
are checked against known shapes, real-missing counts (the data directory's README) and
independent readings of the same or sibling files. Nothing downloads (``IMPUTEBENCH_OFFLINE``)
and typed caches go to a temporary folder, one per module, so each table is parsed once.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imputebench.datasets import (
    ImputebenchError,
    categorical_columns,
    column_kinds,
    get_dataset,
    load_dataset,
)
from imputebench.datasets.files import fetch_file
from imputebench.datasets.standard import standard_datasets

STANDARD = standard_datasets()
GARBAGE_LEVELS = {"", "?", "NA", "nan", "NaN", "None"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standard-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IMPUTEBENCH_CACHE", str(folder))
        mp.setenv("IMPUTEBENCH_OFFLINE", "1")
        yield folder


@pytest.fixture(scope="module")
def loaded(cache_dir):
    """``loaded(name, **params)``: the first ``load()`` of that dataset, memoised per module."""
    memo: dict[tuple, pd.DataFrame] = {}

    def load(name: str, **params) -> pd.DataFrame:
        key = (name, tuple(sorted(params.items())))
        if key not in memo:
            memo[key] = get_dataset(name, **params).load()
        return memo[key]

    return load


def assert_same_table(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same columns, dtypes, categories (order and ordered flag included) and cells, exactly.

    Column by column on codes and values: ``assert_frame_equal`` takes seconds on large
    categorical tables.
    """
    assert list(left.columns) == list(right.columns)
    assert left.shape == right.shape
    assert left.index.equals(right.index)
    for col in left.columns:
        a, b = left[col], right[col]
        assert a.dtype == b.dtype, col
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert list(a.cat.categories) == list(b.cat.categories), col
            assert a.cat.categories.dtype == b.cat.categories.dtype, col
            assert a.cat.ordered == b.cat.ordered, col
            assert np.array_equal(a.cat.codes.to_numpy(), b.cat.codes.to_numpy()), col
        else:
            assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True), col


def _cache_files(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.glob("*.parquet") if f".{name}." in p.name]


# --------------------------------------------------------------------------------------------
# the contract, for every registered standard dataset


@pytest.mark.parametrize("cls", STANDARD, ids=[c.name for c in STANDARD])
def test_dataset_contract(data_dir, loaded, cls):
    ds = cls()
    df = loaded(cls.name)
    assert {str(t) for t in df.dtypes} <= {"float64", "category"}
    declared = getattr(cls, "kinds", None)
    if declared is not None:
        assert list(df.columns) == list(declared)
        assert column_kinds(df) == declared
    for col in categorical_columns(df):
        levels = list(df[col].cat.categories)
        assert levels, col
        assert set(levels) == set(df[col].dropna().unique()), f"{col}: unused categories"
        assert all(isinstance(v, str) and v == v.strip() and v not in GARBAGE_LEVELS
                   for v in levels), (col, levels)
    if cls.target is not None:
        assert cls.target in df.columns
    assert not df.isna().all().any(), "a column has no observed value"
    again = ds.parse([fetch_file(f) for f in ds.files])  # deterministic
    assert_same_table(again.reset_index(drop=True), df)
    for text in (cls.description, cls.source, cls.licence, cls.citation):
        assert text and "\n" not in text
    assert cls.aliases and cls.files


@pytest.mark.parametrize("cls", STANDARD, ids=[c.name for c in STANDARD])
def test_files_are_pinned_and_listed_in_sha256sums(data_dir, cls):
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.is_file():
        pytest.skip(f"{sums_file} is absent")
    sums = dict(reversed(line.split(maxsplit=1)) for line in sums_file.read_text().splitlines()
                if line.strip())
    for f in cls.files:
        assert sums.get(f.path) == f.sha256, f.path
        assert f.url.startswith("https://raw.githubusercontent.com/")
        assert re.search(r"/[0-9a-f]{40}/", f.url), f.url


@pytest.mark.parametrize("cls", STANDARD, ids=[c.name for c in STANDARD])
def test_second_load_comes_from_the_cache(data_dir, loaded, cache_dir, monkeypatch, cls):
    first = loaded(cls.name)
    assert _cache_files(cache_dir, cls.name), "no typed cache written"

    def refuse(self, paths):
        raise AssertionError("parsed again: the cache was not used")

    monkeypatch.setattr(cls, "parse", refuse)
    second = cls().load()
    assert_same_table(second, first)


@pytest.mark.parametrize("cls", STANDARD, ids=[c.name for c in STANDARD])
def test_load_dataset_drops_the_target_unless_asked(data_dir, loaded, cls):
    full = loaded(cls.name)
    with_target = load_dataset(cls.name, include_target=True)
    without = load_dataset(cls.name)
    assert list(with_target.columns) == list(full.columns)
    expected = [c for c in full.columns if c != cls.target]
    assert list(without.columns) == expected


def test_a_missing_file_offline_names_the_file_its_url_and_where_to_put_it(
        data_dir, cache_dir, tmp_path, monkeypatch):
    empty = tmp_path / "empty-data"
    empty.mkdir()
    monkeypatch.setenv("IMPUTEBENCH_DATA", str(empty))
    monkeypatch.setenv("IMPUTEBENCH_OFFLINE", "1")
    url = get_dataset("adult").files[0].url
    with pytest.raises(ImputebenchError) as err:
        load_dataset("adult")
    message = str(err.value)
    assert "\n" not in message
    assert "jbrownlee/adult-train.csv" in message
    assert url in message
    assert str(empty / "jbrownlee" / "adult-train.csv") in message
    assert not any(empty.rglob("*.csv")), "nothing may be written offline"


# --------------------------------------------------------------------------------------------
# known shapes (target included) and real missing cells per column, from the data's README

PIMA_ZEROS = {"glucose": 5, "pressure": 35, "triceps": 227, "insulin": 374, "mass": 11}
KNOWN = [
    ("adult", {}, (48842, 15),
     {"workclass": 1836 + 963, "occupation": 1843 + 966, "native_country": 583 + 274}),
    ("adult", {"split": "train"}, (32561, 15),
     {"workclass": 1836, "occupation": 1843, "native_country": 583}),
    ("adult", {"split": "test"}, (16281, 15),
     {"workclass": 963, "occupation": 966, "native_country": 274}),
    ("default", {}, (30000, 24), {}),
    ("shoppers", {}, (12330, 18), {}),
    ("magic", {}, (19020, 11), {}),
    ("beijing", {}, (43824, 12), {"pm2.5": 2067}),
    ("california", {}, (20640, 10), {"total_bedrooms": 207}),
    ("letter", {}, (20000, 16), {}),
    ("spam", {}, (4601, 57), {}),
    ("wine_red", {}, (1599, 12), {}),
    ("wine_white", {}, (4898, 12), {}),
    ("abalone", {}, (4177, 9), {}),
    ("breast", {}, (569, 31), {}),
    ("pima", {}, (768, 9), PIMA_ZEROS),
    ("pima", {"zeros_as_missing": False}, (768, 9), {}),
    # the kNNxKDE suite: the shapes utils.load_data returns
    ("knnxkde_2d_linear", {}, (500, 2), {}),
    ("knnxkde_2d_ring", {}, (500, 2), {}),
    ("knnxkde_2d_sine", {}, (500, 2), {}),
    ("knnxkde_abalone", {}, (4177, 7), {}),
    ("knnxkde_breast", {}, (569, 30), {}),
    ("knnxkde_gaussians", {}, (10000, 8), {}),
    ("knnxkde_geyser", {}, (272, 2), {}),
    ("knnxkde_japanese_vowels", {}, (9960, 12), {}),
    ("knnxkde_penguin", {}, (342, 4), {}),
    ("knnxkde_planets", {}, (550, 6), {}),
    ("knnxkde_pollen", {}, (3848, 5), {}),
    ("knnxkde_sulfur", {}, (10081, 7), {}),
    ("knnxkde_sylvine", {}, (5124, 20), {}),
    ("knnxkde_wine_red", {}, (1599, 11), {}),
    ("knnxkde_wine_white", {}, (4898, 11), {}),
    # PMLB's categorical-only tables (the target counts as a column)
    ("mushroom", {}, (8124, 23), {}),
    ("nursery", {}, (12958, 9), {}),
]


def _ident(case) -> str:
    name, params = case[0], case[1]
    return name + "".join(f"-{k}={v}" for k, v in params.items())


@pytest.mark.parametrize(("name", "params", "shape", "missing"), KNOWN,
                         ids=[_ident(c) for c in KNOWN])
def test_known_shape_and_real_missing_cells(data_dir, loaded, name, params, shape, missing):
    df = loaded(name, **params)
    assert df.shape == shape
    counts = {c: int(n) for c, n in df.isna().sum().items() if n}
    assert counts == missing


def test_every_standard_dataset_has_a_known_shape():
    assert {c.name for c in STANDARD} <= {case[0] for case in KNOWN}


# --------------------------------------------------------------------------------------------
# what each table must look like


def test_adult_labels_education_order_and_splits(data_dir, loaded):
    full = loaded("adult")
    assert list(full["income"].cat.categories) == ["<=50K", ">50K"]
    assert full["income"].value_counts().to_dict() == {"<=50K": 24720 + 12435,
                                                       ">50K": 7841 + 3846}
    edu = full["education"]
    assert edu.cat.ordered and len(edu.cat.categories) == 16
    assert edu.cat.categories[0] == "Preschool" and edu.cat.categories[-1] == "Doctorate"
    assert np.array_equal(edu.cat.codes.to_numpy() + 1, full["education_num"].to_numpy())
    both = pd.concat([loaded("adult", split="train"), loaded("adult", split="test")],
                     ignore_index=True)
    for col in full.columns:
        assert both[col].astype(object).equals(full[col].astype(object)), col
    assert {"Holand-Netherlands"} <= set(full["native_country"].cat.categories)
    with pytest.raises(ImputebenchError, match="split"):
        load_dataset("adult", split="validation")


def test_shoppers_names_supplied_for_the_headerless_file(data_dir, loaded):
    df = loaded("shoppers")
    assert list(df.columns) == [
        "Administrative", "Administrative_Duration", "Informational", "Informational_Duration",
        "ProductRelated", "ProductRelated_Duration", "BounceRates", "ExitRates", "PageValues",
        "SpecialDay", "Month", "OperatingSystems", "Browser", "Region", "TrafficType",
        "VisitorType", "Weekend", "Revenue"]
    assert df["Revenue"].value_counts().to_dict() == {"FALSE": 10422, "TRUE": 1908}
    assert set(df["Month"].cat.categories) == {"Feb", "Mar", "May", "June", "Jul", "Aug", "Sep",
                                               "Oct", "Nov", "Dec"}
    assert list(df["Region"].cat.categories) == [str(i) for i in range(1, 10)]


def test_default_magic_beijing_california_kinds_and_targets(data_dir, loaded):
    default = loaded("default")
    assert "ID" not in default.columns
    assert default["default.payment.next.month"].value_counts().to_dict() == {"0": 23364,
                                                                              "1": 6636}
    assert default["PAY_0"].cat.ordered
    assert list(default["PAY_0"].cat.categories)[:3] == ["-2", "-1", "0"]
    assert loaded("magic")["class"].value_counts().to_dict() == {"g": 12332, "h": 6688}
    beijing = loaded("beijing")
    assert "No" not in beijing.columns
    assert column_kinds(beijing[["year", "month", "day", "hour"]]) == dict.fromkeys(
        ["year", "month", "day", "hour"], "numeric")
    assert list(beijing["cbwd"].cat.categories) == ["NE", "NW", "SE", "cv"]
    california = loaded("california")
    assert len(california["ocean_proximity"].cat.categories) == 5


def test_pima_equals_mlbench_tables(data_dir, loaded):
    kw = {"dtype": {"diabetes": str}}
    for params, file in (({}, "PimaIndiansDiabetes2.csv"),
                         ({"zeros_as_missing": False}, "PimaIndiansDiabetes.csv")):
        ours = loaded("pima", **params)
        theirs = pd.read_csv(data_dir / "mlbench" / file, **kw)
        assert list(ours.columns) == list(theirs.columns)
        assert np.array_equal(ours.iloc[:, :8].to_numpy(), theirs.iloc[:, :8].to_numpy(),
                              equal_nan=True)
        assert (ours["diabetes"].astype(str) == theirs["diabetes"]).all()


def test_gain_tables_keep_the_uci_column_order(data_dir, loaded):
    mlbench = pd.read_csv(data_dir / "mlbench" / "LetterRecognition.csv")
    assert np.array_equal(loaded("letter").to_numpy(), mlbench.iloc[:, 1:].to_numpy())
    pmlb = pd.read_csv(data_dir / "pmlb" / "spambase" / "spambase.tsv.gz", sep="\t")
    spam = loaded("spam")
    assert np.allclose(spam.to_numpy(), pmlb.iloc[:, :57].to_numpy(), rtol=0, atol=1e-12)
    assert spam.columns[0] == "word_freq_make" and spam.columns[-1] == "capital_run_length_total"


def test_uci_and_knnxkde_copies_agree(data_dir, loaded):
    for full, paper, dropped in (("abalone", "knnxkde_abalone", ["sex", "rings"]),
                                 ("breast", "knnxkde_breast", ["diagnosis"]),
                                 ("wine_red", "knnxkde_wine_red", ["quality"]),
                                 ("wine_white", "knnxkde_wine_white", ["quality"])):
        assert_same_table(loaded(full).drop(columns=dropped), loaded(paper))


# utils.load_data of DeltaFloflo/knnxkde: read_csv keywords and the column slice
LOAD_DATA = {
    "2d_linear": ({"header": None}, slice(None)), "2d_ring": ({"header": None}, slice(None)),
    "2d_sine": ({"header": None}, slice(None)), "abalone": ({"header": None}, slice(1, -1)),
    "breast": ({"header": None}, slice(2, None)), "gaussians": ({}, slice(1, -1)),
    "geyser": ({}, slice(1, -1)), "japanese_vowels": ({}, slice(3, None)),
    "penguin": ({}, slice(3, -1)), "planets": ({}, slice(None)),
    "pollen": ({"header": None}, slice(None, -1)), "sulfur": ({"header": None}, slice(None)),
    "sylvine": ({"header": None}, slice(1, None)),
    "wine_red": ({"delimiter": ";"}, slice(None, -1)),
    "wine_white": ({"delimiter": ";"}, slice(None, -1)),
}


@pytest.mark.parametrize("key", sorted(LOAD_DATA))
def test_knnxkde_tables_equal_the_papers_load_data(data_dir, loaded, key):
    kwargs, cols = LOAD_DATA[key]
    raw = pd.read_csv(data_dir / "knnxkde" / f"{key}.csv", **kwargs)
    reference = np.array(raw.iloc[:, cols]).astype("float32")
    ours = loaded(f"knnxkde_{key}")
    assert get_dataset(f"knnxkde_{key}").target is None
    assert set(ours.dtypes) == {np.dtype("float64")}
    assert np.array_equal(ours.to_numpy().astype("float32"), reference)


def test_pmlb_tables_are_categorical_only_with_their_class_balance(data_dir, loaded):
    mush, nurs = loaded("mushroom"), loaded("nursery")
    for df in (mush, nurs):
        assert all(isinstance(t, pd.CategoricalDtype) for t in df.dtypes)
    assert mush["target"].value_counts(normalize=True).round(3).to_dict() == {"0": 0.518,
                                                                            "1": 0.482}
    assert nurs["target"].value_counts().to_dict() == {"0": 4320, "1": 4266, "3": 4044,
                                                       "4": 328}
    assert list(mush["veil-type"].cat.categories) == ["0"]      # a constant column
    assert list(mush["gill-color"].cat.categories) == [str(i) for i in range(12)]
