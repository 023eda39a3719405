"""The adapters of SDV's synthesizers (imputers/sdv_*.py, imputers/_sdv.py): a missing package
is a skipped cell; metadata from our kinds; known answers of the Gaussian copula; seeding that
reproduces and leaves the process's global random state alone. Tests that need sdv skip
without it (`make test-synth` runs them in .venv-synth)."""

from __future__ import annotations

import random
import sys

import numpy as np
import pandas as pd
import pytest

from imputebench.datasets.errors import ImputebenchError, MissingPackage
from imputebench.datasets.schema import make_typed
from imputebench.imputers import get_imputer

pytestmark = pytest.mark.synth

SDV = ("sdv_gaussian_copula", "sdv_tvae", "sdv_ctgan", "sdv_copulagan")
NEURAL = ("sdv_tvae", "sdv_ctgan", "sdv_copulagan")


def _fast(name: str, **over):
    return get_imputer(name, **{**get_imputer(name).fast_params, **over})


def _mixed(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Two correlated numeric columns, a nominal column and an ordinal one with numeric-looking
    labels ("1" < "2" < "10")."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(n)
    df = pd.DataFrame({"a": 3.0 + u, "b": u + 0.3 * rng.standard_normal(n),
                       "g": np.where(u > 0.5, "hi", np.where(u < -0.5, "lo", "mid")),
                       "o": rng.choice(["1", "2", "10"], n, p=[0.5, 0.3, 0.2])})
    return make_typed(df, {"g": "categorical", "o": "ordinal"})


def _global_states():
    torch = pytest.importorskip("torch")
    np_state = np.random.get_state()  # noqa: NPY002 - the global state is what is checked
    return np_state, torch.get_rng_state().clone(), random.getstate()


def _same_states(a, b) -> bool:
    return (a[0][0] == b[0][0] and np.array_equal(a[0][1], b[0][1]) and a[0][2:] == b[0][2:]
            and bool((a[1] == b[1]).all()) and a[2] == b[2])


# ------------------------------------------------------------------ without sdv (both envs)

def test_missing_sdv_fails_fit_and_skips_the_cell(monkeypatch):
    """With sdv unimportable: fit raises MissingPackage naming the package and the extra, and
    the harness records a synthesis cell as skipped with that reason (not failed)."""
    from imputebench.benchmarks.cell import Cell, execute
    from imputebench.benchmarks.config import DatasetSpec, ImputerSpec
    from imputebench.benchmarks.synthesis import SplitSpec, split_mask
    from imputebench.datasets import load_dataset

    monkeypatch.setitem(sys.modules, "sdv", None)
    df = _mixed(40)
    for name in SDV:
        with pytest.raises(MissingPackage, match="synth") as info:
            _fast(name).fit(df)
        assert info.value.package == "sdv" and info.value.extra == "synth"
        assert "'sdv'" in str(info.value) and name in str(info.value)

    truth = load_dataset("iris")
    for name in ("sdv_gaussian_copula", "sdv_ctgan"):
        cell = Cell(DatasetSpec("iris"), SplitSpec(0.5), 0, ImputerSpec(name))
        rec = execute(cell, truth, split_mask(truth, cell.mask, cell.mask_seed), ("pmse",))
        assert rec["status"] == "skipped", rec.get("traceback")
        assert rec["reason"].startswith("MissingPackage:")
        assert "'sdv'" in rec["reason"] and "imputebench[synth]" in rec["reason"]
        assert "metrics" not in rec


def test_parameters_are_checked_before_sdv_is_needed(monkeypatch):
    monkeypatch.setitem(sys.modules, "sdv", None)
    df = _mixed(40)
    cases = [("sdv_ctgan", {"batch_size": 25}, "multiple of pac"),
             ("sdv_copulagan", {"batch_size": 30, "pac": 4}, "multiple of pac"),
             ("sdv_tvae", {"epochs": 0}, "epochs"),
             ("sdv_tvae", {"compress_dims": ()}, "compress_dims"),
             ("sdv_ctgan", {"device": "gpu"}, "device"),
             ("sdv_gaussian_copula", {"default_distribution": "student"}, "default_distribution"),
             ("sdv_copulagan", {"default_distribution": "lognorm"}, "default_distribution")]
    for name, params, match in cases:
        with pytest.raises(ImputebenchError, match=match) as info:
            _fast(name, **params).fit(df)
        assert not isinstance(info.value, MissingPackage), name


def test_hot_deck_draws_each_missing_cell_from_its_own_column():
    from imputebench.imputers._sdv import hot_deck

    df = _mixed(300)
    hidden = df.copy()
    rng = np.random.default_rng(5)
    for col in df.columns:
        hidden.loc[rng.random(len(df)) < 0.3, col] = np.nan
    before = hidden.copy()
    arrays, filled = hot_deck(hidden, np.random.default_rng(1))
    pd.testing.assert_frame_equal(hidden, before)               # input untouched
    assert filled == int(hidden.isna().sum().sum())
    for col in df.columns:
        miss = hidden[col].isna().to_numpy()
        if col in ("a", "b"):
            obs = hidden[col].to_numpy()[~miss]
            assert np.array_equal(arrays[col][~miss], obs)        # observed cells kept
            assert np.isin(arrays[col][miss], obs).all()          # donors from the column
        else:
            codes = hidden[col].cat.codes.to_numpy()
            assert np.array_equal(arrays[col][~miss], codes[~miss])
            assert (arrays[col] >= 0).all()
            assert np.isin(arrays[col][miss], codes[~miss]).all()
    again, _ = hot_deck(hidden, np.random.default_rng(1))
    other, _ = hot_deck(hidden, np.random.default_rng(2))
    assert all(np.array_equal(arrays[c], again[c]) for c in df.columns)
    assert not all(np.array_equal(arrays[c], other[c]) for c in df.columns)


# ------------------------------------------------------------------ with sdv

def test_metadata_follows_declared_kinds():
    """Numeric-looking labels ("1", "2", "10") declared ordinal stay categorical: SDV is told
    'categorical', and the generated column has the fitted categories and their frequencies."""
    pytest.importorskip("sdv")
    df = _mixed(600)
    gen = _fast("sdv_gaussian_copula").fit(df)
    columns = gen.synthesizer_.metadata.tables["imputebench"].columns
    assert {k: v["sdtype"] for k, v in columns.items()} == {
        "c0": "numerical", "c1": "numerical", "c2": "categorical", "c3": "categorical"}
    rows = gen.sample_rows(2000, random_state=0)
    for col in ("g", "o"):
        assert rows[col].dtype == df[col].dtype                  # same categories, same order
    assert rows["o"].cat.ordered and list(rows["o"].cat.categories) == ["1", "2", "10"]
    share = rows["o"].value_counts(normalize=True)
    truth = df["o"].value_counts(normalize=True)
    assert (share - truth).abs().max() < 0.06                    # 0.5 / 0.3 / 0.2
    assert rows["a"].dtype == np.float64 and rows["b"].dtype == np.float64


def test_gaussian_copula_keeps_correlation_and_means():
    """Bivariate normal, rho = 0.8, means (1, -2), 1,000 rows: the sampled correlation is within
    0.1 and the means within 0.1 (beta marginals, SDV's default)."""
    pytest.importorskip("sdv")
    rng = np.random.default_rng(0)
    n, rho = 1000, 0.8
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    df = pd.DataFrame({"x": 1.0 + x, "y": -2.0 + y})
    gen = get_imputer("sdv_gaussian_copula", random_state=0).fit(df)
    rows = gen.sample_rows(4000, random_state=1)
    assert abs(np.corrcoef(rows["x"], rows["y"])[0, 1] - rho) < 0.1
    assert abs(rows["x"].mean() - 1.0) < 0.1 and abs(rows["y"].mean() + 2.0) < 0.1
    assert 0.8 < rows["x"].std() < 1.2
    assert gen.diagnostics_["synthesizer"] == "GaussianCopulaSynthesizer"
    assert gen.diagnostics_["default_distribution"] == "beta"


def test_training_cells_missing_are_hot_decked():
    pytest.importorskip("sdv")
    df = _mixed(300)
    hidden = df.mask(np.random.default_rng(3).random(df.shape) < 0.15)
    before = hidden.copy()
    gen = _fast("sdv_gaussian_copula").fit(hidden)
    pd.testing.assert_frame_equal(hidden, before)
    assert gen.diagnostics_["hot_deck_cells"] == int(hidden.isna().sum().sum()) > 0
    rows = gen.sample_rows(500, random_state=0)
    assert not rows.isna().any().any()
    with pytest.raises(ImputebenchError, match="does not impute"):
        gen.transform(hidden)


@pytest.mark.parametrize("name", NEURAL)
def test_neural_adapters_are_typed_and_reproducible(name):
    pytest.importorskip("sdv")
    df = _mixed(160)
    gen = _fast(name).fit(df)
    rows = gen.sample_rows(30, random_state=0)
    assert rows.shape == (30, 4) and list(rows.columns) == list(df.columns)
    assert rows.dtypes.equals(df.dtypes) and not rows.isna().any().any()
    assert gen.device_ == "cpu" and gen.diagnostics_["enable_gpu"] is False
    assert gen.diagnostics_["package"] == "sdv" and gen.diagnostics_["epochs"] == \
        gen.fast_params["epochs"]
    assert set(gen.diagnostics_["final_loss"]) and all(
        np.isfinite(v) for v in gen.diagnostics_["final_loss"].values())
    # same seed -> same fit and same rows; another sampling seed or fit seed -> other rows
    twin = _fast(name).fit(df)
    pd.testing.assert_frame_equal(rows, twin.sample_rows(30, random_state=0))
    pd.testing.assert_frame_equal(rows, gen.sample_rows(30, random_state=0))
    assert not rows.equals(gen.sample_rows(30, random_state=1))
    other = _fast(name, random_state=1).fit(df)
    assert not rows.equals(other.sample_rows(30, random_state=0))


@pytest.mark.parametrize("name", ("sdv_gaussian_copula", "sdv_ctgan", "sdv_tvae"))
def test_global_random_states_are_left_alone(name):
    """fit + sample_rows leave numpy's, torch's and python's global generators as they were
    (SDV draws from them; the adapter seeds them inside and restores them)."""
    pytest.importorskip("sdv")
    df = _mixed(120)
    saved = np.random.get_state()  # noqa: NPY002
    try:
        before = _global_states()
        gen = _fast(name).fit(df)
        gen.sample_rows(50, random_state=3)
        assert _same_states(before, _global_states())
        # and neither fit nor rows depend on the global state the caller left
        np.random.seed(123)  # noqa: NPY002 - the point is a changed global state
        a = gen.sample_rows(20, random_state=4)
        refit = _fast(name).fit(df)
        np.random.seed(456)  # noqa: NPY002
        pd.testing.assert_frame_equal(a, gen.sample_rows(20, random_state=4))
        pd.testing.assert_frame_equal(a, refit.sample_rows(20, random_state=4))
    finally:
        np.random.set_state(saved)  # noqa: NPY002
