"""Missingness mechanisms (DESIGN.md §7): ``MaskSpec`` and ``make_mask``.

Each mechanism reproduces one published definition exactly and is named for it. A mask is a
boolean array, True where a cell is *hidden by us*; cells already missing in the source are never
hidden again, so every mechanism ends with ``mask &= observed``. ``rate`` is read as each paper
reads it (see each function); the harness records the achieved rate of every mask.

Mechanisms (Muzellec, Josse, Boyer & Cuturi, "Missing Data Imputation using Optimal Transport",
ICML 2020, and their code BorisMuzellec/MissingDataOT, unless stated):

``mcar``
    Every observed cell hidden independently with probability ``rate``.
``full_mcar``
    Lalande & Doya, TMLR 2023 (kNNxKDE): as ``mcar``, but a row whose every observed cell would be
    hidden is redrawn until one stays.
``mar``
    A random ``max(int(p_obs * d), 1)`` columns stay fully observed and are the inputs of a
    logistic model with random N(0, 1) weights, rescaled so that the linear score has unit
    variance; each other column gets its own weights and an intercept found by bisection so that
    its mean missing probability is ``rate``. With ``scope="columns"`` (the paper's) the rate
    holds on the masked columns only, so the table loses ``rate * d_na / d`` of its cells; with
    ``scope="table"`` the column rate is ``rate * d / d_na`` so the whole table loses ``rate``
    (an error when that exceeds 1). Inputs are drawn among columns with no source NaN when
    there are enough of them.
``mnar_logistic``
    As ``mar`` with ``max(int(p_params * d), 1)`` input columns, but the inputs are then
    themselves hidden completely at random with probability ``rate`` (``exclude_inputs=True``,
    the paper's default), so missingness depends on values that can be missing. With
    ``exclude_inputs=False`` every column is both input and masked.
``mnar_self_logistic``
    Self-masking: column ``j`` is hidden with probability ``sigmoid(w_j x_j + b_j)``, ``w_j``
    random and rescaled to unit score variance, ``b_j`` fitted so the mean probability is ``rate``.
``mnar_quantile``
    ``max(int(p_params * d), 1)`` random columns; a value beyond the column's ``q``-quantile
    (``cut="upper"``), below its ``1 - q`` quantile (``"lower"``) or either (``"both"``) is hidden
    with probability ``rate``. The table rate is therefore about ``rate * (1 - q) * d_na / d``
    (twice that for ``"both"``): this mechanism promises no table rate. ``q`` is the quantile
    level of the cut, as in MissingDataOT when its experiments ran (commit 3953f5b:
    ``q_mnar=0.75``, quartile tails); its later ``utils.py`` (8c0a651) reads ``q`` as the tail
    share, i.e. ``1 - q`` here. Those experiments use ``p_params = 1 - p_obs = 0.7`` here.

Choices the paper leaves open (numeric-only there): logistic inputs are standardized; a NaN input
enters as the column mean (0); an ordinal column enters by its standardized level codes; a nominal
categorical column enters as a random N(0, 1) score per level (a random linear function of its
one-hot encoding), standardized. ``mnar_quantile`` draws its columns among numeric and ordinal
columns only (quantiles of a nominal column mean nothing).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from imputebench.datasets.errors import ImputebenchError, unknown_name
from imputebench.datasets.schema import NUMERIC, ORDINAL, column_kinds

_PARAMS_USED = {
    "mcar": (),
    "full_mcar": (),
    "mar": ("p_obs", "scope"),
    "mnar_logistic": ("p_params", "exclude_inputs"),
    "mnar_self_logistic": (),
    "mnar_quantile": ("p_params", "q", "cut"),
}


@dataclass(frozen=True)
class MaskSpec:
    """What to hide: a mechanism, a rate and the mechanism's own parameters.

    Parameters not used by ``mechanism`` are ignored and left out of :meth:`to_dict` (so they
    never change a cell's identity or seed).
    """

    mechanism: str = "mcar"
    rate: float = 0.2
    p_obs: float = 0.3
    p_params: float = 0.3
    exclude_inputs: bool = True
    q: float = 0.75
    cut: str = "both"
    scope: str = "columns"

    def __post_init__(self) -> None:
        if not isinstance(self.mechanism, str) or self.mechanism not in _PARAMS_USED:
            raise unknown_name("missingness mechanism", self.mechanism, _PARAMS_USED)
        for name in ("rate", "p_obs", "p_params", "q"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ImputebenchError(f"mask {name} must be a number, got {v!r}")
            # Plain floats, so that numpy scalars give the same to_dict() (a cell's identity).
            object.__setattr__(self, name, float(v))
        for name in ("rate", "p_obs", "p_params"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                raise ImputebenchError(f"mask {name} must lie strictly between 0 and 1, got {v!r}")
        if not 0.5 <= self.q < 1.0:
            raise ImputebenchError(f"mask quantile q must lie in [0.5, 1), got {self.q!r}")
        if self.cut not in ("both", "upper", "lower"):
            raise ImputebenchError(f"mask cut must be 'both', 'upper' or 'lower', got {self.cut!r}")
        if self.scope not in ("columns", "table"):
            raise ImputebenchError(f"mask scope must be 'columns' or 'table', got {self.scope!r}")
        if not isinstance(self.exclude_inputs, bool):
            raise ImputebenchError(f"mask exclude_inputs must be true or false, got "
                                   f"{self.exclude_inputs!r}")

    @classmethod
    def from_dict(cls, d: dict) -> MaskSpec:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise unknown_name("mask parameter", sorted(unknown)[0], names)
        return cls(**d)

    def to_dict(self) -> dict:
        """The fields that define this mask (mechanism, rate and the parameters it uses)."""
        full = asdict(self)
        keep = ("mechanism", "rate", *_PARAMS_USED[self.mechanism])
        return {k: full[k] for k in keep}

    def label(self) -> str:
        defaults = {f.name: f.default for f in fields(self)}
        extra = ",".join(f"{k}={v}" for k, v in self.to_dict().items()
                         if k not in ("mechanism", "rate") and v != defaults[k])
        return f"{self.mechanism}({self.rate:g}{',' + extra if extra else ''})"


def available_mechanisms() -> list[str]:
    return sorted(_PARAMS_USED)


def make_mask(df: pd.DataFrame, spec: MaskSpec, rng: np.random.Generator | int | None = None
              ) -> np.ndarray:
    """Draw the cells to hide. Returns a bool array of ``df.shape``, never True on a source NaN.

    Same ``df``, ``spec`` and seed give the same mask.
    """
    if not isinstance(spec, MaskSpec):
        raise ImputebenchError(f"spec must be a MaskSpec, got {type(spec).__name__}")
    if not isinstance(df, pd.DataFrame):
        raise ImputebenchError(f"can only mask a pandas DataFrame, got {type(df).__name__}")
    if not df.columns.is_unique:
        # Columns are matched to their kinds by name: duplicates would misalign them.
        dup = df.columns[df.columns.duplicated()].tolist()
        raise ImputebenchError(f"cannot mask a table with duplicate column names: {dup}")
    rng = np.random.default_rng(rng)
    observed = df.notna().to_numpy()
    if not observed.any():
        raise ImputebenchError("cannot mask a table with no observed cell")
    mask = _MECHANISMS[spec.mechanism](df, observed, spec, rng)
    return mask & observed


def achieved_rate(df: pd.DataFrame, mask: np.ndarray) -> float:
    """Share of the source-observed cells that the mask hides."""
    observed = df.notna().to_numpy()
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != observed.shape:
        raise ImputebenchError(f"mask shape {mask.shape} does not match the table's "
                               f"{observed.shape}")
    if not observed.any():
        raise ImputebenchError("the table has no observed cell: no rate to report")
    return float(mask[observed].mean())


# --------------------------------------------------------------------------------------------
# helpers


def _scores(df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Standardized numeric representation of every column, NaN -> 0 (see module docstring)."""
    kinds = column_kinds(df)
    out = np.zeros(df.shape, dtype=np.float64)
    for j, (col, kind) in enumerate(kinds.items()):
        s = df[col]
        if kind == NUMERIC:
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        elif kind == ORDINAL:
            codes = s.cat.codes.to_numpy().astype(np.float64)
            x = np.where(codes < 0, np.nan, codes)
        else:
            level_score = rng.standard_normal(len(s.cat.categories))
            codes = s.cat.codes.to_numpy()
            x = np.where(codes < 0, np.nan, level_score[np.clip(codes, 0, None)])
        mu = np.nanmean(x) if np.isfinite(x).any() else 0.0
        sd = np.nanstd(x) if np.isfinite(x).any() else 0.0
        z = (x - mu) / sd if sd > 0 else x - mu
        out[:, j] = np.nan_to_num(z, nan=0.0)
    return out


def _unit_variance_coeffs(inputs: np.ndarray, n_out: int, rng: np.random.Generator) -> np.ndarray:
    w = rng.standard_normal((inputs.shape[1], n_out))
    sd = (inputs @ w).std(axis=0)
    return w / np.where(sd > 0, sd, 1.0)


def _fit_intercept(score: np.ndarray, p: float) -> float:
    """Intercept b with mean(sigmoid(score + b)) == p (bisection-type root finding)."""
    def f(b: float) -> float:
        return float(expit(score + b).mean() - p)
    return float(brentq(f, -50.0 - np.abs(score).max(), 50.0 + np.abs(score).max(), xtol=1e-10))


def _logistic_probs(inputs: np.ndarray, n_out: int, p: float, rng: np.random.Generator
                    ) -> np.ndarray:
    w = _unit_variance_coeffs(inputs, n_out, rng)
    scores = inputs @ w
    b = np.array([_fit_intercept(scores[:, k], p) for k in range(n_out)])
    return expit(scores + b)


def _choose_inputs(observed: np.ndarray, n_inputs: int, rng: np.random.Generator) -> np.ndarray:
    """Random input columns, preferring columns with no source NaN."""
    d = observed.shape[1]
    complete = np.flatnonzero(observed.all(axis=0))
    others = np.setdiff1d(np.arange(d), complete)
    order = np.concatenate([rng.permutation(complete), rng.permutation(others)])
    return np.sort(order[:n_inputs])


def _need_columns(df: pd.DataFrame, spec: MaskSpec) -> None:
    if df.shape[1] < 2:
        raise ImputebenchError(f"mechanism {spec.mechanism!r} needs at least 2 columns "
                               f"(inputs and masked ones); the table has {df.shape[1]}")


# --------------------------------------------------------------------------------------------
# mechanisms


def _mcar(df, observed, spec, rng):
    return rng.random(df.shape) < spec.rate


def _full_mcar(df, observed, spec, rng):
    mask = rng.random(df.shape) < spec.rate
    has_obs = observed.any(axis=1)
    for _ in range(10_000):
        bad = has_obs & ~((~mask) & observed).any(axis=1)
        if not bad.any():
            return mask
        mask[bad] = rng.random((int(bad.sum()), df.shape[1])) < spec.rate
    raise ImputebenchError(f"full_mcar cannot keep a cell in every row at rate {spec.rate}")


def _mar(df, observed, spec, rng):
    _need_columns(df, spec)
    n, d = df.shape
    d_obs = max(int(spec.p_obs * d), 1)
    d_na = d - d_obs
    rate = spec.rate
    if spec.scope == "table":
        rate = spec.rate * d / d_na
        if rate >= 1.0:
            raise ImputebenchError(
                f"mar cannot reach a table rate of {spec.rate}: {d_obs} of {d} columns stay "
                f"observed, so the others would need a rate of {rate:.2f} >= 1 "
                f"(lower the rate or p_obs)")
    inputs_idx = _choose_inputs(observed, d_obs, rng)
    na_idx = np.setdiff1d(np.arange(d), inputs_idx)
    x = _scores(df, rng)
    probs = _logistic_probs(x[:, inputs_idx], d_na, rate, rng)
    mask = np.zeros((n, d), dtype=bool)
    mask[:, na_idx] = rng.random((n, d_na)) < probs
    return mask


def _mnar_logistic(df, observed, spec, rng):
    n, d = df.shape
    x = _scores(df, rng)
    mask = np.zeros((n, d), dtype=bool)
    if spec.exclude_inputs:
        _need_columns(df, spec)
        d_params = max(int(spec.p_params * d), 1)
        inputs_idx = np.sort(rng.permutation(d)[:d_params])
        na_idx = np.setdiff1d(np.arange(d), inputs_idx)
    else:
        inputs_idx = na_idx = np.arange(d)
    probs = _logistic_probs(x[:, inputs_idx], len(na_idx), spec.rate, rng)
    mask[:, na_idx] = rng.random((n, len(na_idx))) < probs
    if spec.exclude_inputs:
        mask[:, inputs_idx] = rng.random((n, len(inputs_idx))) < spec.rate
    return mask


def _mnar_self_logistic(df, observed, spec, rng):
    n, d = df.shape
    x = _scores(df, rng)
    w = rng.standard_normal(d)
    sd = (x * w).std(axis=0)
    w = w / np.where(sd > 0, sd, 1.0)
    scores = x * w
    b = np.array([_fit_intercept(scores[:, j], spec.rate) for j in range(d)])
    return rng.random((n, d)) < expit(scores + b)


def _mnar_quantile(df, observed, spec, rng):
    n, d = df.shape
    kinds = list(column_kinds(df).values())
    # A column with no observed value has no quantile (and nothing to hide).
    has_obs = observed.any(axis=0)
    ordered = np.array([j for j, k in enumerate(kinds) if k in (NUMERIC, ORDINAL) and has_obs[j]])
    if len(ordered) == 0:
        raise ImputebenchError("mnar_quantile needs a numeric or ordinal column with an observed "
                               "value; the table has none")
    d_na = min(max(int(spec.p_params * d), 1), len(ordered))
    cols = np.sort(rng.permutation(ordered)[:d_na])
    mask = np.zeros((n, d), dtype=bool)
    for j in cols:
        s = df.iloc[:, j]
        if kinds[j] == ORDINAL:
            codes = s.cat.codes.to_numpy().astype(np.float64)
            x = np.where(codes < 0, np.nan, codes)
        else:
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        lo, hi = np.nanquantile(x, 1.0 - spec.q), np.nanquantile(x, spec.q)
        with np.errstate(invalid="ignore"):
            beyond = {"upper": x >= hi, "lower": x <= lo, "both": (x <= lo) | (x >= hi)}[spec.cut]
        mask[:, j] = beyond & (rng.random(n) < spec.rate)
    return mask


_MECHANISMS: dict[str, Callable] = {
    "mcar": _mcar,
    "full_mcar": _full_mcar,
    "mar": _mar,
    "mnar_logistic": _mnar_logistic,
    "mnar_self_logistic": _mnar_self_logistic,
    "mnar_quantile": _mnar_quantile,
}
