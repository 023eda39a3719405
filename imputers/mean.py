"""Mean / mode imputation: the baseline every paper reports."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.datasets.schema import NUMERIC
from imputebench.imputers.base import Capabilities, Imputer, register_imputer


@register_imputer
class MeanImputer(Imputer):
    """Impute numeric cells by the column's observed mean, categorical ones by its mode.

    Ordinal columns also take the mode (the most frequent level), not a median level. Ties
    between equally frequent levels go to the first level in category order.

    ``sample`` draws every missing cell independently from its column's observed marginal: a
    numeric cell takes one of the column's observed values (each observed cell with equal
    probability), a categorical one a level with probability equal to its observed frequency.
    That is the predictive distribution the mean imputation assumes (missing completely at
    random, columns ignored), and the mean of a numeric cell's draws is the ``transform`` value.

    References
    ----------
    Little, R. J. A., Rubin, D. B. (2019). *Statistical Analysis with Missing Data*, 3rd ed.,
    Wiley, §3.4 (unconditional mean imputation).

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("iris")
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> MeanImputer().fit(hidden).transform(hidden).isna().sum().sum()
    np.int64(0)
    """

    name = "mean"
    capabilities = Capabilities(categorical=True, stochastic=True)
    fast_params: dict = {}

    def __init__(self) -> None:
        pass

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        fill, marginal = {}, {}
        for col, kind in kinds.items():
            if kind == NUMERIC:
                values = X[col].to_numpy(dtype=np.float64, na_value=np.nan)
                fill[col] = float(np.nanmean(values))
                marginal[col] = values[~np.isnan(values)]
            else:
                counts = np.bincount(X[col].cat.codes.to_numpy()[X[col].notna().to_numpy()],
                                     minlength=len(X[col].cat.categories))
                fill[col] = X[col].cat.categories[int(np.argmax(counts))]
                marginal[col] = counts / counts.sum()
        self.fill_values_ = fill
        # Observed values (numeric) or level frequencies (categorical): what ``sample`` draws.
        self.marginals_ = marginal

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        n = len(X)
        return pd.DataFrame({
            col: np.full(n, v, dtype=np.float64 if isinstance(v, float) else object)
            for col, v in self.fill_values_.items()
        }, index=X.index)

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        cols = {}
        for col in X.columns:           # column order fixes the stream of random numbers
            miss = X[col].isna().to_numpy()
            marginal = self.marginals_[col]
            if isinstance(X[col].dtype, pd.CategoricalDtype):
                codes = np.repeat(X[col].cat.codes.to_numpy().astype(np.int64)[None], n_draws, 0)
                codes[:, miss] = rng.choice(marginal.size, size=(n_draws, int(miss.sum())),
                                            p=marginal)
                cats = X[col].cat.categories
                cols[col] = [pd.Categorical.from_codes(c, categories=cats) for c in codes]
            else:
                values = np.repeat(X[col].to_numpy(dtype=np.float64)[None], n_draws, 0)
                values[:, miss] = marginal[rng.integers(0, marginal.size,
                                                        size=(n_draws, int(miss.sum())))]
                cols[col] = list(values)
        return [pd.DataFrame({col: cols[col][s] for col in X.columns}, index=X.index)
                for s in range(n_draws)]
