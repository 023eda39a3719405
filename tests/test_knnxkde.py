"""kNNxKDE: exact expectations by hand, Monte-Carlo laws, known answers, fallbacks, reference."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import make_typed
from imputebench.imputers import get_imputer
from imputebench.imputers._torch import cuda_available

BACKENDS = ["numpy", pytest.param("torch", marks=pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is not installed"))]

REFERENCE = Path(os.environ.get("KNNXKDE_REFERENCE", "/tmp/knnxkde_ref")) / "knnxkde.py"


def _tiny() -> pd.DataFrame:
    # Rows 0-3 donate to row 5 (which misses b); row 4 misses c, so it donates too, with the
    # variance of c standing in for the coordinate it lacks.
    return pd.DataFrame({
        "a": [0.0, 1.0, 2.0, 4.0, 3.0, 2.5],
        "b": [10.0, 12.0, 11.0, 20.0, 15.0, np.nan],
        "c": [1.0, 0.0, 1.0, 0.5, np.nan, 0.8],
    })


def _by_hand(df: pd.DataFrame, tau: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Weights, donor b values (scaled), b's min and range, for receiver row 5."""
    lo, span = df.min(), df.max() - df.min()
    z = (df - lo) / span
    var = z.var(ddof=0)  # population variance of observed scaled cells
    rec = z.iloc[5]
    d2 = []
    for j in range(5):
        don = z.iloc[j]
        s = var["b"]  # b: missing at the receiver
        s += (rec["a"] - don["a"]) ** 2
        s += var["c"] if np.isnan(don["c"]) else (rec["c"] - don["c"]) ** 2
        d2.append(s)
    w = softmax(-np.sqrt(d2) / tau)
    return w, z["b"].iloc[:5].to_numpy(), lo["b"], span["b"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tau", [1 / 50, 0.3])
def test_transform_is_the_exact_softmax_weighted_mean(tau, backend):
    df = _tiny()
    w, vals, lo, span = _by_hand(df, tau)
    imp = get_imputer("knnxkde", tau=tau, backend=backend).fit(df)
    out = imp.transform(df)
    assert out.loc[5, "b"] == pytest.approx(lo + span * (w @ vals), rel=1e-12)
    assert imp.n_fallback_cells_ == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_draws_have_the_mixture_mean_and_spread(backend):
    df, tau, h, n = _tiny(), 0.3, 0.03, 4000
    w, vals, lo, span = _by_hand(df, tau)
    imp = get_imputer("knnxkde", tau=tau, h=h, backend=backend).fit(df)
    draws = np.array([d.loc[5, "b"] for d in imp.sample(df, n, random_state=0)])
    mu = w @ vals
    sd = np.sqrt(w @ (vals - mu) ** 2 + h**2)  # mixture of N(v_j, h^2) with weights w_j
    z = (draws - lo) / span
    assert abs(z.mean() - mu) < 4 * sd / np.sqrt(n)
    assert z.std() == pytest.approx(sd, rel=0.05)
    assert imp.transform(df).loc[5, "b"] == pytest.approx(lo + span * mu, rel=1e-12)
    # donors are picked by weight: with h = 0 a draw is a donor's value exactly
    exact = get_imputer("knnxkde", tau=tau, h=0.0, backend=backend).fit(df)
    z0 = (np.array([d.loc[5, "b"] for d in exact.sample(df, n, random_state=1)]) - lo) / span
    picked = np.abs(z0[:, None] - vals[None, :]).argmin(axis=1)
    assert np.abs(z0 - vals[picked]).max() < 1e-12
    share = np.bincount(picked, minlength=5) / n
    assert np.all(np.abs(share - w) < 4 * np.sqrt(w * (1 - w) / n))


@pytest.mark.parametrize("backend", BACKENDS)
def test_gaussian_conditional_is_recovered(backend):
    rng = np.random.default_rng(0)
    n, rho = 3000, 0.8
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    df = pd.DataFrame({"x": x, "y": y})
    hide = rng.random(n) < 0.1
    hidden = df.assign(y=np.where(hide, np.nan, y))
    imp = get_imputer("knnxkde", tau=0.01, h=0.01, backend=backend).fit(hidden)
    draws = np.stack([d["y"].to_numpy()[hide] for d in imp.sample(hidden, 200, 1)])
    cond_mean, cond_sd = rho * x[hide], np.sqrt(1 - rho**2)
    inner = np.abs(x[hide]) < 2  # away from the sparse tails
    assert np.sqrt(np.mean((draws.mean(0) - cond_mean)[inner] ** 2)) < 0.1
    resid = ((draws - cond_mean) / cond_sd)[:, inner]
    assert abs(resid.mean()) < 0.05
    assert 0.9 < resid.std() < 1.2
    point = imp.transform(hidden)["y"].to_numpy()[hide]
    assert np.sqrt(np.mean((point - cond_mean)[inner] ** 2)) < 0.1


def test_bimodal_draws_stay_bimodal_while_the_mean_lies_between():
    rng = np.random.default_rng(1)
    n = 2000
    x = rng.uniform(-1, 1, n)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0) + 0.05 * rng.standard_normal(n)
    hide = rng.random(n) < 0.1
    hidden = pd.DataFrame({"x": x, "y": np.where(hide, np.nan, y)})
    imp = get_imputer("knnxkde").fit(hidden)
    point = imp.transform(hidden)["y"].to_numpy()[hide]
    draws = np.concatenate([d["y"].to_numpy()[hide] for d in imp.sample(hidden, 50, 2)])
    assert np.abs(point).max() < 0.7  # the mean sits between the modes
    assert np.mean(np.abs(np.abs(draws) - 1) < 0.3) > 0.97  # draws sit on the modes
    assert 0.4 < np.mean(draws > 0) < 0.6


