"""kNNxKDE: probabilistic nearest-neighbour imputation by a kernel density over donors
(Lalande & Doya, 2023), vectorized over receivers."""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.imputers import _knnxkde_core as core
from imputebench.imputers import _knnxkde_torch as tk
from imputebench.imputers._torch import import_torch, resolve_device, torch_generator
from imputebench.imputers.base import Capabilities, Imputer, register_imputer

_METRICS = ("nan_std_eucl", "nan_eucl")


@register_imputer
class KNNxKDEImputer(Imputer):
    """kNNxKDE: each missing cell's conditional law is a Gaussian-kernel density over donors.

    Columns are min-max scaled with the minimum and maximum of their observed cells in ``fit``
    (a constant column gets range 1). Rows to impute are grouped by missing pattern; for a
    pattern missing columns ``M`` the donors are the fitted rows that observe every column of
    ``M`` (they may miss other columns), as the reference's ``select_givers``. Distances use the
    pattern's observed columns: with ``metric="nan_std_eucl"`` (the reference's
    ``nan_std_euclidean_distances``) the squared distance is the sum of squared differences over
    the coordinates both rows observe plus, for each coordinate missing on either side (so every
    column of ``M``, and the donor's own gaps), that column's variance ``sigma_k**2`` (population
    variance of the scaled observed cells in ``fit``). ``metric="nan_eucl"`` is scikit-learn's
    ``nan_euclidean_distances``. A receiver ``i`` weights donor ``j`` by
    ``softmax(-d_ij / tau)`` (division by ``tau``, as in the reference: ``tau = 1/50`` multiplies
    distances by 50). A draw picks a donor by these weights and adds ``N(0, h**2)`` noise to its
    values in ``M``, in scaled units, then maps back to original units.

    ``transform`` returns the exact mean of that mixture, ``sum_j w_ij x_j`` (what the
    reference's ``impute_mean`` estimates from ``nb_draws`` Monte-Carlo draws); ``sample`` draws
    from it. Work is done in blocks of receivers against all donors at once (no loop over cells),
    spread over threads, with memory bounded by ``working_memory``.

    Fallbacks, counted in ``n_fallback_cells_`` after each ``transform`` / ``sample``:

    * a fully missing row (which the reference leaves as NaN) gets the formula's own answer:
      with no observed coordinate every donor (the fitted complete rows) is at the same distance,
      so the weights are uniform, i.e. the kernel density of the complete rows;
    * a pattern with no donor (where the reference returns ``None`` and imputes nothing), and a
      receiver with no donor at a finite distance (``nan_eucl`` only), take each missing column's
      marginal kernel density: uniform weights over the fitted rows observing that column (mean
      = the observed mean; a draw = a random observed value plus ``N(0, h**2)``).

    Parameters
    ----------
    tau : float
        Softmax temperature on distances (scaled units); smaller = fewer effective donors.
    h : float
        Kernel bandwidth (noise sd of a draw), in min-max scaled units.
    metric : {"nan_std_eucl", "nan_eucl"}
        Distance between a receiver and its donors.
    random_state : None, int or numpy Generator
        Unused by ``fit`` / ``transform`` (both deterministic); draws take ``sample``'s own
        ``random_state``.
    working_memory : float
        Megabytes for the receiver blocks in flight over all threads (distance / weight matrices,
        cumulative weights and draws); at least one receiver per block.
    device : {"cpu", "auto", "cuda", "cuda:N"}
        Where the work runs: ``"auto"`` takes a CUDA GPU when torch sees one, else the CPU.
    backend : {"auto", "numpy", "torch"}
        ``"auto"``: torch on a GPU, numpy (threaded, cache-blocked) on the CPU. ``"torch"`` on
        the CPU exists for testing the torch path. Both compute in float64, so ``transform``
        agrees to rounding; ``sample`` follows the same law with a different random stream.

    References
    ----------
    Lalande, F., Doya, K. (2023). Numerical data imputation for multimodal data sets: a
    probabilistic nearest-neighbor kernel density approach. Transactions on Machine Learning
    Research. Reference code: https://github.com/DeltaFloflo/knnxkde

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("iris")  # four numeric columns
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> imp = KNNxKDEImputer().fit(hidden)
    >>> imp.transform(hidden).isna().any().any()
    np.False_
    >>> len(imp.sample(hidden, n_draws=5, random_state=0))
    5
    """

    name = "knnxkde"
    capabilities = Capabilities(categorical=False, stochastic=True, torch=True)
    fast_params = {"working_memory": 16}

    def __init__(self, tau: float = 1.0 / 50.0, h: float = 0.03, metric: str = "nan_std_eucl",
                 random_state=None, working_memory: float = 256, device: str = "cpu",
                 backend: str = "auto") -> None:
        self.tau = tau
        self.h = h
        self.metric = metric
        self.random_state = random_state
        self.working_memory = working_memory
        self.device = device
        self.backend = backend

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        def positive(v, what, strict=True):
            ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            if not ok or not np.isfinite(v) or (v <= 0 if strict else v < 0):
                kind = "positive" if strict else "non-negative"
                raise ImputebenchError(f"knnxkde: {what} must be a {kind} number, got {v!r}")

        positive(self.tau, "tau")
        positive(self.h, "h", strict=False)
        positive(self.working_memory, "working_memory")
        if self.metric not in _METRICS:
            raise ImputebenchError(f"knnxkde: metric must be one of {_METRICS}, got "
                                   f"{self.metric!r}")
        if self.backend not in ("auto", "numpy", "torch"):
            raise ImputebenchError(f"knnxkde: backend must be 'auto', 'numpy' or 'torch', got "
                                   f"{self.backend!r}")
        device = resolve_device(self.device, "knnxkde")
        if self.backend == "numpy" and device != "cpu":
            raise ImputebenchError(f"knnxkde: backend='numpy' runs on the CPU only, but "
                                   f"device={self.device!r}")
        torch_path = self.backend == "torch" or (self.backend == "auto" and device != "cpu")
        if torch_path:
            import_torch("knnxkde")
        self.device_ = device
        self._torch = torch_path

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        x = X.to_numpy(dtype=np.float64, na_value=np.nan)
        observed = ~np.isnan(x)
        lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
        span = hi - lo
        span[span == 0] = 1.0
        self.min_, self.range_ = lo, span
        z = (x - lo) / span
        self._z, self._observed = z, observed
        self._bits = core.pack_rows(observed)
        self.sigma2_ = np.nanvar(z, axis=0)
        self._columns = [z[observed[:, j], j] for j in range(z.shape[1])]

    # ------------------------------------------------------------------ impute
    def _patterns(self, z: np.ndarray) -> list[core.Pattern]:
        miss = np.isnan(z)
        keys, inverse = np.unique(miss, axis=0, return_inverse=True)
        order = np.argsort(inverse.ravel(), kind="stable")
        bounds = np.cumsum(np.bincount(inverse.ravel(), minlength=len(keys)))[:-1]
        out = []
        for key, rows in zip(keys, np.split(order, bounds), strict=True):
            if not key.any():
                continue
            m, o = np.flatnonzero(key), np.flatnonzero(~key)
            out.append(core.Pattern(rows, m, o, z[np.ix_(rows, o)]))
        return out

    def _plan(self, z: np.ndarray, n_draws: int):
        """Patterns, their donor counts, the (pattern, start, stop) blocks, thread count.

        Donors themselves are not built here: one pattern's donors are a copy of up to every
        fitted row, and a table under MCAR has about as many patterns as rows, so holding them
        all would take memory quadratic in ``n`` (11.8 GB at 30,000 x 40). ``_run`` builds each
        pattern's donors in the task that uses them and drops them after.
        """
        threads = 1 if self._torch else core.n_threads()
        pats = self._patterns(z)
        counts = [core.donor_rows(self._bits, pat.miss).size for pat in pats]
        tasks = []
        for p, (pat, nd) in enumerate(zip(pats, counts, strict=True)):
            if nd == 0:
                continue
            if self._torch:
                step = tk.block_rows(nd, n_draws, pat.miss.size, self.working_memory)
            else:
                step = core.block_rows(nd, n_draws, pat.miss.size, self.working_memory, threads)
            tasks += [(p, s, min(s + step, pat.rows.size)) for s in range(0, pat.rows.size, step)]
        return pats, counts, tasks, threads

    def _run(self, pats, tasks, threads, block) -> list:
        """``[block(task, donors of its pattern) for task in tasks]``, on ``threads`` threads.

        A pattern's donors are built by the first of its blocks to start and released when its
        last block ends. Tasks come pattern by pattern, so about one pattern per thread is alive,
        and the blocks of one large pattern still spread over the threads.
        """
        left = Counter(t[0] for t in tasks)
        live: dict[int, object] = {}
        guard, building = threading.Lock(), {}

        def donors(p):
            with guard:
                lock = building.setdefault(p, threading.Lock())
            with lock:
                if p not in live:
                    don = core.prepare_donors(self._z, self._observed, self.sigma2_, pats[p],
                                              self.metric, core.donor_rows(self._bits,
                                                                           pats[p].miss))
                    live[p] = tk.to_device(don, self.device_) if self._torch else don
                return live[p]

        def work(task):
            p = task[0]
            try:
                return block(task, donors(p))
            finally:
                with guard:
                    left[p] -= 1
                    if left[p] == 0:
                        live.pop(p, None)
                        building.pop(p, None)
        return core.run_tasks(work, tasks, threads)

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        z = (X.to_numpy(dtype=np.float64, na_value=np.nan) - self.min_) / self.range_
        pats, counts, tasks, threads = self._plan(z, 0)
        lib = tk if self._torch else core

        def block(task, don):
            p, s, e = task
            w = lib.weights(pats[p].x_obs[s:e], don, float(self.tau))
            return lib.expectation(w, don.values)

        out = z.copy()
        fallback = [(pat.rows, pat.miss) for pat, nd in zip(pats, counts, strict=True) if nd == 0]
        n_fb = sum(r.size * m.size for r, m in fallback)
        for (p, s, e), (vals, ok) in zip(tasks, self._run(pats, tasks, threads, block),
                                         strict=True):
            rows, miss = pats[p].rows[s:e], pats[p].miss
            out[np.ix_(rows[ok], miss)] = vals[ok]
            if not ok.all():
                fallback.append((rows[~ok], miss))
                n_fb += int((~ok).sum()) * miss.size
        for rows, miss in fallback:
            out[np.ix_(rows, miss)] = [self._columns[j].mean() for j in miss]
        self.n_fallback_cells_ = n_fb + self._n_fully_missing(pats, counts)
        return pd.DataFrame(out * self.range_ + self.min_, index=X.index, columns=X.columns)

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        z = (X.to_numpy(dtype=np.float64, na_value=np.nan) - self.min_) / self.range_
        pats, counts, tasks, threads = self._plan(z, n_draws)
        h = float(self.h)
        if self._torch:
            g = torch_generator(rng, self.device_)

            def block(task, don):
                p, s, e = task
                w = tk.weights(pats[p].x_obs[s:e], don, float(self.tau))
                return tk.draws(w, don.values, n_draws, h, g)
        else:
            rngs = dict(zip(tasks, rng.spawn(len(tasks)), strict=True))

            def block(task, don):
                p, s, e = task
                g = rngs[task]
                w = core.weights(pats[p].x_obs[s:e], don, float(self.tau))
                pos, ok = core.pick_donors(w, n_draws, g)
                vals = don.values[pos]  # receivers x draws x missing columns
                vals += g.normal(0.0, h, size=vals.shape)
                return vals, ok

        rows_l, cols_l, vals_l = [], [], []
        fallback = [(pat.rows, pat.miss) for pat, nd in zip(pats, counts, strict=True) if nd == 0]
        for (p, s, e), (vals, ok) in zip(tasks, self._run(pats, tasks, threads, block),
                                         strict=True):
            rows, miss = pats[p].rows[s:e], pats[p].miss
            if not ok.all():
                fallback.append((rows[~ok], miss))
                rows, vals = rows[ok], vals[ok]
            rows_l.append(np.repeat(rows, miss.size))
            cols_l.append(np.tile(miss, rows.size))
            vals_l.append(vals.transpose(1, 0, 2).reshape(n_draws, -1))
        n_fb = 0
        for rows, miss in fallback:
            for j in miss:
                col = self._columns[j]
                pick = col[rng.integers(0, col.size, size=(n_draws, rows.size))]
                rows_l.append(rows)
                cols_l.append(np.full(rows.size, j))
                vals_l.append(pick + rng.normal(0.0, h, size=pick.shape))
                n_fb += rows.size
        self.n_fallback_cells_ = n_fb + self._n_fully_missing(pats, counts)
        r, c = np.concatenate(rows_l), np.concatenate(cols_l)
        v = np.concatenate(vals_l, axis=1) * self.range_[c] + self.min_[c]
        base = X.to_numpy(dtype=np.float64, na_value=np.nan)
        draws = []
        for t in range(n_draws):
            a = base.copy()
            a[r, c] = v[t]
            draws.append(pd.DataFrame(a, index=X.index, columns=X.columns))
        return draws

    def _n_fully_missing(self, pats, counts) -> int:
        """Cells of fully missing rows imputed through donors (not already counted)."""
        d = len(self.range_)
        return sum(p.rows.size * d for p, nd in zip(pats, counts, strict=True)
                   if p.obs.size == 0 and nd > 0 and self.metric == "nan_std_eucl")
