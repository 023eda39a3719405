"""Downstream utility: what imputation costs a model trained on the imputed table (XGBoost)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import column_kinds
from imputebench.metrics.base import ALL, Goal, Metric, register_metric
from imputebench.metrics.tables import distinct

MIN_ROWS = 10
TEST_SHARE = 0.3
SEED = 0
# Fixed so that every cell, machine and rerun trains the same model on the same data. One
# thread: the harness runs cells in parallel processes, and XGBoost's OpenMP threads on a busy
# 2-core machine ran 70x slower than one thread (31 s vs 0.45 s for one fit).
XGB_PARAMS = {"max_depth": 6, "learning_rate": 0.1, "tree_method": "hist", "max_bin": 256,
              "n_jobs": 1, "random_state": 0}
ROUNDS = 100
TREE_BUDGET = 300      # k-class boosting grows k trees a round


def n_rounds(n_classes: int) -> int:
    """Boosting rounds: 100 for regression and binary targets, ``max(10, 300 // k)`` (at most
    100) for ``k > 2`` classes: about 300 trees a model, ``10 k`` past 30 classes."""
    return ROUNDS if n_classes <= 2 else min(ROUNDS, max(10, TREE_BUDGET // n_classes))


def _xgboost():
    try:
        import xgboost
    except Exception as exc:   # ImportError, or a broken native library
        raise ImputebenchError(
            f"the metric utility_xgb needs the package xgboost-cpu (pip install xgboost-cpu): "
            f"importing xgboost failed: {exc}") from exc
    return xgboost


def target_column(table: pd.DataFrame) -> str:
    """``table.attrs["target"]`` when it names a column of ``table``, else the last column."""
    target = table.attrs.get("target")
    if isinstance(target, str) and target in table.columns:
        return target
    return table.columns[-1]


def split_rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row positions: a permutation by ``default_rng(0)``, its first
    ``round(0.3 n)`` rows the test rows; both sorted."""
    perm = np.random.default_rng(SEED).permutation(n)
    n_test = round(TEST_SHARE * n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _levels(tables: list[pd.DataFrame], col) -> pd.Index:
    """The union of the tables' categories of ``col``, the first table's order first."""
    levels = tables[0][col].cat.categories
    for t in tables[1:]:
        levels = levels.append(t[col].cat.categories.difference(levels, sort=False))
    return levels


def _codes(s: pd.Series, levels: pd.Index) -> np.ndarray:
    if s.cat.categories.equals(levels):
        return s.cat.codes.to_numpy()
    return levels.get_indexer(np.asarray(s, dtype=object))


def _encode(tables: list[pd.DataFrame], target) -> tuple[str, list[pd.DataFrame], list[np.ndarray]]:
    """(task, feature frames, targets) with one encoding shared by all tables.

    Numeric columns are float64 (NaN kept); ordinal columns are their level codes as float64,
    so that splits follow the order; categorical columns are pandas ``category`` over the
    union of the tables' levels, for XGBoost's native categorical splits. Features are named
    ``f0, f1, ...`` (XGBoost forbids some characters in names). The target is float64
    (regression) or the level code over the union of levels, -1 when missing
    (classification, when the target column is categorical or ordinal).
    """
    kinds = column_kinds(tables[0])
    for t in tables[1:]:
        if list(t.columns) != list(tables[0].columns) or column_kinds(t) != kinds:
            raise ImputebenchError("the train and test tables need the same columns and kinds: "
                                   f"{column_kinds(t)} vs {kinds}")
    feats: list[dict] = [{} for _ in tables]
    ys: list[np.ndarray] = []
    for col, kind in kinds.items():
        if col == target:
            if kind == "numeric":
                ys = [t[col].to_numpy(dtype=np.float64, na_value=np.nan) for t in tables]
            else:
                levels = _levels(tables, col)
                ys = [_codes(t[col], levels) for t in tables]
            continue
        key = f"f{len(feats[0])}"
        if kind == "numeric":
            for f, t in zip(feats, tables, strict=True):
                f[key] = t[col].to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        levels = _levels(tables, col)
        for f, t in zip(feats, tables, strict=True):
            c = _codes(t[col], levels)
            if kind == "ordinal":
                f[key] = np.where(c >= 0, c, np.nan).astype(np.float64)
            else:
                f[key] = pd.Categorical.from_codes(c, categories=levels)
    task = "regression" if kinds[target] == "numeric" else "classification"
    return task, [pd.DataFrame(f) for f in feats], ys


def _known(y: np.ndarray, task: str) -> np.ndarray:
    return ~np.isnan(y) if task == "regression" else y >= 0


def _fit_predict(x: pd.DataFrame, y: np.ndarray, x_test: pd.DataFrame, task: str) -> np.ndarray:
    """Train on (x, y) (rows of known target only), predict ``x_test``."""
    xgb = _xgboost()
    keep = _known(y, task)
    x, y = x.loc[keep], y[keep]
    if task == "regression":
        model = xgb.XGBRegressor(n_estimators=ROUNDS, enable_categorical=True, **XGB_PARAMS)
        return model.fit(x, y).predict(x_test).astype(np.float64)
    classes = np.unique(y)
    if classes.size == 1:              # XGBoost needs two classes; any fit predicts this one
        return np.full(len(x_test), classes[0])
    model = xgb.XGBClassifier(n_estimators=n_rounds(classes.size), enable_categorical=True,
                              **XGB_PARAMS)
    # XGBoost wants labels 0..k-1: fit on the ranks of the classes present, map back.
    model.fit(x, np.searchsorted(classes, y))
    return classes[np.asarray(model.predict(x_test), dtype=np.int64)]


def _score(pred: np.ndarray, y: np.ndarray, task: str) -> float:
    if task == "classification":
        return float(np.mean(pred == y))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot


def utility_scores(train_table: pd.DataFrame, test_table: pd.DataFrame, target) -> float:
    """Score of XGBoost trained on ``train_table`` and tested on ``test_table``.

    The same model, encoding and score as :class:`UtilityXGB`: accuracy when ``target`` is a
    categorical or ordinal column, R^2 when numeric. Rows with a missing target are dropped
    from both tables; other NaN are left to XGBoost. Train on synthetic rows and test on real
    ones to get "train on synthetic, test on real" (TSTR, Esteban et al. 2017). A train table
    with a single class gives the constant prediction of that class.
    """
    for what, t in (("train", train_table), ("test", test_table)):
        if not isinstance(t, pd.DataFrame):
            raise ImputebenchError(f"the {what} table must be a DataFrame, got {type(t).__name__}")
    if target not in test_table.columns:
        raise ImputebenchError(f"target {target!r} is not a column of the tables: "
                               f"{list(test_table.columns)}")
    if test_table.shape[1] < 2:
        raise ImputebenchError("the tables have no feature column besides the target")
    # The test (real) table first: its category order leads the shared encoding.
    task, (x_test, x), (y_test, y) = _encode([test_table, train_table], target)
    known = _known(y_test, task)
    if not _known(y, task).any() or not known.any():
        raise ImputebenchError(f"no row with a known target {target!r} in the train or test table")
    if task == "regression" and np.ptp(y_test[known]) == 0:
        raise ImputebenchError(f"R^2 is undefined: the test target {target!r} is constant")
    pred = _fit_predict(x, y, x_test.loc[known], task)
    return _score(pred, y_test[known], task)


def _with_hidden(truth: pd.DataFrame, draw: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``truth`` with its hidden cells taken from ``draw``; source NaN stay NaN."""
    out = truth.copy()
    for j, col in enumerate(truth.columns):
        s = truth[col]
        m = mask[:, j] & s.notna().to_numpy()
        if not m.any():
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            d = draw[col]
            levels = s.cat.categories
            # An imputed level outside the truth's levels becomes NaN (-1).
            c = (_codes(d, levels) if isinstance(d.dtype, pd.CategoricalDtype)
                 else levels.get_indexer(np.asarray(d, dtype=object)))
            codes = s.cat.codes.to_numpy().copy()
            codes[m] = c[m]
            out[col] = pd.Categorical.from_codes(codes, dtype=s.dtype)
        else:
            v = s.to_numpy(dtype=np.float64, copy=True)
            v[m] = draw[col].to_numpy(dtype=np.float64, na_value=np.nan)[m]
            out[col] = v
    return out


@register_metric
class UtilityXGB(Metric):
    """Utility lost by imputation: XGBoost trained on the imputed table vs on complete data.

    Definition: "train XGBoost on the imputed table, score on held-out true rows, vs the same
    model on complete data". Exactly:

    * **target**: ``truth.attrs["target"]`` when it names a column, else the table's last
      column. A categorical or ordinal target is classification (``XGBClassifier``, binary or
      multi-class), a numeric one regression (``XGBRegressor``); the other columns are the
      features;
    * **split**: the rows are permuted by ``numpy.random.default_rng(0)`` (a fixed seed, so the
      split depends only on the number of rows); the first ``round(0.3 n)`` are the test rows,
      the other 70 % the train rows;
    * **test rows**: the *true* rows (``truth``, every cell as loaded), less those whose true
      target is missing in the source. Their hidden cells play no part;
    * **model A** is trained on the train rows of the imputed table: ``truth`` with its hidden
      cells taken from the draw. Cells missing in the source stay NaN (hidden or not) and
      observed cells are the true ones, so only the imputation of hidden cells differs from
      model B's data (an imputed target included); train rows whose target is missing (in the
      source, or an imputed level outside the truth's levels) are dropped;
    * **model B** ("complete data") is trained on the train rows of ``truth``: cells missing in
      the source stay NaN, which XGBoost handles natively (learned default directions);
    * **score**: accuracy (classification) or ``R^2 = 1 - SS_res / SS_tot`` (regression) on the
      test rows. ``__all__ = score(B) - mean over draws of score(A)``; the result also holds
      ``"imputed"`` (mean score of A) and ``"complete"`` (score of B).

    Draws: the mean over at most 5 draws that differ at a hidden cell
    (:func:`imputebench.metrics.tables.distinct`); a deterministic imputer's identical draws
    count once; one DataFrame is taken as one draw. Model B is trained once.

    Encoding: numeric columns as float64; nominal categorical columns as pandas ``category``
    with ``enable_categorical=True`` (XGBoost's native categorical splits, ``hist`` method);
    ordinal columns as their level codes (float64), so splits follow the order. A class
    target is fitted on the ranks ``0..k-1`` of the classes present in the train rows and
    predictions are mapped back; a class present only in the test rows is always missed.
    Model A on train rows of a single class predicts that class.
    Hyperparameters (fixed, for every table): ``max_depth=6, learning_rate=0.1,
    tree_method="hist", max_bin=256, n_jobs=1, random_state=0`` and ``n_estimators=100`` for
    a numeric or binary target; with ``k > 2`` classes XGBoost grows ``k`` trees a round, so
    ``n_estimators = min(100, max(10, 300 // k))`` (on adult's 8-, 14- and 41-class columns
    test accuracy is within 0.004 of 100 rounds' from 20-30 rounds on). One thread: cells run
    in parallel processes. XGBoost is deterministic on CPU, so equal training data give the
    same model and a perfect imputation (or one with no hidden cell in the train rows) scores
    exactly 0.

    Not applicable (``{}``): no hidden cell, fewer than 10 rows, no feature column, no test row
    with a known target, a numeric target constant over the test rows (R^2 undefined), a
    class target with a single class (or none) in the true train rows.

    Range and normalization: a loss in units of accuracy or R^2, to MINIMIZE. It can be
    slightly negative by chance (an imputation that happens to help the model), and above 1
    for a regression target (R^2 is unbounded below). ``normalize`` maps ``[0, 1]`` linearly
    to ``[1, 0]`` and clips: a loss <= 0 (nothing lost) is 1, a loss >= 1 (a whole unit of
    accuracy or R^2) is 0. Needs ``xgboost-cpu``, imported only here.

    References
    ----------
    T. Chen and C. Guestrin, "XGBoost: A scalable tree boosting system", KDD 2016.
    S. Jäger, A. Allhorn and F. Bießmann, "A benchmark for data imputation methods",
    Frontiers in Big Data 4, 2021 (downstream performance of a model trained on imputed data,
    tested on held-out data, against the same model without missing values).
    C. Esteban, S. L. Hyland and G. Rätsch, "Real-valued (medical) time series generation with
    recurrent conditional GANs", 2017 (train on synthetic, test on real: ``utility_scores``).

    Examples
    --------
    >>> from imputebench.metrics import get_metric
    >>> got = get_metric("utility_xgb").compute(truth, draws, mask)   # doctest: +SKIP
    >>> got["__all__"] == got["complete"] - got["imputed"]            # doctest: +SKIP
    True
    """

    name = "utility_xgb"
    goal = Goal.MINIMIZE
    min_value = 0.0
    max_value = 1.0
    level = "table"
    uses = "draws"
    kinds = frozenset({"numeric", "categorical", "ordinal"})
    max_draws: ClassVar[int] = 5
    definition = ("score(XGBoost trained on the true train rows) - score(XGBoost trained on the "
                  "imputed train rows), both tested on the true test rows (seeded 70/30 split); "
                  "accuracy for a categorical target, R^2 for a numeric one; target = "
                  "attrs['target'] or the last column; mean over <= 5 distinct draws")
    reference = ("Chen & Guestrin 2016 (XGBoost); Jäger, Allhorn & Bießmann 2021 "
                 "(downstream utility of imputation)")

    def compute(self, truth: pd.DataFrame, imputed, mask: np.ndarray) -> dict[str, float]:
        draws = [imputed] if isinstance(imputed, pd.DataFrame) else list(imputed)
        if not draws:
            raise ValueError("no draws to score")
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != truth.shape:
            raise ImputebenchError(f"mask shape {mask.shape} differs from the table's "
                                   f"{truth.shape}")
        for d in draws:
            if not isinstance(d, pd.DataFrame) or list(d.columns) != list(truth.columns) \
                    or len(d) != len(truth):
                raise ImputebenchError("every draw must be a DataFrame with the truth's columns "
                                       "and rows")
        if not mask.any() or len(truth) < MIN_ROWS or truth.shape[1] < 2:
            return {}
        target = target_column(truth)
        train, test = split_rows(len(truth))
        task, (x_true, ), (y_true, ) = _encode([truth], target)
        known_test = _known(y_true[test], task)
        y_test = y_true[test][known_test]
        if y_test.size == 0:
            return {}
        if task == "regression" and np.ptp(y_test) == 0:
            return {}
        y_train = y_true[train][_known(y_true[train], task)]
        if y_train.size == 0 or (task == "classification" and np.unique(y_train).size < 2):
            return {}
        x_test = x_true.iloc[test].loc[known_test]
        complete = _score(_fit_predict(x_true.iloc[train], y_true[train], x_test, task),
                          y_test, task)
        scores = []
        for d in distinct(draws, mask, self.max_draws):
            rows = _with_hidden(truth.iloc[train], d.iloc[train], mask[train])
            _, (x, ), (y, ) = _encode([rows], target)
            scores.append(_score(_fit_predict(x, y, x_test, task), y_test, task))
        imputed_score = float(np.mean(scores))
        return {ALL: complete - imputed_score, "imputed": imputed_score, "complete": complete}
