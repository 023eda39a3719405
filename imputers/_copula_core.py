"""Numerical core of the Gaussian copula imputer: latent EM, conditional means and draws.

Works on a latent matrix of ``p`` columns. A continuous cell is observed exactly (``lo == hi ==
z``); an ordinal cell is observed as an interval ``lo < z <= hi`` of the latent normal; a missing
cell is NaN in both. Rows are processed in groups sharing one pattern of observed columns, so
each pattern's matrix solves are done once (Zhao & Udell, 2020, Algorithm 1 and §4).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
# Smallest eigenvalue allowed in the latent correlation. One-hot indicators of a nominal column
# push it towards singular (exactly one indicator is on); shrinking to this floor keeps every
# conditional well posed and leaves a well-conditioned correlation untouched.
_MIN_EIG = 1e-3


def truncnorm_moments(lo: np.ndarray, hi: np.ndarray, mu: np.ndarray, sd: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of N(mu, sd^2) truncated to (lo, hi], stable far in the tails.

    Computed in log space on the side of the interval nearer the centre (by symmetry), so an
    interval many standard deviations out does not divide 0 by 0.
    """
    with np.errstate(all="ignore"):  # infinite bounds give inf - inf before np.where
        a = (lo - mu) / sd
        b = (hi - mu) / sd
        flip = (a + b) > 0                       # reflect so the interval lies in the lower half
        a, b = np.where(flip, -b, a), np.where(flip, -a, b)
        log_fa = np.where(np.isfinite(a), -0.5 * np.square(np.where(np.isfinite(a), a, 0.0)),
                          -np.inf) - _LOG_SQRT_2PI
        log_fb = np.where(np.isfinite(b), -0.5 * np.square(np.where(np.isfinite(b), b, 0.0)),
                          -np.inf) - _LOG_SQRT_2PI
        lca, lcb = log_ndtr(a), log_ndtr(b)
        log_z = lcb + np.log1p(-np.exp(lca - lcb))
        ra = np.exp(log_fa - log_z)          # phi(a) / Z
        rb = np.exp(log_fb - log_z)
        mean = ra - rb
        ta = np.where(np.isfinite(a), a * ra, 0.0)
        tb = np.where(np.isfinite(b), b * rb, 0.0)
        var = 1.0 + ta - tb - mean * mean
        width = np.where(np.isfinite(b - a), np.square(b - a) / 4.0, 1.0)
        var = np.clip(np.nan_to_num(var, nan=0.0), 0.0, np.minimum(1.0, width))
        mean = np.nan_to_num(mean, nan=0.0)
        mean = np.where(flip, -mean, mean)
        # Cancellation can push the mean a hair outside a narrow interval; keep it inside.
        out_mean = np.clip(mu + sd * mean, lo, hi)
    return out_mean, var * sd * sd


@dataclass
class Latent:
    """A latent table: exact values / interval bounds, and which columns are ordinal."""

    lo: np.ndarray        # (n, p), NaN where missing
    hi: np.ndarray        # (n, p)
    is_ord: np.ndarray    # (p,) bool

    def start(self) -> np.ndarray:
        """Starting latent values: exact for continuous, univariate truncated mean for ordinal."""
        z = self.lo.copy()
        ordc = self.is_ord[None, :] & ~np.isnan(self.lo)
        if ordc.any():
            one = np.ones(int(ordc.sum()))
            z[ordc], _ = truncnorm_moments(self.lo[ordc], self.hi[ordc], 0.0 * one, one)
        return z


