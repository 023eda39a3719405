"""The ``knn`` imputer: scikit-learn's numbers on numeric data, hand-computed answers on mixed
data, parameter checks, out-of-sample rows and chunking."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import KNNImputer
from sklearn.metrics.pairwise import nan_euclidean_distances

import imputebench.imputers.knn as knn_module
from imputebench.datasets import ImputebenchError, MaskSpec, load_dataset, make_mask
from imputebench.imputers import get_imputer

NAN = np.nan
SETTINGS = [(k, w) for k in (1, 3, 5) for w in ("uniform", "distance")]


def ours(df: pd.DataFrame, fit_on: pd.DataFrame | None = None, **params) -> np.ndarray:
    imp = get_imputer("knn", **params).fit(df if fit_on is None else fit_on)
    return imp.transform(df).to_numpy()


def sklearn_knn(X: np.ndarray, k: int, w: str, fit_on: np.ndarray | None = None) -> np.ndarray:
    sk = KNNImputer(n_neighbors=k, weights=w)
    return sk.fit(X if fit_on is None else fit_on).transform(X)


def numeric_frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X.astype(np.float64), columns=[f"x{j}" for j in range(X.shape[1])])


def count_boundary_ties(X: np.ndarray, k: int) -> int:
    """Receiver-column pairs whose k-th and (k+1)-th nearest donors are at the same distance:
    where the choice among tied donors decides the imputed value."""
    D = nan_euclidean_distances(X, X)
    ties = 0
    for j in range(X.shape[1]):
        donors = np.flatnonzero(~np.isnan(X[:, j]))
        for i in np.flatnonzero(np.isnan(X[:, j])):
            d = np.sort(D[i, donors])
            ties += int(len(d) > k and np.isfinite(d[k]) and d[k - 1] == d[k])
    return ties


# ------------------------------------------------------------------ equality with scikit-learn
@pytest.fixture(scope="module")
def breast_cancer_hidden() -> pd.DataFrame:
    df = load_dataset("breast_cancer")
    return df.mask(make_mask(df, MaskSpec("mcar", 0.3), 7))


@pytest.mark.parametrize(("k", "w"), SETTINGS)
def test_equals_sklearn_on_continuous_data(breast_cancer_hidden, k, w):
    h = breast_cancer_hidden
    got = ours(h, n_neighbors=k, weights=w, scale=None)
    want = sklearn_knn(h.to_numpy(), k, w)
    assert np.isnan(h.to_numpy()).mean() > 0.25
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("k", "w"), SETTINGS)
def test_equals_sklearn_on_integer_data_with_tied_distances(k, w):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 6, size=(400, 6)).astype(np.float64)
    X[rng.random(X.shape) < 0.3] = NAN
    # The same donors must be picked among ties, or the numbers would differ.
    assert count_boundary_ties(X, k) > 100
    np.testing.assert_array_equal(ours(numeric_frame(X), n_neighbors=k, weights=w, scale=None),
                                  sklearn_knn(X, k, w))


def test_equals_sklearn_with_more_than_64_columns():
    # Past 64 coordinates the common-coordinate count is a matrix product, not a popcount.
    rng = np.random.default_rng(4)
    X = rng.integers(0, 3, size=(150, 70)).astype(np.float64)
    X[rng.random(X.shape) < 0.5] = NAN
    X[0] = NAN
    np.testing.assert_array_equal(ours(numeric_frame(X), n_neighbors=3, scale=None),
                                  sklearn_knn(X, 3, "uniform"))


def test_equals_sklearn_on_letter(data_dir):
    path = data_dir / "gain" / "letter.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    X = pd.read_csv(path).to_numpy(dtype=np.float64)[:2000]
    X[np.random.default_rng(0).random(X.shape) < 0.2] = NAN
    # Large enough for the blocked, multi-threaded path.
    assert np.isnan(X).any(axis=1).sum() * len(X) >= knn_module._PARALLEL_PAIRS
    df = numeric_frame(X)
    for k, w in SETTINGS:
        np.testing.assert_array_equal(ours(df, n_neighbors=k, weights=w, scale=None),
                                      sklearn_knn(X, k, w), err_msg=f"k={k}, weights={w}")


@pytest.mark.parametrize(("k", "w"), SETTINGS)
def test_equals_sklearn_without_common_coordinates_and_on_empty_rows(k, w):
    X = np.array([
        [1.0, 2.0, NAN],
        [3.0, 4.0, NAN],
        [5.0, 6.5, NAN],
        [NAN, NAN, 5.0],   # shares no coordinate with any donor of x0: mean fallback
        [NAN, 1.0, 7.0],
        [NAN, NAN, NAN],   # fully missing: the column means
        [2.0, NAN, NAN],
    ])
    got = ours(numeric_frame(X), n_neighbors=k, weights=w, scale=None)
    np.testing.assert_array_equal(got, sklearn_knn(X, k, w))
    mean = np.nanmean(X, axis=0)
    assert got[3, 0] == pytest.approx(mean[0]) == pytest.approx((1 + 3 + 5 + 2) / 4)
    np.testing.assert_allclose(got[5], mean)
    # Row 3's only donor at a finite distance for x1 is row 4 (they share x2).
    assert got[3, 1] == 1.0


@pytest.mark.parametrize(("k", "w"), [(1, "uniform"), (5, "distance")])
def test_scale_std_equals_sklearn_on_the_zscored_table(breast_cancer_hidden, k, w):
    X = breast_cancer_hidden.to_numpy()
    mu, sd = np.nanmean(X, axis=0), np.nanstd(X, axis=0)   # population sd of observed cells
    want = sklearn_knn((X - mu) / sd, k, w) * sd + mu
    got = ours(breast_cancer_hidden, n_neighbors=k, weights=w)   # scale="std" is the default
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # Standardizing changes the neighbours on this table (column scales differ by 1e4).
    assert not np.allclose(got, ours(breast_cancer_hidden, n_neighbors=k, weights=w,
                                     scale=None))


def test_out_of_sample_rows_use_fitted_rows_as_donors(breast_cancer_hidden):
    train, test = breast_cancer_hidden.iloc[:400], breast_cancer_hidden.iloc[400:]
    for k, w in [(3, "uniform"), (5, "distance")]:
        got = ours(test, fit_on=train, n_neighbors=k, weights=w, scale=None)
        want = sklearn_knn(test.to_numpy(), k, w, fit_on=train.to_numpy())
        np.testing.assert_array_equal(got, want)
    # A new row copying a fitted row's observed cells takes that row's value (k=1).
    fit = numeric_frame(np.array([[0.0, 0.0, 10.0], [5.0, 5.0, 20.0], [9.0, 1.0, 30.0]]))
    new = numeric_frame(np.array([[5.0, 5.0, NAN], [9.0, 1.0, NAN]]))
    out = get_imputer("knn", n_neighbors=1, scale=None).fit(fit).transform(new)
    assert out["x2"].tolist() == [20.0, 30.0]


def test_tiny_working_memory_gives_identical_output(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.integers(0, 6, size=(1500, 5)).astype(np.float64)
    X[rng.random(X.shape) < 0.3] = NAN
    chunks = []
    real = knn_module._nan_distances

    def counting(a, *args, **kwargs):
        chunks.append(a.x0.shape[0])
        return real(a, *args, **kwargs)

    monkeypatch.setattr(knn_module, "_nan_distances", counting)
    for part in (X[:600], X):       # one thread; then the threaded, blocked path
        df = numeric_frame(part)
        chunks.clear()
        big = ours(df, n_neighbors=3, weights="distance", scale=None, working_memory=512)
        assert len(chunks) == 1
        chunks.clear()
        tiny = ours(df, n_neighbors=3, weights="distance", scale=None, working_memory=1)
        assert len(chunks) > 5 and sum(chunks) == np.isnan(part).any(axis=1).sum()
        np.testing.assert_array_equal(tiny, big)
    np.testing.assert_array_equal(big, sklearn_knn(X, 3, "distance"))


# ------------------------------------------------------------------ mixed data, by hand
def mixed(rows, order=("b", "a")) -> pd.DataFrame:
    """Columns x, y numeric and c categorical with the categories in ``order``."""
    x, y, c = zip(*rows, strict=True)
    return pd.DataFrame({"x": np.array(x, dtype=np.float64), "y": np.array(y, dtype=np.float64),
                         "c": pd.Categorical(c, categories=list(order))})


DONORS = [(0.0, 0.0, "a"), (1.0, 1.0, "a"), (2.0, 3.0, "b"), (10.0, 10.0, "b"),
          (11.0, 12.0, "b")]


def test_mixed_numeric_weighted_mean_by_hand():
    # Receiver (x=?, y=2, c=a): over y and c (2 of 3 coordinates) the squared sums are
    # r0: 4 + 0, r1: 1 + 0, r2: 1 + 1 (b != a), r3: 64 + 1, r4: 100 + 1; dist = sqrt(3/2 * sum).
    df = mixed(DONORS + [(None, 2.0, "a")])
    out = get_imputer("knn", n_neighbors=2, scale=None).fit(df).transform(df)
    assert out.loc[5, "x"] == pytest.approx((1.0 + 2.0) / 2)
    out = get_imputer("knn", n_neighbors=2, scale=None, weights="distance").fit(df).transform(df)
    w1, w2 = 1 / math.sqrt(1.5 * 1), 1 / math.sqrt(1.5 * 2)
    assert out.loc[5, "x"] == pytest.approx((1.0 * w1 + 2.0 * w2) / (w1 + w2), rel=1e-14)
    # Observed cells come back as they were.
    pd.testing.assert_frame_equal(out.iloc[:5], df.iloc[:5])


@pytest.mark.parametrize(("order", "weights", "expected"), [
    (("b", "a"), "uniform", "b"),    # 1 vote each: the first level in category order
    (("a", "b"), "uniform", "a"),
    (("b", "a"), "distance", "a"),   # r1 is nearer, so its vote weighs more
])
def test_mixed_categorical_vote_by_hand(order, weights, expected):
    # Receiver (1.4, 1.4, ?): squared sums r1 (a): 0.16 + 0.16, r2 (b): 0.36 + 2.56,
    # r0 (a): 1.96 + 1.96; the two nearest are r1 and r2.
    df = mixed(DONORS + [(1.4, 1.4, None)], order=order)
    out = get_imputer("knn", n_neighbors=2, scale=None, weights=weights).fit(df).transform(df)
    assert out.loc[5, "c"] == expected
    assert list(out["c"].cat.categories) == list(order)


@pytest.mark.parametrize(("cat_weight", "expected"), [(0.0, 2.0), (1.0, 2.0), (4.0, 1.0)])
def test_cat_weight_changes_the_neighbours(cat_weight, expected):
    # Receiver (?, 2.8, a): r1 (1, 1, a) is at 1.8^2 = 3.24; r2 (2, 3, b) at 0.2^2 +
    # cat_weight = 0.04 + cat_weight: nearer for cat_weight 0 and 1, farther for 4.
    df = mixed(DONORS + [(None, 2.8, "a")])
    imp = get_imputer("knn", n_neighbors=1, scale=None, cat_weight=cat_weight).fit(df)
    assert imp.transform(df).loc[5, "x"] == expected


def test_mixed_fallback_takes_the_mode_and_the_mean():
    df = pd.DataFrame({
        "x": [1.0, 2.0, 6.0, NAN, NAN],
        "c": pd.Categorical(["a", "b", "b", None, None], categories=["a", "b"]),
    })
    # Row 3 and 4 observe nothing: x takes the mean 3, c the mode "b".
    out = get_imputer("knn", n_neighbors=1).fit(df).transform(df)
    assert out.loc[3, "x"] == pytest.approx(3.0)
    assert out.loc[4, "c"] == "b"


def test_mixed_table_is_completed_with_categories_kept():
    df = load_dataset("penguins")
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 1))
    out = get_imputer("knn").fit(hidden).transform(hidden)
    assert not out.isna().any().any()
    for col in df.columns:
        assert out[col].dtype == df[col].dtype
    observed = hidden.notna().to_numpy()
    assert (out.astype(object).to_numpy()[observed] == hidden.astype(object).to_numpy()[observed]
            ).all()


def test_threaded_blocks_equal_one_piece_on_mixed_data(monkeypatch):
    # Two copies of each row, numeric columns rounded to integers: many tied distances, so
    # ties decide votes and means, and the arithmetic is exact whatever BLAS does.
    df = pd.concat([load_dataset("synthetic")] * 2, ignore_index=True)
    num = df.select_dtypes("float64").columns
    df[num] = np.round(df[num] * 2.0)
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.3), 2))
    assert hidden.isna().any(axis=1).sum() * len(df) >= knn_module._PARALLEL_PAIRS
    imp = get_imputer("knn", weights="distance", scale=None).fit(hidden)
    threaded = imp.transform(hidden)
    monkeypatch.setattr(knn_module, "_PARALLEL_PAIRS", 10**15)
    pd.testing.assert_frame_equal(imp.transform(hidden), threaded, check_exact=True)


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("params", [
    {"n_neighbors": 0}, {"n_neighbors": 2.5}, {"n_neighbors": True}, {"weights": "foo"},
    {"scale": "robust"}, {"cat_weight": -1.0}, {"cat_weight": float("nan")},
    {"working_memory": 0},
])
def test_bad_parameters_raise_at_fit(params):
    imp = get_imputer("knn", **params)       # the constructor only stores them
    df = numeric_frame(np.array([[1.0, NAN], [2.0, 3.0], [4.0, 5.0]]))
    with pytest.raises(ImputebenchError):
        imp.fit(df)


def test_n_neighbors_larger_than_the_donors_uses_them_all():
    df = numeric_frame(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, NAN]]))
    out = get_imputer("knn", n_neighbors=50, scale=None).fit(df).transform(df)
    assert out.loc[2, "x1"] == 15.0


# ------------------------------------------------------------------ draws
def test_draws_come_from_the_neighbours_with_their_weights():
    # Receiver (x=?, y=2, c=a): nearest r1 (x=1, dist sqrt(1.5)) and r2 (x=2, dist sqrt(3)).
    df = mixed(DONORS + [(None, 2.0, "a")])
    n = 4000
    w1, w2 = 1 / math.sqrt(1.5), 1 / math.sqrt(3)
    for weights, p1 in (("uniform", 0.5), ("distance", w1 / (w1 + w2))):
        imp = get_imputer("knn", n_neighbors=2, scale=None, weights=weights).fit(df)
        draws = imp.sample(df, n_draws=n, random_state=0)
        xs = np.array([d.loc[5, "x"] for d in draws])
        assert set(np.unique(xs)) == {1.0, 2.0}                 # only the two donors' values
        assert np.mean(xs == 1.0) == pytest.approx(p1, abs=5 * math.sqrt(p1 * (1 - p1) / n))
        # Their mean is the transform value.
        assert xs.mean() == pytest.approx(imp.transform(df).loc[5, "x"], abs=0.03)
        for d in draws[:20]:
            pd.testing.assert_frame_equal(d.iloc[:5], df.iloc[:5])


def test_categorical_draws_and_the_no_donor_fallback():
    # Receiver (1.4, 1.4, ?): donors r1 (a) and r2 (b), so both levels and nothing else.
    df = mixed(DONORS + [(1.4, 1.4, None), (None, None, None)])
    imp = get_imputer("knn", n_neighbors=2, scale=None).fit(df)
    draws = imp.sample(df, n_draws=400, random_state=1)
    cs = [d.loc[5, "c"] for d in draws]
    assert set(cs) == {"a", "b"}
    # Row 6 observes nothing: no donor at a finite distance, so any observed value of x.
    xs = {d.loc[6, "x"] for d in draws}
    assert xs == {0.0, 1.0, 2.0, 10.0, 11.0, 1.4}
    assert {d.loc[6, "c"] for d in draws} == {"a", "b"}


def test_draws_do_not_depend_on_chunks_or_threads(monkeypatch):
    df = pd.concat([load_dataset("synthetic")] * 2, ignore_index=True)
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.3), 2))
    assert hidden.isna().any(axis=1).sum() * len(df) >= knn_module._PARALLEL_PAIRS
    imp = get_imputer("knn", weights="distance").fit(hidden)
    threaded = imp.sample(hidden, n_draws=2, random_state=5)
    monkeypatch.setattr(knn_module, "_PARALLEL_PAIRS", 10**15)
    imp.set_params(working_memory=1)
    for a, b in zip(imp.sample(hidden, n_draws=2, random_state=5), threaded, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not threaded[0].equals(threaded[1])


def test_minmax_scale_equals_sklearn_on_minmax_scaled_data():
    """The kNNxKDE paper ran KNNImputer on min-max scaled data: scale="minmax" is that."""
    df = load_dataset("breast_cancer")
    hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.3), 7))
    lo, span = hidden.min(), hidden.max() - hidden.min()
    want = KNNImputer(n_neighbors=5).fit_transform(((hidden - lo) / span).to_numpy())
    want = want * span.to_numpy() + lo.to_numpy()
    got = get_imputer("knn", scale="minmax").fit(hidden).transform(hidden).to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
