"""The imputer contract, as named check functions (scikit-learn style).

Importable by plugin authors: ``parametrize_with_checks([MyImputer()])`` in a test, or
``imputebench check NAME`` on the command line. Every registered imputer runs these in
``tests/test_contract.py``, so a new imputer file is tested with no new test code.

Each check takes ``(name, imputer)`` (an unfitted instance with its ``fast_params``) and raises
``AssertionError`` with a message when the contract is broken.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.masking import MaskSpec, make_mask
from imputebench.datasets.schema import make_typed
from imputebench.imputers.base import Imputer


def _table(imputer: Imputer, n: int = 80, seed: int = 0) -> pd.DataFrame:
    """A small mixed table (numeric only when the imputer cannot take categoricals)."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(n)
    cols = {
        "a": u + 0.1 * rng.standard_normal(n),
        "b": np.sin(2 * u) + 0.1 * rng.standard_normal(n),
        "c": np.exp(0.5 * u) + 0.1 * rng.standard_normal(n),
    }
    kinds = {"a": "numeric", "b": "numeric", "c": "numeric"}
    if imputer.capabilities.categorical:
        cols["g"] = np.where(u > 0.3, "hi", np.where(u < -0.3, "lo", "mid"))
        cols["o"] = np.where(u > 0, "2", "1")
        kinds.update(g="categorical", o="ordinal")
    return make_typed(pd.DataFrame(cols), kinds)


