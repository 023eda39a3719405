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
    between equally frequent levels go to the first level in category order. ``sample`` returns
    the same table for every draw: this imputer has no predictive spread.

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
    capabilities = Capabilities(categorical=True, stochastic=False)
    fast_params: dict = {}

    def __init__(self) -> None:
        pass

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        fill = {}
        for col, kind in kinds.items():
            if kind == NUMERIC:
                fill[col] = float(np.nanmean(X[col].to_numpy(dtype=np.float64, na_value=np.nan)))
            else:
                counts = np.bincount(X[col].cat.codes.to_numpy()[X[col].notna().to_numpy()],
                                     minlength=len(X[col].cat.categories))
                fill[col] = X[col].cat.categories[int(np.argmax(counts))]
        self.fill_values_ = fill

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        n = len(X)
        return pd.DataFrame({
            col: np.full(n, v, dtype=np.float64 if isinstance(v, float) else object)
            for col, v in self.fill_values_.items()
        }, index=X.index)
