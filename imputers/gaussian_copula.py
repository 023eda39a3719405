"""Gaussian copula imputation for mixed tables (Zhao & Udell, KDD 2020)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import NUMERIC, ORDINAL
from imputebench.imputers._copula_core import Latent, conditional, draw, fit_correlation
from imputebench.imputers.base import Capabilities, Imputer, register_imputer


@dataclass
class _Marginal:
    """One source column's marginal and its latent columns.

    ``kind`` is ``"continuous"`` (``values``: the sorted observed values), ``"ordinal"``
    (``values``: the observed levels, as floats for numeric columns or category codes;
    ``cuts``: latent cut points between them) or ``"nominal"`` (``values``: the observed
    category codes, one latent indicator each; ``cuts``: each indicator's threshold).
    """

    kind: str
    values: np.ndarray
    cuts: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def width(self) -> int:
        return len(self.values) if self.kind == "nominal" else 1

    def to_latent(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) of shape (n, width); NaN where ``x`` is NaN."""
        miss = np.isnan(x)
        xv = np.where(miss, self.values[0], x)
        if self.kind == "continuous":
            n = len(self.values)
            u = np.searchsorted(self.values, xv, side="right") / (n + 1.0)
            z = ndtri(np.clip(u, 0.5 / (n + 1.0), n / (n + 1.0)))
            lo = hi = z[:, None]
        elif self.kind == "ordinal":
            ext = np.r_[-np.inf, self.cuts, np.inf]
            k = np.clip(np.searchsorted(self.values, xv, side="right") - 1, 0, len(self.values) - 1)
            lo, hi = ext[k][:, None], ext[k + 1][:, None]
        else:
            on = xv[:, None] == self.values[None, :]
            t = np.broadcast_to(self.cuts, on.shape)
            lo, hi = np.where(on, t, -np.inf), np.where(on, np.inf, t)
        nan = np.where(miss[:, None], np.nan, 0.0)
        return lo + nan, hi + nan

    def from_latent(self, z: np.ndarray, var: np.ndarray | None = None) -> np.ndarray:
        """Values from latent values (n, width); for nominal columns ``var`` (conditional
        variances) turns the means into probabilities that each indicator is on."""
        if self.kind == "continuous":
            pos = ndtr(z[:, 0]) * (len(self.values) - 1)
            return np.interp(pos, np.arange(len(self.values)), self.values)
        if self.kind == "ordinal":
            return self.values[np.searchsorted(self.cuts, z[:, 0], side="left")]
        if var is None:           # a draw: the indicator furthest above its threshold
            score = z - self.cuts
        else:                     # a point: the indicator most probably on
            sd = np.sqrt(var)
            gap = z - self.cuts
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.where(sd > 0, ndtr(gap / np.where(sd > 0, sd, 1.0)),
                                 (gap > 0).astype(float))
        return self.values[np.argmax(score, axis=1)]


@register_imputer
class GaussianCopulaImputer(Imputer):
    """Gaussian copula imputation: a latent Gaussian with empirical marginals, fitted by EM.

    Each column ``x_j = F_j^{-1}(Phi(z_j))`` of a latent ``z ~ N(0, Sigma)`` with ``Sigma`` a
    correlation matrix (Zhao & Udell, 2020).

    Marginals. A continuous column maps its observed values to normal scores
    ``z = Phi^-1(n / (n + 1) * F_n(x))`` (``F_n`` the empirical CDF of the ``n`` observed values)
    and back through the empirical quantile function (linear interpolation). An ordinal column is
    an interval-censored latent normal with cut points ``Phi^-1`` of the cumulative observed
    proportions; a level maps back from the interval that contains the latent value. Ordinal
    columns are the ordered-category columns and, as in the authors' package ``gcimpute``,
    numeric columns whose most frequent value covers at least ``min_ord_ratio`` of the observed
    cells (so every numeric column with at most ten distinct values at the default 0.1,
    integer counts and constant columns included). Levels never observed are never imputed.

    Nominal columns. The paper's copula has no unordered variables, and ordering categories by
    their labels would invent an order. A nominal column with at most two observed levels is a
    binary ordinal (the order of two levels is immaterial; the model is symmetric in it). With
    ``K >= 3`` levels it is one-hot coded into ``K`` binary latent indicators, indicator ``k``
    "on" above the threshold ``Phi^-1(1 - p_k)`` (``p_k`` the level's observed share).
    ``transform`` returns the level whose indicator is most probably on given the observed cells;
    a draw returns the level whose drawn indicator is furthest above its threshold. The
    indicators are exclusive, which a Gaussian cannot be exactly, so the latent correlation is
    kept at least ``1e-3`` away from singular by shrinking towards the identity when needed.

    Fit: the paper's approximate EM. Observed ordinal latents get truncated-normal conditional
    means and variances given the other observed latents (``num_ord_updates`` sweeps per
    iteration), missing latents their Gaussian conditional; ``Sigma`` is the expected second
    moment rescaled to a correlation, until the relative change is below ``tol`` or ``max_iter``
    iterations. ``transform`` maps the conditional mean ``E[z_mis | obs]`` back through the
    marginals; ``sample`` draws ``z_mis`` from the Gaussian conditional (with the observed
    ordinal latents' spread inside their intervals propagated linearly) and maps the draws back.

    Parameters
    ----------
    max_iter : int
        Maximum EM iterations (paper and ``gcimpute`` default 50).
    tol : float
        Stop when ``||Sigma_new - Sigma||_F / ||Sigma||_F < tol`` (``gcimpute`` default 0.01).
    num_ord_updates : int
        Sweeps of the truncated-normal update of observed ordinal latents per E-step (and in
        ``transform``).
    min_ord_ratio : float in (0, 1]
        A numeric column is ordinal when its most frequent value has at least this share.
    random_state : None, int or numpy Generator
        Unused by ``fit`` and ``transform`` (both deterministic); ``sample`` takes its own.

    **Synthesis** (``sample_rows``): whole rows are ``z ~ N(0, correlation_)`` mapped through
    the fitted marginals (continuous: the empirical quantile function, interpolated; ordinal:
    the cut points; nominal: the indicator furthest above its threshold), the generative model
    of the copula as fitted by the EM above; SDV's ``GaussianCopulaSynthesizer`` is the same
    model family with parametric marginals.

    Attributes
    ----------
    correlation_ : ndarray
        The fitted latent correlation (one row per latent column: one per column, ``K`` per
        nominal column with ``K >= 3`` levels).
    latent_columns_ : list of (column, level or None)
    column_types_ : dict
        ``"continuous"``, ``"ordinal"`` or ``"nominal"`` per column.
    n_iter_ : int

    References
    ----------
    Zhao, Y., Udell, M. (2020). Missing value imputation for mixed data via Gaussian copula.
    KDD 2020, 636-646. Zhao, Y., Landgrebe, A., Shekhtman, E., Udell, M. (2024). gcimpute: A
    package for missing data imputation. Journal of Statistical Software 108(4).

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("penguins")
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> imp = GaussianCopulaImputer().fit(hidden)
    >>> imp.transform(hidden).isna().any().any()
    np.False_
    >>> len(imp.sample(hidden, n_draws=3, random_state=0))
    3
    """

    name = "gaussian_copula"
    capabilities = Capabilities(categorical=True, stochastic=True, generates=True)
    fast_params = {"max_iter": 5}

    def __init__(self, max_iter: int = 50, tol: float = 0.01, num_ord_updates: int = 1,
                 min_ord_ratio: float = 0.1, random_state=None) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.num_ord_updates = num_ord_updates
        self.min_ord_ratio = min_ord_ratio
        self.random_state = random_state

    def _check_params(self) -> None:
        for pname in ("max_iter", "num_ord_updates"):
            v = getattr(self, pname)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ImputebenchError(f"gaussian_copula: {pname} must be a positive integer, "
                                       f"got {v!r}")
        for pname, hi in (("tol", np.inf), ("min_ord_ratio", 1.0)):
            v = getattr(self, pname)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not (0 < v <= hi) or not np.isfinite(v):
                what = "a finite number > 0" if pname == "tol" else "a number in (0, 1]"
                raise ImputebenchError(f"gaussian_copula: {pname} must be {what}, got {v!r}")

    def _marginal(self, s: pd.Series, kind: str) -> _Marginal:
        if kind == NUMERIC:
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            x = x[~np.isnan(x)]
            levels, counts = np.unique(x, return_counts=True)
            if counts.max() / len(x) < self.min_ord_ratio:
                return _Marginal("continuous", np.sort(x))
        else:
            codes = s.cat.codes.to_numpy()
            levels, counts = np.unique(codes[codes >= 0], return_counts=True)
            levels = levels.astype(np.float64)
            if kind != ORDINAL and len(levels) >= 3:
                return _Marginal("nominal", levels, ndtri(1.0 - counts / counts.sum()))
        cum = np.cumsum(counts)[:-1] / counts.sum()
        return _Marginal("ordinal", levels, ndtri(cum))

    def _latent(self, X: pd.DataFrame) -> Latent:
        los, his = [], []
        for col, marg in zip(self.columns_, self.marginals_, strict=True):
            s = X[col]
            x = (s.to_numpy(dtype=np.float64, na_value=np.nan) if self.kinds_[col] == NUMERIC
                 else np.where(s.isna().to_numpy(), np.nan, s.cat.codes.to_numpy()))
            lo, hi = marg.to_latent(x.astype(np.float64))
            los.append(lo)
            his.append(hi)
        return Latent(np.hstack(los), np.hstack(his), self.is_ord_)

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        self.marginals_ = [self._marginal(X[c], kinds[c]) for c in self.columns_]
        self.column_types_ = {c: m.kind for c, m in zip(self.columns_, self.marginals_,
                                                          strict=True)}
        self.latent_columns_ = []
        for col, m in zip(self.columns_, self.marginals_, strict=True):
            if m.kind == "nominal":
                cats = X[col].cat.categories
                self.latent_columns_ += [(col, cats[int(k)]) for k in m.values]
            else:
                self.latent_columns_.append((col, None))
        self.is_ord_ = np.array([m.kind != "continuous" for m in self.marginals_
                                 for _ in range(m.width)])
        self.correlation_, _, self.n_iter_ = fit_correlation(
            self._latent(X), int(self.max_iter), float(self.tol), int(self.num_ord_updates))

    def _to_frame(self, X: pd.DataFrame, z: np.ndarray, var: np.ndarray | None) -> pd.DataFrame:
        out, start = {}, 0
        for col, m in zip(self.columns_, self.marginals_, strict=True):
            sl = slice(start, start + m.width)
            start += m.width
            vals = m.from_latent(z[:, sl], None if var is None else var[:, sl])
            if self.kinds_[col] == NUMERIC:
                out[col] = vals
            else:
                out[col] = pd.Categorical.from_codes(vals.astype(np.int64),
                                                     dtype=self.dtypes_[col])
        return pd.DataFrame(out, index=X.index)

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        mean, var, _ = conditional(self._latent(X), self.correlation_, int(self.num_ord_updates))
        return self._to_frame(X, mean, var)

    def _sample_rows(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """Whole rows: ``z ~ N(0, correlation_)`` mapped through the fitted marginals."""
        z = rng.multivariate_normal(np.zeros(len(self.correlation_)), self.correlation_, n,
                                    method="eigh")
        return self._to_frame(pd.DataFrame(index=pd.RangeIndex(n)), z, None)

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        mean, _, patterns = conditional(self._latent(X), self.correlation_,
                                        int(self.num_ord_updates))
        return [self._to_frame(X, z, None) for z in draw(mean, patterns, n_draws, rng)]