def _hidden(df: pd.DataFrame, rate: float = 0.2, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    mask = make_mask(df, MaskSpec("mcar", rate), seed)
    return df.mask(mask), mask


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        return True
    except AssertionError:
        return False


def _assert_valid_output(X: pd.DataFrame, out: pd.DataFrame, what: str) -> None:
    assert isinstance(out, pd.DataFrame), f"{what} must return a DataFrame"
    assert list(out.columns) == list(X.columns), f"{what} changed the columns"
    assert out.index.equals(X.index), f"{what} changed the index"
    assert not out.isna().to_numpy().any(), f"{what} left NaN"
    for col in X.columns:
        assert out[col].dtype == X[col].dtype, f"{what} changed the dtype of {col!r}"
        obs = X[col].notna().to_numpy()
        if isinstance(X[col].dtype, pd.CategoricalDtype):
            same = np.array_equal(out[col].cat.codes.to_numpy()[obs],
                                  X[col].cat.codes.to_numpy()[obs])
        else:
            a = out[col].to_numpy(dtype=np.float64)[obs]
            b = X[col].to_numpy(dtype=np.float64)[obs]
            same = a.tobytes() == b.tobytes()
        assert same, f"{what} changed observed cells of {col!r}"
        if not isinstance(X[col].dtype, pd.CategoricalDtype):
            assert np.isfinite(out[col].to_numpy(dtype=np.float64)).all(), f"{what}: inf in {col!r}"


def _imputation_check(check: Callable[[str, Imputer], None]) -> Callable[[str, Imputer], None]:
    """A check of imputing: it holds vacuously for a generator-only model (capability
    ``imputes=False``), whose refusal ``check_generator_only_refuses_to_impute`` checks."""
    @functools.wraps(check)
    def run(name: str, imputer: Imputer) -> None:
        if imputer.capabilities.imputes:
            check(name, imputer)

    return run


# ------------------------------------------------------------------------------------ checks

def check_init_stores_params(name: str, imputer: Imputer) -> None:
    params = imputer.get_params()
    fresh = type(imputer)(**params)
    assert fresh.get_params() == params, "__init__ must store its parameters unchanged"
    fitted_attrs = [a for a in vars(fresh) if a.endswith("_") and not a.startswith("_")]
    assert not fitted_attrs, f"__init__ must only store parameters, it set {fitted_attrs}"
    clone(imputer)


def check_not_fitted(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    for call in (lambda: imputer.transform(X), lambda: imputer.sample(X, 2, random_state=0)):
        try:
            call()
        except NotFittedError:
            continue
        raise AssertionError("transform/sample before fit must raise NotFittedError")


def check_fit_returns_self(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    assert imputer.fit(X) is imputer, "fit must return self"


@_imputation_check
def check_transform_contract(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    before = X.copy(deep=True)
    out = imputer.fit(X).transform(X)
    assert _same(X, before), "fit/transform mutated its input"
    _assert_valid_output(X, out, "transform")


@_imputation_check
def check_transform_deterministic(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    imputer.fit(X)
    assert _same(imputer.transform(X), imputer.transform(X)), "transform must be deterministic"


def check_fit_reproducible(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    if imputer.capabilities.imputes:
        a = clone(imputer).fit(X).transform(X)
        b = clone(imputer).fit(X).transform(X)
    else:
        a = clone(imputer).fit(X).sample_rows(20, random_state=0)
        b = clone(imputer).fit(X).sample_rows(20, random_state=0)
    assert _same(a, b), "two fits with the same parameters and random_state must agree"


@_imputation_check
def check_sample_contract(name: str, imputer: Imputer) -> None:
    X, mask = _hidden(_table(imputer))
    before = X.copy(deep=True)
    imputer.fit(X)
    draws = imputer.sample(X, 3, random_state=0)
    assert _same(X, before), "sample mutated its input"
    assert isinstance(draws, list) and len(draws) == 3, "sample(X, 3) must return 3 tables"
    for k, d in enumerate(draws):
        _assert_valid_output(X, d, f"sample draw {k}")
    again = imputer.sample(X, 3, random_state=0)
    assert all(_same(a, b) for a, b in zip(draws, again, strict=True)), \
        "sample with the same random_state must give the same draws"
    if imputer.capabilities.stochastic:
        assert not _same(draws[0], draws[1]), "a stochastic imputer gave identical draws"


def check_sample_rows(name: str, imputer: Imputer) -> None:
    """Generators (capability ``generates``): ``sample_rows`` gives n complete rows with the
    fitted columns and categories, seeded; others refuse it with a clear error."""
    X, _ = _hidden(_table(imputer))
    imputer.fit(X)
    if not imputer.capabilities.generates:
        try:
            imputer.sample_rows(5)
        except ImputebenchError:
            return
        raise AssertionError("sample_rows must refuse without the 'generates' capability")
    rows = imputer.sample_rows(25, random_state=0)
    assert isinstance(rows, pd.DataFrame) and rows.shape == (25, X.shape[1]), \
        "sample_rows(25) must return 25 rows of the fitted columns"
    assert list(rows.columns) == list(X.columns), "sample_rows changed the columns"
    assert not rows.isna().to_numpy().any(), "sample_rows left NaN"
    for col in X.columns:
        if isinstance(X[col].dtype, pd.CategoricalDtype):
            assert rows[col].cat.categories.equals(X[col].cat.categories), \
                f"sample_rows changed the categories of {col!r}"
        else:
            assert rows[col].dtype == np.float64, f"sample_rows changed the dtype of {col!r}"
    assert _same(rows, imputer.sample_rows(25, random_state=0)), \
        "sample_rows with the same random_state must give the same rows"
    assert not _same(rows, imputer.sample_rows(25, random_state=1)), \
        "sample_rows with another random_state gave the same rows"


def check_generator_only_refuses_to_impute(name: str, imputer: Imputer) -> None:
    """A model without the ``imputes`` capability must generate, and must refuse a table with
    missing cells in ``transform`` and ``sample`` with one clear error."""
    if imputer.capabilities.imputes:
        return
    assert imputer.capabilities.generates, "a model that does not impute must generate"
    X, _ = _hidden(_table(imputer))
    imputer.fit(X)
    for what, call in (("transform", lambda: imputer.transform(X)),
                       ("sample", lambda: imputer.sample(X, 2, random_state=0))):
        try:
            call()
        except ImputebenchError as exc:
            assert "does not impute" in str(exc), f"{what}: unclear refusal {exc}"
            continue
        raise AssertionError(f"{what} of a generator-only model must refuse missing cells")


def check_complete_input_passthrough(name: str, imputer: Imputer) -> None:
    full = _table(imputer)
    X, _ = _hidden(full)
    imputer.fit(X)
    assert _same(imputer.transform(full), full), "a table with no NaN must come back unchanged"


@_imputation_check
def check_fully_missing_row(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    X.iloc[3, :] = np.nan
    X.iloc[7, :] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = imputer.fit(X).transform(X)
    _assert_valid_output(X, out, "transform with fully missing rows")


@_imputation_check
def check_constant_column(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    X["a"] = 3.25
    X.loc[X.index[::4], "a"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = imputer.fit(X).transform(X)
    _assert_valid_output(X, out, "transform with a constant column")
    if not imputer.capabilities.stochastic:
        assert np.allclose(out["a"], 3.25), "a constant column must be imputed by its constant"


@_imputation_check
def check_out_of_sample(name: str, imputer: Imputer) -> None:
    if not imputer.capabilities.out_of_sample:
        return
    full = _table(imputer, n=120)
    X, _ = _hidden(full)
    imputer.fit(X.iloc[:80])
    new = X.iloc[80:]
    _assert_valid_output(new, imputer.transform(new), "transform on rows unseen in fit")


@_imputation_check
def check_numeric_only_table(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer)[["a", "b", "c"]])
    _assert_valid_output(X, imputer.fit(X).transform(X), "transform on a numeric table")


@_imputation_check
def check_categorical_only_table(name: str, imputer: Imputer) -> None:
    if not imputer.capabilities.categorical:
        return
    X, _ = _hidden(_table(imputer)[["g", "o"]])
    _assert_valid_output(X, imputer.fit(X).transform(X), "transform on a categorical table")


def check_bad_input(name: str, imputer: Imputer) -> None:
    X, _ = _hidden(_table(imputer))
    bad_cases: list[tuple[str, Callable[[], object]]] = [
        ("a numpy array", lambda: clone(imputer).fit(X.to_numpy())),
        ("an empty column", lambda: clone(imputer).fit(X.assign(a=np.nan))),
        ("an int column", lambda: clone(imputer).fit(X.assign(a=1))),
        ("an empty table", lambda: clone(imputer).fit(X.iloc[:0])),
        ("other columns at transform", lambda: clone(imputer).fit(X).transform(X[X.columns[::-1]])),
        ("n_draws=0", lambda: clone(imputer).fit(X).sample(X, 0)),
    ]
    for what, call in bad_cases:
        try:
            call()
        except ImputebenchError:
            continue
        except Exception as exc:  # noqa: BLE001 - the point is to report what was raised
            raise AssertionError(f"{what} must raise ImputebenchError, raised {exc!r}") from exc
        raise AssertionError(f"{what} must raise ImputebenchError, nothing was raised")


@_imputation_check
def check_beats_nothing(name: str, imputer: Imputer) -> None:
    """Imputed numeric cells stay within a generous band around the observed range."""
    full = _table(imputer)
    X, mask = _hidden(full)
    out = imputer.fit(X).transform(X)
    for col in ("a", "b", "c"):
        obs = X[col].dropna()
        span = obs.max() - obs.min()
        vals = out[col].to_numpy()[X[col].isna().to_numpy()]
        assert ((vals >= obs.min() - span) & (vals <= obs.max() + span)).all(), \
            f"imputed values of {col!r} fall far outside the observed range"


ALL_CHECKS: tuple[Callable[[str, Imputer], None], ...] = (
    check_init_stores_params,
    check_not_fitted,
    check_fit_returns_self,
    check_transform_contract,
    check_transform_deterministic,
    check_fit_reproducible,
    check_sample_contract,
    check_sample_rows,
    check_generator_only_refuses_to_impute,
    check_complete_input_passthrough,
    check_fully_missing_row,
    check_constant_column,
    check_out_of_sample,
    check_numeric_only_table,
    check_categorical_only_table,
    check_bad_input,
    check_beats_nothing,
)


def with_fast_params(imputer: Imputer) -> Imputer:
    return clone(imputer).set_params(**type(imputer).fast_params)


def iter_checks(imputer: Imputer) -> Iterator[tuple[Imputer, Callable]]:
    for check in ALL_CHECKS:
        yield imputer, check


def run_checks(imputer: Imputer) -> list[tuple[str, str | None]]:
    """Run every check on a fresh clone each time; ``[(check name, error or None), ...]``."""
    results = []
    for check in ALL_CHECKS:
        try:
            check(imputer.name, clone(imputer))
            results.append((check.__name__, None))
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            results.append((check.__name__, f"{type(exc).__name__}: {exc}"))
    return results


def parametrize_with_checks(imputers: Iterable[Imputer]):
    """``pytest.mark.parametrize("imputer, check", ...)`` over every imputer and check."""
    import pytest

    pairs = [(imp, check) for imp in imputers for check in ALL_CHECKS]
    ids = [f"{imp.name}-{check.__name__}" for imp, check in pairs]
    return pytest.mark.parametrize("imputer, check", pairs, ids=ids)
