"""The Imputer base class (DESIGN.md §4): one interface, guarantees enforced once, here.

Every imputer is a scikit-learn estimator. The public methods validate input, call the
subclass's ``_fit`` / ``_impute`` / ``_sample``, then restore what the contract promises: observed
cells returned bit-for-bit, dtypes and category sets preserved, no NaN left, input never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.registry import Registry
from imputebench.datasets.schema import NUMERIC, column_kinds, validate_table


@dataclass(frozen=True)
class Capabilities:
    """What an imputer can do; the harness and the contract checks read these.

    categorical: handles categorical / ordinal columns. stochastic: ``sample`` draws differ.
    torch: accepts ``device``. out_of_sample: ``transform`` works on rows not seen in ``fit``.
    generates: implements ``_sample_rows`` (whole synthetic rows). imputes: ``transform`` and
    ``sample`` fill missing cells; ``False`` for generators of whole rows only (the reference
    synthesizers of other packages), whose ``transform`` / ``sample`` refuse a table with
    missing cells with one clear error and which the imputation task skips.
    """

    categorical: bool = True
    stochastic: bool = False
    torch: bool = False
    out_of_sample: bool = True
    generates: bool = False
    imputes: bool = True


_REGISTRY = Registry("imputer", "imputebench.imputers", group="imputebench.imputers",
                     skip={"base", "checks"}, env="IMPUTEBENCH_IMPUTER_MODULES")


def register_imputer(cls: type[Imputer]) -> type[Imputer]:
    """Class decorator: add an :class:`Imputer` subclass to the registry under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Imputer)):
        raise TypeError(f"{cls!r} is not an Imputer subclass")
    return _REGISTRY.register(cls)


def register_imputer_alias(name: str, target: str, **defaults: Any) -> None:
    """Register ``name`` as the imputer ``target`` with other default parameters."""
    _REGISTRY.alias(name, target, **defaults)


def available_imputers() -> list[str]:
    """Names of all registered imputers (files in ``imputers/`` and entry points)."""
    return _REGISTRY.names()


def get_imputer(name: str, **params: Any) -> Imputer:
    """A new, unfitted imputer by name, with ``params`` passed to its constructor."""
    return _REGISTRY.create(name, **params)


def get_imputer_class(name: str) -> type[Imputer]:
    return _REGISTRY.get_class(name)


def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError):
        raise ImputebenchError(f"random_state must be None, an int or a numpy Generator, "
                               f"got {random_state!r}") from None


