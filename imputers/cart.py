"""Chained-equation CART imputation with leaf donors, as R mice's ``mice.impute.cart``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import CATEGORICAL, NUMERIC
from imputebench.imputers.base import Capabilities, Imputer, register_imputer


def _positive_int(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ImputebenchError(f"cart: {what} must be a positive integer, got {value!r}")


@register_imputer
class CARTImputer(Imputer):
    """Multiple imputation by chained equations with regression / classification trees.

    The algorithm of R mice's ``cart`` method (Burgette & Reiter 2010; Doove et al. 2014):

    1. every missing cell starts as a random draw from its column's observed values (mice's
       default initialisation);
    2. for ``n_iter`` sweeps (mice's ``maxit``, default 5), the columns with missing values
       are visited left to right (mice's ``visitSequence="roman"``). For column ``j`` a tree is
       fitted on the rows where ``j`` is observed, with every other column at its current value
       as predictors: a ``DecisionTreeRegressor`` for a numeric ``j``, a
       ``DecisionTreeClassifier`` (Gini) on the level codes for a categorical or ordinal ``j``;
    3. each missing cell of ``j`` then takes the value of a donor drawn uniformly at random
       among the observed cases that fall in the same leaf. For a categorical ``j`` this is
       mice's draw of a level with the leaf's class proportions.

    Predictors: numeric columns as they are, ordinal columns as their integer level codes (the
    order is what matters to a tree, as rpart treats ordered factors), nominal categorical
    columns one-hot encoded (mice hands rpart dummy-coded factors too). Tree settings follow
    mice's ``minbucket=5, cp=1e-4``: ``min_samples_leaf=minbucket``, ``min_samples_split =
    3 * minbucket`` (rpart's ``minsplit`` when only ``minbucket`` is given) and cost-complexity
    pruning with sklearn ``ccp_alpha = ccp_alpha * root impurity`` (root variance for a
    numeric target, root Gini for a categorical one), so that ``ccp_alpha`` here is rpart's
    ``cp``: the fraction of the root node's risk a split must remove. The same value is
    sklearn's ``min_impurity_decrease``: rpart does not attempt a split that removes less than
    that while growing, so neither do we (for regression ``N_t / N`` times the impurity decrease
    is the drop in the sum of squares over ``N``, rpart's rule exactly). For regression the
    mapping is exact in form (rpart's risk is the sum of squares, sklearn's the weighted mean
    squared error); for classification rpart prunes on misclassification risk and sklearn on
    Gini, so the mapping is approximate.

    ``sample(X, n_draws)`` runs ``n_draws`` independent chains and returns each chain's last
    state (mice's ``m`` multiple imputations). ``transform`` is deterministic: it runs
    ``n_point_draws`` chains from a generator seeded at fit time (from ``random_state``) and
    returns, per cell, the mean of the chains (numeric) or their most frequent level
    (categorical / ordinal, ties to the first level in category order).

    **Synthesis** (``sample_rows``), as synthpop's ``syn(method="cart")`` (Reiter 2005;
    Nowok, Raab & Dibben 2016): the columns are visited in table order; the first is drawn with
    replacement from its values; each next column ``j`` gets a tree fitted on the training
    rows with columns ``1..j-1`` as predictors, each synthetic row is dropped down it with its
    own synthetic values of those columns, and takes the value of a training donor drawn
    uniformly from its leaf. Trees as above except the pruning: ``synthesis_ccp_alpha``
    (synthpop's ``cart.cp`` default, 1e-8) in place of ``ccp_alpha``; predictors encoded as
    above (rpart splits factors natively; one-hot is our encoding). synthpop is given complete
    data here: a fitted table with missing cells is first completed by one chain of the
    imputation above (a stated choice; synthpop instead models missingness as an extra level).

    Out-of-sample: mice imputes only the table it is given. ``fit`` stores the table; on that
    same table ``transform`` / ``sample`` run the chains on it alone; on any other table the
    chains run on the fitted rows stacked over the new rows (trees learn from both) and the new
    rows are returned.

    Parameters
    ----------
    n_iter : int
        Sweeps over the columns per chain (mice's ``maxit``).
    min_samples_leaf : int
        Minimum observed cases in a leaf (rpart's ``minbucket``): the donor pool size.
    ccp_alpha : float
        Complexity parameter relative to the root node's impurity (rpart's ``cp``).
    n_point_draws : int
        Chains averaged by ``transform``.
    synthesis_ccp_alpha : float
        ``cp`` of the synthesis trees (synthpop's default 1e-8).
    random_state : int, numpy Generator or None

    References
    ----------
    Burgette, L. F., Reiter, J. P. (2010). Multiple imputation for missing data via sequential
    regression trees. American Journal of Epidemiology 172(9), 1070-1076.
    Doove, L. L., Van Buuren, S., Dusseldorp, E. (2014). Recursive partitioning for missing
    data imputation in the presence of interaction effects. Computational Statistics & Data
    Analysis 72, 92-104.
    Reiter, J. P. (2005). Using CART to generate partially synthetic public use microdata.
    Journal of Official Statistics 21(3), 441-462.
    Nowok, B., Raab, G. M., Dibben, C. (2016). synthpop: bespoke creation of synthetic data in
    R. Journal of Statistical Software 74(11).

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("iris")
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> imp = CARTImputer(random_state=0).fit(hidden)
    >>> imp.transform(hidden).isna().sum().sum()
    np.int64(0)
    >>> len(imp.sample(hidden, 5, random_state=1))
    5
    """

    name = "cart"
    capabilities = Capabilities(categorical=True, stochastic=True, out_of_sample=True,
                                generates=True)
    fast_params = {"n_iter": 2, "n_point_draws": 3, "random_state": 0}

    def __init__(self, n_iter: int = 5, min_samples_leaf: int = 5, ccp_alpha: float = 1e-4,
                 n_point_draws: int = 10, synthesis_ccp_alpha: float = 1e-8,
                 random_state=None) -> None:
        self.n_iter = n_iter
        self.min_samples_leaf = min_samples_leaf
        self.ccp_alpha = ccp_alpha
        self.n_point_draws = n_point_draws
        self.synthesis_ccp_alpha = synthesis_ccp_alpha
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        _positive_int(self.n_iter, "n_iter")
        _positive_int(self.min_samples_leaf, "min_samples_leaf")
        _positive_int(self.n_point_draws, "n_point_draws")
        for name in ("ccp_alpha", "synthesis_ccp_alpha"):
            a = getattr(self, name)
            if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(a) or a < 0:
                raise ImputebenchError(f"cart: {name} must be a finite number >= 0, got {a!r}")

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        self.train_ = self._encode(X)
        # Drawn once here so that transform is deterministic for a fitted model.
        self.point_seed_ = int(rng.integers(0, 2**63 - 1))

    # ------------------------------------------------------------------ impute
    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        point_rng = np.random.default_rng(self.point_seed_)
        chains = self._run_chains(X, int(self.n_point_draws), point_rng)
        stacked = np.stack(chains)  # (chains, rows, columns)
        out = np.empty(stacked.shape[1:], dtype=np.float64)
        rows = np.arange(out.shape[0])
        for j, col in enumerate(self.columns_):
            if self.kinds_[col] == NUMERIC:
                out[:, j] = stacked[:, :, j].mean(axis=0)
                continue
            counts = np.zeros((out.shape[0], len(self.dtypes_[col].categories)), dtype=np.int64)
            for chain in stacked[:, :, j].astype(np.int64):
                np.add.at(counts, (rows, chain), 1)
            out[:, j] = np.argmax(counts, axis=1)  # first maximum = first level in order
        return self._decode(out, X.index)

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        return [self._decode(z, X.index) for z in self._run_chains(X, n_draws, rng)]

    def _sample_rows(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """synthpop's sequential CART synthesis (class docstring)."""
        Z = self.train_
        if np.isnan(Z).any():
            Z = self._chain(Z.copy(), rng)
        out = np.empty((n, Z.shape[1]))
        out[:, 0] = Z[rng.integers(0, len(Z), n), 0]
        train_blocks = [self._block(Z[:, 0], 0)]
        syn_blocks = [self._block(out[:, 0], 0)]
        for j in range(1, Z.shape[1]):
            design, y = np.hstack(train_blocks), Z[:, j]
            tree = self._tree(j, y, rng, float(self.synthesis_ccp_alpha)).fit(design, y)
            donors = self._donors(tree.apply(design), tree.apply(np.hstack(syn_blocks)), rng)
            out[:, j] = y[donors]
            train_blocks.append(self._block(Z[:, j], j))
            syn_blocks.append(self._block(out[:, j], j))
        return self._decode(out, pd.RangeIndex(n))

    # ------------------------------------------------------------------ chains
    def _run_chains(self, X: pd.DataFrame, n_chains: int, rng: np.random.Generator
                    ) -> list[np.ndarray]:
        Z = self._encode(X)
        same = Z.shape == self.train_.shape and np.array_equal(Z, self.train_, equal_nan=True)
        if not same:
            Z = np.vstack([self.train_, Z])
        n_new = len(X)
        return [self._chain(Z.copy(), child)[-n_new:] for child in rng.spawn(n_chains)]

    def _chain(self, Z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        miss = np.isnan(Z)
        visit = [j for j in range(Z.shape[1]) if miss[:, j].any()]
        for j in visit:
            observed = Z[~miss[:, j], j]
            Z[miss[:, j], j] = observed[rng.integers(0, len(observed), miss[:, j].sum())]
        blocks = [self._block(Z[:, j], j) for j in range(Z.shape[1])]
        for _ in range(int(self.n_iter)):
            for j in visit:
                obs, mis = ~miss[:, j], miss[:, j]
                y = Z[obs, j]
                others = [blocks[k] for k in range(Z.shape[1]) if k != j]
                if others:
                    design = np.hstack(others)
                    tree = self._tree(j, y, rng).fit(design[obs], y)
                    leaf_obs, leaf_mis = tree.apply(design[obs]), tree.apply(design[mis])
                else:  # a one-column table: the tree is its root
                    leaf_obs = np.zeros(obs.sum(), dtype=np.int64)
                    leaf_mis = np.zeros(mis.sum(), dtype=np.int64)
                Z[mis, j] = y[self._donors(leaf_obs, leaf_mis, rng)]
                blocks[j] = self._block(Z[:, j], j)
        return Z

    @staticmethod
    def _donors(leaf_obs: np.ndarray, leaf_mis: np.ndarray, rng: np.random.Generator
                ) -> np.ndarray:
        """Index into the observed cases of one uniformly drawn donor per receiver's leaf."""
        order = np.argsort(leaf_obs, kind="stable")
        ordered = leaf_obs[order]
        start = np.searchsorted(ordered, leaf_mis, side="left")
        stop = np.searchsorted(ordered, leaf_mis, side="right")
        # Every leaf holds >= min_samples_leaf observed cases, so stop > start.
        pick = start + np.floor(rng.random(len(leaf_mis)) * (stop - start)).astype(np.int64)
        return order[np.minimum(pick, stop - 1)]

    def _tree(self, j: int, y: np.ndarray, rng: np.random.Generator, cp: float | None = None):
        cp = float(self.ccp_alpha) if cp is None else cp
        leaf = int(self.min_samples_leaf)
        common = dict(min_samples_leaf=leaf, min_samples_split=max(2, 3 * leaf),
                      random_state=int(rng.integers(0, 2**31 - 1)))
        if self.kinds_[self.columns_[j]] == NUMERIC:
            root = float(np.var(y))
            return DecisionTreeRegressor(ccp_alpha=cp * root, min_impurity_decrease=cp * root,
                                         **common)
        p = np.bincount(y.astype(np.int64)) / len(y)
        root = float(1.0 - np.sum(p * p))
        return DecisionTreeClassifier(ccp_alpha=cp * root, min_impurity_decrease=cp * root,
                                      **common)

    def _block(self, z: np.ndarray, j: int) -> np.ndarray:
        """Predictor columns for column ``j``: itself, its codes, or its one-hot levels."""
        col = self.columns_[j]
        if self.kinds_[col] == CATEGORICAL:
            k = len(self.dtypes_[col].categories)
            return np.eye(k)[z.astype(np.int64)]
        return z[:, None]

    # ------------------------------------------------------------------ encoding
    def _encode(self, X: pd.DataFrame) -> np.ndarray:
        """Float matrix: numeric values, level codes for categoricals, NaN where missing."""
        Z = np.empty(X.shape, dtype=np.float64)
        for j, col in enumerate(X.columns):
            if self.kinds_[col] == NUMERIC:
                Z[:, j] = X[col].to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                codes = X[col].cat.codes.to_numpy().astype(np.float64)
                codes[codes < 0] = np.nan
                Z[:, j] = codes
        return Z

    def _decode(self, Z: np.ndarray, index: pd.Index) -> pd.DataFrame:
        cols = {}
        for j, col in enumerate(self.columns_):
            if self.kinds_[col] == NUMERIC:
                cols[col] = Z[:, j]
            else:
                cols[col] = pd.Categorical.from_codes(Z[:, j].astype(np.int64),
                                                      dtype=self.dtypes_[col])
        return pd.DataFrame(cols, index=index)