def _groups(observed: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rows, observed-column mask) for each distinct pattern of observed columns."""
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
    for k, pat in enumerate(patterns):
        yield order[bounds[k]:bounds[k + 1]], pat


@dataclass
class _Pattern:
    rows: np.ndarray
    obs: np.ndarray       # column indices observed
    mis: np.ndarray       # column indices missing
    z_obs: np.ndarray     # (rows, |O|) conditional means of the observed latents
    v_obs: np.ndarray     # (rows, |O|) their variances (0 for continuous)
    j: np.ndarray         # (|O|, |M|) regression of the missing on the observed
    cond_cov: np.ndarray  # (|M|, |M|) Sigma_MM - Sigma_MO Sigma_OO^-1 Sigma_OM


def _estep(lat: Latent, z: np.ndarray, sigma: np.ndarray, n_updates: int
           ) -> Iterator[_Pattern]:
    """Per pattern: update the observed ordinal latents and regress the missing ones.

    An observed ordinal latent is replaced by the mean of its normal conditional on the other
    observed latents (at their current values), truncated to its interval: the paper's
    approximate E-step, done for all ordinal coordinates at once, ``n_updates`` times.
    """
    observed = ~np.isnan(lat.lo)
    for rows, pat in _groups(observed):
        obs, mis = np.flatnonzero(pat), np.flatnonzero(~pat)
        z_obs = z[np.ix_(rows, obs)]
        v_obs = np.zeros_like(z_obs)
        if len(obs):
            prec = np.linalg.inv(sigma[np.ix_(obs, obs)])
            prec = (prec + prec.T) / 2.0
            q = np.flatnonzero(lat.is_ord[obs])
            if len(q):
                s2 = 1.0 / np.diag(prec)[q]
                lo, hi = lat.lo[np.ix_(rows, obs[q])], lat.hi[np.ix_(rows, obs[q])]
                for _ in range(n_updates):
                    m = z_obs[:, q] - s2 * (z_obs @ prec[:, q])
                    z_obs[:, q], v_obs[:, q] = truncnorm_moments(
                        lo, hi, m, np.broadcast_to(np.sqrt(s2), m.shape))
            j = prec @ sigma[np.ix_(obs, mis)]
            cond_cov = sigma[np.ix_(mis, mis)] - sigma[np.ix_(mis, obs)] @ j
        else:
            j = np.zeros((0, len(mis)))
            cond_cov = sigma[np.ix_(mis, mis)].copy()
        yield _Pattern(rows, obs, mis, z_obs, v_obs, j, (cond_cov + cond_cov.T) / 2.0)


def _to_correlation(s: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.clip(np.diag(s), 1e-12, None))
    c = s / np.outer(d, d)
    c = (c + c.T) / 2.0
    lam = np.linalg.eigvalsh(c)[0]
    if lam < _MIN_EIG:
        delta = (_MIN_EIG - lam) / (1.0 - lam)
        c = (1.0 - delta) * c + delta * np.eye(len(c))
    np.fill_diagonal(c, 1.0)
    return c


def fit_correlation(lat: Latent, max_iter: int, tol: float, n_updates: int
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """Approximate EM for the latent correlation; returns (sigma, latent means, iterations).

    Starts from the correlation of the latent table with missing cells at 0. Each iteration
    takes the expected second moment E[z z^T] over rows (conditional means plus the conditional
    covariance from missingness and from ordinal truncation) and rescales it to a correlation;
    it stops when the relative Frobenius change falls below ``tol``.
    """
    n, p = lat.lo.shape
    z = lat.start()
    filled = np.nan_to_num(z, nan=0.0)
    sd = filled.std(axis=0)
    sigma = np.eye(p)
    ok = sd > 0
    if ok.sum() > 1:
        sigma[np.ix_(ok, ok)] = np.corrcoef(filled[:, ok], rowvar=False)
    sigma = _to_correlation(sigma)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        second = np.zeros((p, p))
        for pt in _estep(lat, z, sigma, n_updates):
            o, m = pt.obs, pt.mis
            z[np.ix_(pt.rows, o)] = pt.z_obs
            zm = pt.z_obs @ pt.j
            full = np.empty((len(pt.rows), p))
            full[:, o], full[:, m] = pt.z_obs, zm
            second += full.T @ full
            vsum = pt.v_obs.sum(axis=0)
            second[o, o] += vsum
            if len(m):
                jv = pt.j.T * vsum                       # (|M|, |O|)
                second[np.ix_(m, m)] += len(pt.rows) * pt.cond_cov + jv @ pt.j
                second[np.ix_(m, o)] += jv
                second[np.ix_(o, m)] += jv.T
        new = _to_correlation(second / n)
        change = np.linalg.norm(new - sigma) / np.linalg.norm(sigma)
        sigma = new
        if change < tol:
            break
    return sigma, z, n_iter


def conditional(lat: Latent, sigma: np.ndarray, n_updates: int
                ) -> tuple[np.ndarray, np.ndarray, list[_Pattern]]:
    """Conditional latent means and variances of every cell given the observed ones.

    Observed continuous cells keep their value (variance 0); observed ordinal cells get their
    truncated conditional mean; missing cells get ``E[z_M | obs]`` and the variance
    ``diag(Sigma_MM|O + J^T diag(v_O) J)`` which carries the ordinal truncation uncertainty.
    """
    z = lat.start()
    mean = np.zeros_like(z)
    var = np.zeros_like(z)
    patterns = list(_estep(lat, z, sigma, n_updates))
    for pt in patterns:
        mean[np.ix_(pt.rows, pt.obs)] = pt.z_obs
        var[np.ix_(pt.rows, pt.obs)] = pt.v_obs
        if len(pt.mis):
            mean[np.ix_(pt.rows, pt.mis)] = pt.z_obs @ pt.j
            var[np.ix_(pt.rows, pt.mis)] = np.diag(pt.cond_cov)[None, :] + pt.v_obs @ (pt.j ** 2)
    return mean, var, patterns


def draw(mean: np.ndarray, patterns: list[_Pattern], n_draws: int, rng: np.random.Generator
         ) -> np.ndarray:
    """``n_draws`` latent tables with missing cells drawn from their conditional normal.

    ``z_M = E[z_M | obs] + J^T e_O + L e_M``: ``e_O ~ N(0, diag(v_O))`` carries the spread of the
    observed ordinal latents inside their intervals, ``L L^T = Sigma_MM|O`` the regression
    residual; so ``z_M`` has the covariance of the Gaussian approximation used in the E-step.
    """
    out = np.repeat(mean[None, :, :], n_draws, axis=0)
    for pt in patterns:
        if not len(pt.mis):
            continue
        k = len(pt.rows)
        w, u = np.linalg.eigh(pt.cond_cov)
        root = u * np.sqrt(np.clip(w, 0.0, None))
        e_m = rng.standard_normal((n_draws, k, len(pt.mis))) @ root.T
        if len(pt.obs):
            e_o = rng.standard_normal((n_draws, k, len(pt.obs))) * np.sqrt(pt.v_obs)[None]
            e_m += e_o @ pt.j
        out[:, pt.rows[:, None], pt.mis[None, :]] += e_m
    return out