class Imputer(BaseEstimator, TransformerMixin):
    """Base class of every imputer.

    Subclasses set ``name``, ``capabilities`` and ``fast_params`` and implement ``_fit(X, kinds,
    rng)`` and ``_impute(X, rng)``; stochastic ones also ``_sample(X, n_draws, rng)``. ``X`` is a
    private copy of a typed table (float64 / category columns, NaN = missing).
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    fast_params: ClassVar[dict] = {}

    # ---------------------------------------------------------------- public API
    def fit(self, X: pd.DataFrame, y=None) -> Self:
        """Learn from a typed table with missing values (NaN)."""
        X = self._check_table(X, "fit")
        empty = [c for c in X.columns if X[c].isna().all()]
        if empty:
            raise ImputebenchError(f"{self.name}: column(s) {empty} have no observed value; "
                                   "nothing can be learned for them")
        kinds = column_kinds(X)
        if not self.capabilities.categorical and any(k != NUMERIC for k in kinds.values()):
            cats = [c for c, k in kinds.items() if k != NUMERIC]
            raise ImputebenchError(f"{self.name} handles numeric columns only; categorical "
                                   f"columns: {cats}")
        self.columns_ = list(X.columns)
        self.dtypes_ = X.dtypes.copy()
        self.kinds_ = kinds
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        self._fit(X.copy(), kinds, _rng(getattr(self, "random_state", None)))
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Best single imputation (conditional mean / mode); observed cells unchanged."""
        X = self._check_transform_input(X)
        if not X.isna().to_numpy().any():
            return X.copy()
        self._check_imputes()
        out = self._impute(X.copy(), _rng(getattr(self, "random_state", None)))
        return self._finalize(X, out)

    def sample(self, X: pd.DataFrame, n_draws: int = 1, random_state=None) -> list[pd.DataFrame]:
        """``n_draws`` multiple imputations drawn from p(x_mis | x_obs)."""
        if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
            raise ImputebenchError(f"n_draws must be a positive integer, got {n_draws!r}")
        X = self._check_transform_input(X)
        if not X.isna().to_numpy().any():
            return [X.copy() for _ in range(n_draws)]
        self._check_imputes()
        draws = self._sample(X.copy(), int(n_draws), _rng(random_state))
        if len(draws) != n_draws:
            raise RuntimeError(f"{self.name}._sample returned {len(draws)} draws, not {n_draws}")
        return [self._finalize(X, d) for d in draws]

    def sample_rows(self, n: int, random_state=None) -> pd.DataFrame:
        """``n`` whole new rows from the fitted model (imputers with the ``generates``
        capability): the fitted columns, dtypes and categories, no NaN, seeded."""
        if not hasattr(self, "columns_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        if not self.capabilities.generates:
            raise ImputebenchError(f"{self.name} does not generate rows (no 'generates' "
                                   "capability)")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ImputebenchError(f"sample_rows: n must be a positive integer, got {n!r}")
        blank = pd.DataFrame({c: (pd.Series(pd.Categorical([None] * int(n), dtype=t))
                                  if isinstance(t, pd.CategoricalDtype)
                                  else pd.Series(np.full(int(n), np.nan)))
                              for c, t in self.dtypes_.items()})
        out = self._sample_rows(int(n), _rng(random_state))
        if isinstance(out, pd.DataFrame):
            out = out.reset_index(drop=True)
        return self._finalize(blank, out)

    # ---------------------------------------------------------------- for subclasses
    def _sample_rows(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        raise NotImplementedError

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        raise NotImplementedError

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        """Default for deterministic imputers: every draw is the point imputation."""
        point = self._impute(X, rng)
        return [point.copy() for _ in range(n_draws)]

    # ---------------------------------------------------------------- guarantees
    def _check_imputes(self) -> None:
        if not self.capabilities.imputes:
            raise ImputebenchError(f"{self.name} generates whole rows only and does not impute "
                                   "missing cells; use sample_rows(n)")

    def _check_table(self, X, what: str) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise ImputebenchError(f"{self.name}.{what} expects a pandas DataFrame (a typed "
                                   f"table), got {type(X).__name__}")
        return validate_table(X, what=f"{self.name}.{what} input")

    def _check_transform_input(self, X) -> pd.DataFrame:
        if not hasattr(self, "columns_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        X = self._check_table(X, "transform")
        if list(X.columns) != self.columns_:
            raise ImputebenchError(f"{self.name}: columns differ from those seen in fit "
                                   f"({list(X.columns)} vs {self.columns_})")
        for col in X.columns:
            fitted, given = self.dtypes_[col], X[col].dtype
            if isinstance(fitted, pd.CategoricalDtype):
                if not isinstance(given, pd.CategoricalDtype) or not fitted.categories.equals(
                        given.categories):
                    raise ImputebenchError(f"{self.name}: column {col!r} must have the "
                                           "categories seen in fit")
            elif given != fitted:
                raise ImputebenchError(f"{self.name}: column {col!r} has dtype {given}, "
                                       f"fitted with {fitted}")
        return X

    def _finalize(self, X: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(out, pd.DataFrame) or out.shape != X.shape:
            raise RuntimeError(f"{self.name} returned {type(out).__name__} of shape "
                               f"{getattr(out, 'shape', None)}, expected {X.shape}")
        if all(t == np.float64 for t in X.dtypes) and all(t == np.float64 for t in out.dtypes):
            # all-numeric fast path: one array operation instead of one per column (this runs
            # once per draw, so sample(n_draws=1000) pays it a thousand times)
            base = X.to_numpy(dtype=np.float64, copy=True)
            miss = np.isnan(base)
            fill = out.to_numpy(dtype=np.float64)[miss]
            if not np.isfinite(fill).all():
                bad = sorted({X.columns[j] for j in np.nonzero(miss)[1][~np.isfinite(fill)]})
                raise RuntimeError(f"{self.name} left NaN or inf in column(s) {bad}")
            base[miss] = fill
            return pd.DataFrame(base, index=X.index, columns=X.columns)
        result = {}
        for j, col in enumerate(X.columns):
            src = X[col]
            miss = src.isna().to_numpy()
            if not miss.any():
                result[col] = src
                continue
            new = out.iloc[:, j]
            dtype = self.dtypes_[col]
            if isinstance(dtype, pd.CategoricalDtype):
                codes = src.cat.codes.to_numpy().copy()
                if isinstance(new.dtype, pd.CategoricalDtype) and new.cat.categories.equals(
                        dtype.categories):
                    new_codes = new.cat.codes.to_numpy()[miss]
                else:  # -1 for NaN and for any level outside the categories
                    new_codes = dtype.categories.get_indexer(np.asarray(new, dtype=object)[miss])
                if (new_codes < 0).any():
                    raise RuntimeError(f"{self.name} left NaN or a level outside the categories "
                                       f"in column {col!r}")
                codes[miss] = new_codes
                result[col] = pd.Series(pd.Categorical.from_codes(codes, dtype=dtype),
                                        index=X.index, name=col)
            else:
                vals = src.to_numpy(dtype=np.float64, copy=True)
                fill = np.asarray(new, dtype=np.float64)[miss]
                if not np.isfinite(fill).all():
                    raise RuntimeError(f"{self.name} left NaN or inf in column {col!r}")
                vals[miss] = fill
                result[col] = pd.Series(vals, index=X.index, name=col)
        return pd.DataFrame(result, index=X.index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
