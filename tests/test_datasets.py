"""The dataset layer: bundled tables, the synthetic generator, the registry, user files, schema."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from imputebench.datasets import (
    ImputebenchError,
    available_datasets,
    column_kinds,
    get_dataset,
    load_dataset,
    make_typed,
    validate_table,
)

BUNDLED = ["iris", "wine", "breast_cancer", "diabetes", "penguins", "synthetic"]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the bundled tier must not touch the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --------------------------------------------------------------------------------------------
# bundled tier


@pytest.mark.parametrize(("name", "shape", "with_target"), [
    ("iris", (150, 4), (150, 5)),
    ("wine", (178, 13), (178, 14)),
    ("breast_cancer", (569, 30), (569, 31)),
    ("diabetes", (442, 10), (442, 11)),
    ("penguins", (344, 7), (344, 8)),
])
def test_bundled_shapes_with_and_without_target(no_network, name, shape, with_target):
    df = load_dataset(name)
    full = load_dataset(name, include_target=True)
    assert df.shape == shape
    assert full.shape == with_target
    target = get_dataset(name).target
    assert target in full.columns and target not in df.columns
    assert get_dataset(name).tier == "bundled"


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "diabetes"])
def test_sklearn_tables_are_all_float64_features(name):
    df = load_dataset(name)
    assert (df.dtypes == np.float64).all()
    assert set(column_kinds(df).values()) == {"numeric"}
    assert df.notna().all().all()


def test_known_answers_of_sklearn_tables():
    iris = load_dataset("iris", include_target=True)
    assert iris["sepal length (cm)"].mean() == pytest.approx(876.5 / 150)
    assert isinstance(iris["species"].dtype, pd.CategoricalDtype)
    assert not iris["species"].cat.ordered
    assert iris["species"].value_counts().to_dict() == {
        "setosa": 50, "versicolor": 50, "virginica": 50}
    wine = load_dataset("wine", include_target=True)
    assert sorted(wine["cultivar"].value_counts().tolist()) == [48, 59, 71]
    cancer = load_dataset("breast_cancer", include_target=True)
    assert cancer["diagnosis"].value_counts().to_dict() == {"benign": 357, "malignant": 212}
    diab = load_dataset("diabetes", include_target=True)
    # scikit-learn's scaled copy: every feature is centred with a sum of squares of 1.
    feats = diab.drop(columns="progression")
    np.testing.assert_allclose(feats.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose((feats**2).sum(), 1.0, rtol=1e-6)
    assert diab["progression"].dtype == np.float64
    assert column_kinds(diab)["progression"] == "numeric"


def test_penguins_mixed_kinds_and_real_missing_values(no_network):
    df = load_dataset("penguins", include_target=True)
    kinds = column_kinds(df)
    assert kinds == {
        "species": "categorical", "island": "categorical", "bill_length_mm": "numeric",
        "bill_depth_mm": "numeric", "flipper_length_mm": "numeric", "body_mass_g": "numeric",
        "sex": "categorical", "year": "ordinal"}
    assert int(df.isna().sum().sum()) == 19
    assert df.isna().sum().to_dict()["sex"] == 11
    assert df["year"].cat.ordered
    assert list(df["year"].cat.categories) == ["2007", "2008", "2009"]
    assert df["year"].min() == "2007" and df["year"].max() == "2009"
    assert df["species"].value_counts().to_dict() == {"Adelie": 152, "Gentoo": 124,
                                                      "Chinstrap": 68}
    assert df["body_mass_g"].mean() == pytest.approx(4201.754, abs=1e-3)
    assert df["body_mass_g"].dtype == np.float64


def test_synthetic_default_shape_and_kinds():
    df = load_dataset("synthetic")
    assert df.shape == (1000, 9)
    kinds = column_kinds(df)
    assert [c for c, k in kinds.items() if k == "numeric"] == [f"x{j}" for j in range(6)]
    assert [c for c, k in kinds.items() if k == "categorical"] == ["c0", "c1", "c2"]
    assert df.notna().all().all()


def test_synthetic_is_a_function_of_its_seed():
    a = load_dataset("synthetic", seed=3)
    pd.testing.assert_frame_equal(a, load_dataset("synthetic", seed=3), check_exact=True)
    b = load_dataset("synthetic", seed=4)
    assert not np.allclose(a["x0"], b["x0"])
    assert (a["c0"] != b["c0"]).any()


def test_synthetic_params_shape_the_table():
    df = load_dataset("synthetic", n_rows=50, n_numeric=13, n_categorical=2, n_levels=3, seed=1)
    assert df.shape == (50, 15)
    assert sum(k == "numeric" for k in column_kinds(df).values()) == 13
    assert load_dataset("synthetic", n_numeric=0, n_rows=20).shape == (20, 3)
    quiet = load_dataset("synthetic", noise=0.0, n_categorical=0)
    loud = load_dataset("synthetic", noise=1.0, n_categorical=0)
    # Same latent draws, so the noise adds exactly noise * N(0, 1): x3 = u * v + noise.
    assert (loud["x3"] - quiet["x3"]).std() == pytest.approx(1.0, abs=0.1)


def test_synthetic_every_declared_level_is_a_category():
    # 12 levels and 30 rows: some levels are never drawn, yet all must be categories.
    df = load_dataset("synthetic", n_rows=30, n_levels=12, seed=0)
    levels = [f"L{d}" for d in range(12)]
    for c in ("c0", "c1", "c2"):
        assert list(df[c].cat.categories) == levels
        assert set(df[c].dropna()) <= set(levels)


def test_synthetic_numeric_dependence_is_non_linear():
    # x0 = sin(2u) + 0.5v: a nearest-neighbour fit on the other numeric columns recovers it,
    # a linear one misses most of it.
    df = load_dataset("synthetic", seed=0)
    num = df[[f"x{j}" for j in range(6)]]
    X, y = num.drop(columns="x0").to_numpy(), num["x0"].to_numpy()
    knn = make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=10))
    r2_knn = cross_val_score(knn, X, y, cv=5, scoring="r2").mean()
    r2_lin = cross_val_score(LinearRegression(), X, y, cv=5, scoring="r2").mean()
    assert r2_knn > 0.8
    assert r2_knn - r2_lin > 0.3


@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_categoricals_depend_on_numerics(seed):
    df = load_dataset("synthetic", seed=seed)
    quartile = pd.qcut(df["x0"], 4, labels=False)
    for c in ("c0", "c1", "c2"):
        table = pd.crosstab(quartile, df[c])
        assert chi2_contingency(table)[1] < 1e-6, c


@pytest.mark.parametrize("params", [
    {"n_rows": -1}, {"n_rows": 1}, {"n_levels": 1}, {"n_rows": 10.0}, {"seed": -1},
    {"n_numeric": 0, "n_categorical": 0}, {"n_rows": True}, {"noise": -0.1}, {"noise": "x"},
    {"noise": float("nan")},
])
def test_synthetic_bad_params(params):
    with pytest.raises(ImputebenchError, match="synthetic"):
        load_dataset("synthetic", **params)


# --------------------------------------------------------------------------------------------
# registry


def test_registry_lists_the_bundled_tier():
    names = available_datasets()
    assert set(BUNDLED) <= set(names)
    assert names == sorted(names)
    assert "csv" not in names


@pytest.mark.parametrize(("typo", "closest"), [("irsi", "iris"), ("penguin", "penguins"),
                                               ("synthetc", "synthetic")])
def test_unknown_dataset_names_the_closest(typo, closest):
    with pytest.raises(ImputebenchError, match=f"unknown dataset '{typo}'.*'{closest}'"):
        load_dataset(typo)


def test_bad_dataset_parameters_are_named():
    with pytest.raises(ImputebenchError, match="bad parameters for dataset 'iris'"):
        load_dataset("iris", n_rows=3)
    with pytest.raises(ImputebenchError, match="n_row"):
        load_dataset("synthetic", n_row=3)
    with pytest.raises(ImputebenchError, match="string"):
        get_dataset(3)


# --------------------------------------------------------------------------------------------
# user files (csv:PATH, parquet:PATH)


def _write(tmp_path, text: str, name: str = "t.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return f"csv:{path}"


def test_csv_inferred_kinds(tmp_path):
    src = _write(tmp_path, "n,i,s,mixed\n1.5,1,a,1\n2.5,2,b,x\n,10,a,2\n")
    df = load_dataset(src)
    assert column_kinds(df) == {"n": "numeric", "i": "numeric", "s": "categorical",
                                "mixed": "categorical"}
    assert df["i"].tolist() == [1.0, 2.0, 10.0] and df["i"].dtype == np.float64
    assert np.isnan(df["n"].iloc[2])
    assert list(df["s"].cat.categories) == ["a", "b"]
    assert list(df["mixed"].cat.categories) == ["1", "2", "x"]  # numbers first, by value


def test_csv_declared_kinds_override_inference(tmp_path):
    src = _write(tmp_path, "grade,level,x\n10,3,0.5\n2,1,0.7\n1,2,0.1\n2,3,0.2\n")
    df = load_dataset(src, kinds={"grade": "categorical", "level": "ordinal"})
    assert column_kinds(df) == {"grade": "categorical", "level": "ordinal", "x": "numeric"}
    # Levels are strings sorted by numeric value, not lexicographically ("10" < "2").
    assert list(df["grade"].cat.categories) == ["1", "2", "10"]
    assert df["grade"].tolist() == ["10", "2", "1", "2"]
    assert df["level"].cat.ordered and list(df["level"].cat.categories) == ["1", "2", "3"]
    assert df["level"].max() == "3"


def test_csv_na_values_and_separator(tmp_path):
    text = "a;b\n1;x\n?;y\n3;?\n"
    raw = load_dataset(_write(tmp_path, text), sep=";")
    assert column_kinds(raw)["a"] == "categorical"  # '?' is text unless declared missing
    df = load_dataset(_write(tmp_path, text), sep=";", na_values=["?"])
    assert column_kinds(df) == {"a": "numeric", "b": "categorical"}
    assert df["a"].isna().tolist() == [False, True, False]
    assert df["b"].isna().tolist() == [False, False, True]
    assert list(df["b"].cat.categories) == ["x", "y"]


def test_csv_target_and_constant_column(tmp_path):
    src = _write(tmp_path, "a,const,label\n1,7,u\n2,7,v\n3,7,u\n")
    df = load_dataset(src, target="label")
    assert list(df.columns) == ["a", "const"]
    assert df["const"].tolist() == [7.0, 7.0, 7.0]
    assert list(load_dataset(src, target="label", include_target=True).columns) == [
        "a", "const", "label"]
    with pytest.raises(ImputebenchError, match="target 'nope'"):
        load_dataset(src, target="nope")


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    df = make_typed(pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", "y", None]}))
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    pd.testing.assert_frame_equal(load_dataset(f"csv:{path}"), df, check_categorical=False)
    other = tmp_path / "t.bin"
    other.write_bytes(path.read_bytes())
    assert load_dataset(f"parquet:{other}").shape == (3, 2)


def test_parquet_prefix_never_falls_back_to_csv(tmp_path):
    src = _write(tmp_path, "a,b\n1,x\n")
    assert load_dataset(src).shape == (1, 2)
    # With or without pyarrow, a CSV file is not a Parquet file.
    with pytest.raises(ImputebenchError, match="cannot read"):
        load_dataset("parquet:" + src.split(":", 1)[1])


@pytest.mark.parametrize(("content", "params", "match"), [
    (None, {}, "no such file"),
    ("", {}, "cannot read .* as a table: No columns"),
    ("a,b\n", {}, "holds no table"),
    (b"\x89PNG\r\n\x1a\n\xfa\xfb\xfc\xfd", {}, "cannot read .*codec can't decode"),
    (b"a,b\n\x00\x01,\x00\x02\n", {}, "binary"),
    (b"PAR1-not-really-parquet", {"file_format": "parquet"}, "cannot read"),
    ("a,b\n1,x\n2,y\n", {"kinds": {"b": "numeric"}}, "column 'b' is declared numeric.*'x'"),
    ("a,b\n1,x\n", {"kinds": {"b": "nominal"}}, "unknown column kind.*nominal"),
    ("a,b\n1,x\n", {"kinds": {"zz": "numeric"}}, "not in the table.*zz"),
    ("a,b\n1,x\n", {"kinds": ["a"]}, "kinds must map"),
    ("a,b,c\n1,,x\n2,,y\n", {}, r"column\(s\) \['b'\] have no observed value"),
    ("a,b\n1,x\n", {"bogus": 1}, "bad parameters .*bogus"),
    ("a,b\n1,x\n", {"file_format": "xlsx"}, "file_format"),
])
def test_csv_bad_input_is_named(tmp_path, content, params, match):
    path = tmp_path / "in.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ImputebenchError, match=match) as info:
        load_dataset(f"csv:{path}", **params)
    assert "\n" not in str(info.value)  # the command line prints it on one line


# --------------------------------------------------------------------------------------------
# schema helpers


def test_make_typed_inference_rules():
    raw = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, np.nan, 1.0], "s": ["1", "2", "3"],
                        "b": [True, False, True], "t": ["x", None, "y"]})
    df = make_typed(raw)
    assert column_kinds(df) == {"i": "numeric", "f": "numeric", "s": "numeric",
                                "b": "categorical", "t": "categorical"}
    assert list(df["b"].cat.categories) == ["False", "True"]
    assert df["t"].isna().tolist() == [False, True, False]
    ordered = pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"], ordered=True)
    kept = make_typed(pd.DataFrame({"o": ordered}))
    assert list(kept["o"].cat.categories) == ["lo", "hi"] and kept["o"].cat.ordered


def test_validate_table_refuses_untyped_and_degenerate_tables():
    good = make_typed(pd.DataFrame({"a": [1.0, 2.0]}))
    assert validate_table(good) is good
    with pytest.raises(ImputebenchError, match="dtype int64.*make_typed"):
        validate_table(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(ImputebenchError, match="DataFrame"):
        validate_table(np.zeros((2, 2)))
    with pytest.raises(ImputebenchError, match="no columns"):
        validate_table(pd.DataFrame(index=[0, 1]))
    with pytest.raises(ImputebenchError, match="no rows"):
        validate_table(good.iloc[:0])
    dup = pd.concat([good, good], axis=1)
    with pytest.raises(ImputebenchError, match="duplicate"):
        validate_table(dup)


def test_max_rows_keeps_a_fixed_ordered_subset():
    from imputebench.datasets import load_dataset

    full = load_dataset("wine", include_target=True)
    sub = load_dataset("wine", include_target=True, max_rows=50)
    assert sub.shape == (50, full.shape[1]) and sub.attrs == {"target": "cultivar"}
    assert sub.equals(load_dataset("wine", include_target=True, max_rows=50))
    keep = np.sort(np.random.default_rng(0).choice(len(full), 50, replace=False))
    assert sub.equals(full.iloc[keep].reset_index(drop=True))
    assert load_dataset("wine", max_rows=10_000).shape == load_dataset("wine").shape
    for bad in (1, 2.5, True):
        with pytest.raises(ImputebenchError, match="max_rows"):
            load_dataset("wine", max_rows=bad)
