"""Each column on its own: the no-dependence baseline of imputation and synthesis."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.imputers.base import Capabilities, register_imputer
from imputebench.imputers.mean import MeanImputer


@register_imputer
class IndependentImputer(MeanImputer):
    """Draw every value from its own column's observed marginal, ignoring all other columns.

    The model of ``mean``'s ``sample`` (each numeric cell one of the column's observed values
    with equal probability, each categorical cell a level with its observed frequency), used
    as a baseline:

    * ``transform`` is a random hot deck: each missing cell takes one such draw, from a
      generator seeded at fit time (so ``transform`` is deterministic for a fitted model);
    * ``sample`` draws as ``mean`` does;
    * ``sample_rows(n)`` draws every column of every row independently: a synthetic table with
      the right marginals and no dependence at all, the floor a generator must beat on
      propensity and cluster metrics (Pathare et al. 2023 compare generators against it
      implicitly; synthpop's ``syn(method="sample")`` for every column is the same).

    References
    ----------
    Andridge, R. R., Little, R. J. A. (2010). A review of hot deck imputation for survey
    non-response. International Statistical Review 78(1), 40-64.
    Nowok, B., Raab, G. M., Dibben, C. (2016). synthpop: bespoke creation of synthetic data in
    R. Journal of Statistical Software 74(11).
    """

    name = "independent"
    capabilities = Capabilities(categorical=True, stochastic=True, generates=True)
    fast_params = {"random_state": 0}

    def __init__(self, random_state=None) -> None:
        self.random_state = random_state

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        super()._fit(X, kinds, rng)
        self.point_seed_ = int(rng.integers(0, 2**63 - 1))

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        return self._sample(X, 1, np.random.default_rng(self.point_seed_))[0]

    def _sample_rows(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        blank = pd.DataFrame({c: (pd.Categorical([None] * n, dtype=t)
                                  if isinstance(t, pd.CategoricalDtype) else np.full(n, np.nan))
                              for c, t in self.dtypes_.items()})
        return self._sample(blank, 1, rng)[0]