def _sulfur_like(n=400, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(n)
    x = np.column_stack([u, np.sin(2 * u), u**2, rng.standard_normal(n)])
    x += 0.1 * rng.standard_normal(x.shape)
    miss = rng.random(x.shape) < 0.25
    miss[miss.all(axis=1), 0] = False
    return pd.DataFrame(np.where(miss, np.nan, x), columns=list("abcd"))


def test_tiny_working_memory_gives_the_same_transform():
    df = _sulfur_like()
    big = get_imputer("knnxkde", working_memory=512).fit(df).transform(df)
    small = get_imputer("knnxkde", working_memory=0.001).fit(df).transform(df)
    # equal to rounding: BLAS may round a row differently in blocks of other sizes
    np.testing.assert_allclose(small.to_numpy(), big.to_numpy(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_pattern_of_donors_is_alive_at_a_time(monkeypatch, backend):
    """Donors are built per pattern and dropped: memory stays linear in n (issue 13).

    Under MCAR nearly every row has its own pattern, and each pattern's donors copy up to every
    fitted row, so holding them all grows with n^2 (11.8 GB at 30,000 x 40 before the fix).
    """
    import gc
    import weakref

    from imputebench.benchmarks.cell import thread_limit
    from imputebench.imputers import _knnxkde_core as core

    alive, peak, built = set(), [0], [0]
    real = core.prepare_donors

    def tracked(*a, **k):
        don = real(*a, **k)
        if don is not None:
            key = built[0]
            built[0] += 1
            alive.add(key)
            weakref.finalize(don.values, alive.discard, key)
            peak[0] = max(peak[0], len(alive))
        return don

    monkeypatch.setattr(core, "prepare_donors", tracked)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8))
    x[rng.random(x.shape) < 0.3] = np.nan
    df = make_typed(pd.DataFrame(x, columns=[f"c{j}" for j in range(8)]))
    with thread_limit(1):
        imp = get_imputer("knnxkde", random_state=0, backend=backend).fit(df)
        gc.disable()  # count references only: a cycle collector run must not hide a leak
        try:
            imp.transform(df)
            imp.sample(df, n_draws=3, random_state=1)
        finally:
            gc.enable()
    assert built[0] > 100       # many patterns, each with its own donors
    assert peak[0] <= 2         # the pattern in use (and, at a switch, the next one)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pattern_without_donor_falls_back_to_the_marginal_and_is_counted(backend):
    n = 30
    rng = np.random.default_rng(4)
    a, b, c = rng.standard_normal((3, n))
    a[10:] = np.nan  # rows 0-9 observe a only (with c)
    b[:10] = np.nan  # rows 10-19 observe b only; rows 20-29 observe neither a nor b
    b[20:] = np.nan
    df = pd.DataFrame({"a": a, "b": b, "c": c})
    imp = get_imputer("knnxkde", backend=backend).fit(df)
    out = imp.transform(df)
    assert imp.n_fallback_cells_ == 2 * 10  # the {a, b} pattern has no donor
    np.testing.assert_allclose(out["a"].iloc[20:], np.nanmean(a), rtol=1e-12)
    np.testing.assert_allclose(out["b"].iloc[20:], np.nanmean(b), rtol=1e-12)
    draws = imp.sample(df, 3, random_state=0)
    assert imp.n_fallback_cells_ == 20
    assert not np.array_equal(draws[0]["a"].iloc[20:], draws[1]["a"].iloc[20:])


@pytest.mark.parametrize("backend", BACKENDS)
def test_fully_missing_row_takes_the_complete_rows_density(backend):
    df = _sulfur_like()
    df.iloc[5, :] = np.nan
    imp = get_imputer("knnxkde", backend=backend).fit(df)
    out = imp.transform(df)
    complete = df.dropna()
    np.testing.assert_allclose(out.iloc[5].to_numpy(), complete.mean().to_numpy(), rtol=1e-10)
    assert imp.n_fallback_cells_ == df.shape[1]


def test_bad_parameters_and_categoricals_are_refused():
    df = _tiny()
    bad = [{"tau": 0}, {"h": -1}, {"metric": "cosine"}, {"working_memory": 0},
           {"device": "gpu"}, {"backend": "jax"}, {"device": 3}]
    if not cuda_available():
        bad.append({"device": "cuda"})  # no silent fall-back to the CPU
    else:
        bad.append({"device": "cuda", "backend": "numpy"})
    for params in bad:
        with pytest.raises(ImputebenchError):
            get_imputer("knnxkde", **params).fit(df)
    cat = make_typed(pd.DataFrame({"a": [1.0, 2.0, np.nan], "g": ["x", "y", "x"]}),
                     {"a": "numeric", "g": "categorical"})
    with pytest.raises(ImputebenchError, match="numeric columns only"):
        get_imputer("knnxkde").fit(cat)


@pytest.mark.parametrize("metric", ["nan_std_eucl", "nan_eucl"])
def test_torch_path_agrees_with_numpy(metric):
    pytest.importorskip("torch")
    df = _sulfur_like(n=500)
    df.iloc[7, :] = np.nan  # a fully missing row too
    ref = get_imputer("knnxkde", metric=metric, backend="numpy").fit(df)
    imp = get_imputer("knnxkde", metric=metric, backend="torch", working_memory=0.01).fit(df)
    assert imp.device_ == "cpu" and imp._torch
    # float64 on both paths; sqrt near zero distances amplifies the rounding of the expansion
    np.testing.assert_allclose(imp.transform(df).to_numpy(), ref.transform(df).to_numpy(),
                               rtol=0, atol=1e-9)
    assert imp.n_fallback_cells_ == ref.n_fallback_cells_
    a, b = imp.sample(df, 2, random_state=5), imp.sample(df, 2, random_state=5)
    np.testing.assert_array_equal(a[0].to_numpy(), b[0].to_numpy())  # seeded
    assert not np.array_equal(a[0].to_numpy(), a[1].to_numpy())


def test_auto_takes_numpy_on_a_cpu_machine_and_the_gpu_when_there_is_one():
    imp = get_imputer("knnxkde", device="auto").fit(_tiny())
    assert imp.device_ == ("cuda:0" if cuda_available() else "cpu")
    assert imp._torch == cuda_available()


@pytest.mark.gpu
def test_gpu_path_agrees_with_numpy():
    df = _sulfur_like(n=2000)
    ref = get_imputer("knnxkde").fit(df)
    imp = get_imputer("knnxkde", device="cuda").fit(df)
    assert imp.device_.startswith("cuda")
    np.testing.assert_allclose(imp.transform(df).to_numpy(), ref.transform(df).to_numpy(),
                               rtol=0, atol=1e-9)
    draws = imp.sample(df, 200, random_state=0)
    miss = df.isna().to_numpy()
    mean_draw = np.mean([d.to_numpy()[miss] for d in draws], axis=0)
    # the draws' mean approaches the exact expectation
    err = mean_draw - ref.transform(df).to_numpy()[miss]
    assert np.sqrt(np.mean(err**2)) < 0.1 * df.std().mean()


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_file():
        pytest.skip(f"reference knnxkde.py not at {REFERENCE} (set KNNXKDE_REFERENCE)")
    spec = importlib.util.spec_from_file_location("knnxkde_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.KNNxKDE


@pytest.mark.parametrize("metric", ["nan_std_eucl", "nan_eucl"])
def test_agrees_with_the_reference(reference, metric):
    df = _sulfur_like(n=300)
    z = ((df - df.min()) / (df.max() - df.min())).to_numpy()  # the reference expects [0, 1]
    ref = reference(h=0.03, tau=1 / 50, metric=metric)
    exact = z.copy()
    for (i, j), (w, v) in ref.local_distribution(z).items():
        exact[i, j] = w @ v
    ours = get_imputer("knnxkde", metric=metric).fit(df).transform(df)
    ours_z = ((ours - df.min()) / (df.max() - df.min())).to_numpy()
    # nan_eucl: scikit-learn's expansion rounds near-zero distances a little differently
    np.testing.assert_allclose(ours_z, exact, rtol=0,
                               atol=1e-12 if metric == "nan_std_eucl" else 1e-10)
    state = np.random.get_state()  # noqa: NPY002 - the reference uses the global state
    try:
        np.random.seed(0)  # noqa: NPY002
        mc = ref.impute_mean(z, nb_draws=2000)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    hidden = np.isnan(z)
    # per-cell sd <= sqrt(0.25 + h^2) in [0, 1] units; 2000 draws; 6 sd over ~300 cells
    assert np.abs(mc - ours_z)[hidden].max() < 6 * 0.5 / np.sqrt(2000)


def test_torch_path_passes_the_contract():
    pytest.importorskip("torch")
    from imputebench.imputers.checks import run_checks

    failures = [(c, err) for c, err in run_checks(get_imputer("knnxkde", backend="torch"))
                if err is not None]
    assert failures == []
