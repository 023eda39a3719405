"""MICE and MissForest through scikit-learn's IterativeImputer, with the kNNxKDE paper's settings.

Both follow the protocol of Lalande & Doya (2023)'s published code (DeltaFloflo/knnxkde,
``hyperparam_rmse.py`` for the point imputation, ``probabilistic_standard_methods.py`` for the
per-cell distribution): the table is min-max scaled to [0, 1] with the paper's
``(x - min) / (max - min + 1e-6)`` on the observed cells, imputed by ``IterativeImputer`` with
``max_iter=10, tol=0.2`` and scikit-learn's other defaults, and scaled back.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401 - enables the import
from sklearn.impute import IterativeImputer
from sklearn.linear_model import BayesianRidge

from imputebench.datasets.errors import ImputebenchError
from imputebench.imputers.base import Capabilities, Imputer, register_imputer

_SEED_HIGH = 2**31 - 1


class _IterativeBase(Imputer):
    """Shared machinery: scaling, the point imputer, and draws as independent reruns."""

    capabilities = Capabilities(categorical=False, stochastic=True, out_of_sample=True)
    #: True: no fitted model is kept (see MissForestImputer); rows unseen in fit are imputed by
    #: rerunning on the fitted table with them appended.
    _transductive = False

    def _make(self, seed: int, draw: bool) -> IterativeImputer:
        raise NotImplementedError

    def _check_params(self) -> None:
        m = self.max_iter
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ImputebenchError(f"{self.name}: max_iter must be a positive integer, got {m!r}")
        t = self.tol
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) \
                or not np.isfinite(t) or t < 0:
            raise ImputebenchError(f"{self.name}: tol must be a finite number >= 0, got {t!r}")

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        A = X.to_numpy(dtype=np.float64, na_value=np.nan)
        self.min_ = np.nanmin(A, axis=0)
        self.scale_ = np.nanmax(A, axis=0) - self.min_ + 1e-6  # the paper's normalization
        self.train_ = self._scaled(X)
        seed = int(rng.integers(0, _SEED_HIGH))
        if self._transductive:
            self.point_seed_ = seed
            self.train_out_ = self._run(self._make(seed, draw=False), self.train_, fit=True)[1]
        else:
            self.point_ = self._run(self._make(seed, draw=False), self.train_, fit=True)[0]

    def _scaled(self, X: pd.DataFrame) -> np.ndarray:
        return (X.to_numpy(dtype=np.float64, na_value=np.nan) - self.min_) / self.scale_

    def _unscaled(self, A: np.ndarray, index: pd.Index) -> pd.DataFrame:
        return pd.DataFrame(A * self.scale_ + self.min_, index=index, columns=self.columns_)

    @staticmethod
    def _run(imp: IterativeImputer, A: np.ndarray, fit: bool) -> tuple[IterativeImputer,
                                                                         np.ndarray]:
        with warnings.catch_warnings():
            # tol=0.2 with max_iter=10 often stops at max_iter: expected, not news.
            warnings.simplefilter("ignore", ConvergenceWarning)
            if fit:
                out = imp.fit_transform(A)
                return imp, out
            return imp, imp.transform(A)

    def _is_train(self, A: np.ndarray) -> bool:
        return A.shape == self.train_.shape and np.array_equal(A, self.train_, equal_nan=True)

    def _appended(self, imp: IterativeImputer, A: np.ndarray) -> np.ndarray:
        """Rows ``A`` imputed by one run on the fitted table with ``A`` appended."""
        return self._run(imp, np.vstack([self.train_, A]), fit=True)[1][len(self.train_):]

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        A = self._scaled(X)
        if not self._transductive:
            return self._unscaled(self._run(self.point_, A, fit=False)[1], X.index)
        if self._is_train(A):  # what replaying the fitted run would give, without its models
            return self._unscaled(self.train_out_.copy(), X.index)
        return self._unscaled(self._appended(self._make(self.point_seed_, draw=False), A),
                              X.index)

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        A = self._scaled(X)
        same = self._is_train(A)
        draws = []
        for seed in rng.integers(0, _SEED_HIGH, size=n_draws):
            imp = self._make(int(seed), draw=True)
            if same:  # the paper's protocol: one fit_transform per draw on the table itself
                out = self._run(imp, A, fit=True)[1]
            elif self._transductive:
                out = self._appended(imp, A)
            else:
                self._run(imp, self.train_, fit=True)
                out = self._run(imp, A, fit=False)[1]
            draws.append(self._unscaled(out, X.index))
        return draws


@register_imputer
class MICEImputer(_IterativeBase):
    """MICE with Bayesian ridge regression, as configured in the kNNxKDE paper.

    ``IterativeImputer(estimator=BayesianRidge(), max_iter=10, tol=0.2)`` on the table min-max
    scaled to [0, 1] (see the module docstring), with scikit-learn's other defaults (mean
    initialisation, ascending visit order). Numeric columns only.

    ``transform`` is the paper's RMSE protocol (``hyperparam_rmse.py``): one run with
    ``sample_posterior=False``, i.e. every missing cell is the posterior-mean prediction of the
    last chained regression; deterministic. ``sample`` is the paper's likelihood protocol
    (``probabilistic_standard_methods.distribution_with_mice``): each draw is an independent
    run with ``sample_posterior=True`` and its own seed, so a cell's draws come from the
    Bayesian-ridge posterior predictive (parameter uncertainty plus noise). On the fitted
    table a draw is one ``fit_transform`` as in the paper; on other rows it is a
    ``sample_posterior=True`` imputer fitted on the fitted table, then applied to the rows.

    Parameters
    ----------
    max_iter : int
        Rounds of chained regressions (the paper: 10).
    tol : float
        IterativeImputer's stopping tolerance (the paper: 0.2).
    random_state : int, numpy Generator or None
        Seeds the draws' runs (and IterativeImputer's own generator).

    References
    ----------
    van Buuren, S., Groothuis-Oudshoorn, K. (2011). mice: Multivariate imputation by chained
    equations in R. Journal of Statistical Software 45(3).
    Lalande, F., Doya, K. (2023). Numerical data imputation for multimodal data sets: a
    probabilistic nearest-neighbor kernel density approach. Transactions on Machine Learning
    Research.

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("iris").select_dtypes("float64")
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> imp = MICEImputer(random_state=0).fit(hidden)
    >>> imp.transform(hidden).isna().sum().sum()
    np.int64(0)
    >>> len(imp.sample(hidden, 5, random_state=1))
    5
    """

    name = "mice"
    fast_params = {"max_iter": 3, "random_state": 0}

    def __init__(self, max_iter: int = 10, tol: float = 0.2, random_state=None) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _make(self, seed: int, draw: bool) -> IterativeImputer:
        return IterativeImputer(estimator=BayesianRidge(), max_iter=int(self.max_iter),
                                tol=float(self.tol), sample_posterior=draw, random_state=seed)


@register_imputer
class MissForestImputer(_IterativeBase):
    """MissForest as the kNNxKDE paper ran it: IterativeImputer with extremely randomized trees.

    ``IterativeImputer(estimator=ExtraTreesRegressor(n_estimators), max_iter=10, tol=0.2)`` on
    the table min-max scaled to [0, 1] (see the module docstring). The paper tunes
    ``n_estimators`` over ``[1, 2, 3, 5, 10, 15, 20]`` ("computationally expensive to go
    higher"); the default here, 10, is the middle of that grid (Stekhoven & Buehlmann's
    original uses 100 random-forest trees). Numeric columns only.

    ``transform`` is one run seeded at fit time (the paper's RMSE protocol, which leaves the
    seed free); deterministic for a fitted model. No forest is kept (memory would grow with
    ``max_iter`` x columns x ``n``; see ``_PredictOnceTrees``): ``transform`` of the fitted table
    returns that run's result, which is what replaying its forests gives, and rows unseen in
    ``fit`` are imputed by the same seeded run on the fitted table with those rows appended
    (MissForest is transductive: the original R package has no out-of-sample predict). Complete
    columns are never regression targets (``skip_complete=True``): a forest fitted to a column
    with nothing to impute changes no cell. ``sample`` follows the paper's likelihood
    protocol (``probabilistic_standard_methods.distribution_with_missforest``): each draw is an
    independent rerun with another seed, so the spread of the draws is the algorithm's own
    randomness (tree construction), not a model of the noise: it is narrow, and comparable to
    the paper's (mean, std) per cell rather than a calibrated predictive distribution.

    Parameters
    ----------
    n_estimators : int
        Trees per forest.
    max_iter : int
        Rounds of chained regressions (the paper: 10).
    tol : float
        IterativeImputer's stopping tolerance (the paper: 0.2).
    random_state : int, numpy Generator or None

    References
    ----------
    Stekhoven, D. J., Buehlmann, P. (2012). MissForest - non-parametric missing value
    imputation for mixed-type data. Bioinformatics 28(1), 112-118.
    Lalande, F., Doya, K. (2023). Numerical data imputation for multimodal data sets: a
    probabilistic nearest-neighbor kernel density approach. Transactions on Machine Learning
    Research.

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("iris").select_dtypes("float64")
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> MissForestImputer(random_state=0).fit(hidden).transform(hidden).isna().sum().sum()
    np.int64(0)
    """

    name = "missforest"
    _transductive = True
    fast_params = {"n_estimators": 3, "max_iter": 3, "random_state": 0}

    def __init__(self, n_estimators: int = 10, max_iter: int = 10, tol: float = 0.2,
                 random_state=None) -> None:
        self.n_estimators = n_estimators
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_params(self) -> None:
        super()._check_params()
        k = self.n_estimators
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ImputebenchError(f"missforest: n_estimators must be a positive integer, "
                                   f"got {k!r}")

    def _make(self, seed: int, draw: bool) -> IterativeImputer:
        trees = _PredictOnceTrees(n_estimators=int(self.n_estimators), random_state=seed)
        return IterativeImputer(estimator=trees, max_iter=int(self.max_iter), tol=float(self.tol),
                                random_state=seed, skip_complete=True)


class _PredictOnceTrees(ExtraTreesRegressor):
    """``ExtraTreesRegressor`` that frees its trees once it has made its one prediction.

    ``IterativeImputer`` keeps every round's fitted estimator for ``transform``: ``max_iter``
    x columns forests of fully grown trees, whose nodes grow with ``n`` (4.2 GB at 10,000 x 40
    with 10 trees; about ten times that at 100,000 rows). Inside ``fit_transform`` each forest
    predicts once, the missing cells of its column, and is never used again, so MissForest
    frees it there and keeps no model (it is transductive, as Stekhoven & Buehlmann's R package
    is).
    """

    def predict(self, X):
        out = super().predict(X)
        self.estimators_ = []
        return out
