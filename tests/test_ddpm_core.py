"""Known answers for TabDDPM's diffusion processes (``imputers/_ddpm_core.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from imputebench.imputers import _ddpm_core as dc  # noqa: E402

T = 100


@pytest.fixture(scope="module")
def sched():
    return dc.Schedule.cosine(T)


def test_cosine_schedule(sched):
    b = dc.cosine_betas(T)
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert float(b[10]) == pytest.approx(1 - f(11 / T) / f(10 / T), rel=1e-12)
    assert float(b.max()) <= 0.999 and float(b.min()) > 0
    # abar_t = f((t + 1) / T) / f(0) while no beta is capped
    assert float(sched.abar[49]) == pytest.approx(f(50 / T) / f(0), rel=1e-5)
    assert float(sched.abar[-1]) < 1e-4 and float(sched.abar_prev[0]) == 1.0


def test_gaussian_forward_and_posterior_by_monte_carlo(sched):
    g = torch.Generator().manual_seed(0)
    n, t = 400_000, 30
    x0 = torch.full((n, 1), 1.5)
    tt = torch.full((n,), t)
    prev = dc.gaussian_q_sample(sched, x0, tt - 1, torch.randn(n, 1, generator=g))
    a = sched.alphas[t]
    xt = a.sqrt() * prev + (1 - a).sqrt() * torch.randn(n, 1, generator=g)
    # x_t | x_0 has the closed form of gaussian_q_sample
    assert float(xt.mean()) == pytest.approx(float(sched.abar[t].sqrt() * 1.5), abs=5e-3)
    assert float(xt.var()) == pytest.approx(float(1 - sched.abar[t]), rel=1e-2)
    # E[x_{t-1} | x_t, x_0] is linear in x_t: regression recovers the posterior mean and var
    X = np.c_[np.ones(n), xt.numpy().ravel()]
    coef, *_ = np.linalg.lstsq(X, prev.numpy().ravel(), rcond=None)
    want = dc.gaussian_posterior_mean(sched, torch.tensor([[1.5], [1.5]]),
                                      torch.tensor([[0.0], [1.0]]), torch.tensor([t, t]))
    assert coef[0] == pytest.approx(float(want[0]), abs=5e-3)
    assert coef[0] + coef[1] == pytest.approx(float(want[1]), abs=5e-3)
    resid = prev.numpy().ravel() - X @ coef
    assert resid.var() == pytest.approx(float(dc.gaussian_posterior_var(sched, t)), rel=2e-2)


def test_reverse_step_with_the_true_noise_inverts_the_mean(sched):
    x0 = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([0, 1, 10, 50, 99])
    xt = dc.gaussian_q_sample(sched, x0, t, eps)
    torch.testing.assert_close(dc.x0_from_eps(sched, xt, t, eps), x0, atol=2e-3, rtol=1e-3)
    step = dc.gaussian_p_sample(sched, xt, t, eps, torch.zeros(5, 3))
    torch.testing.assert_close(step, dc.gaussian_posterior_mean(sched, x0, xt, t), atol=2e-3,
                               rtol=1e-3)
    # at t = 0 no noise is added; at t > 0 the noise has sd sqrt(beta_t)
    noisy = dc.gaussian_p_sample(sched, xt, t, eps, torch.ones(5, 3))
    torch.testing.assert_close(noisy - step, sched.betas[t].sqrt()[:, None].expand(5, 3)
                               * (t > 0)[:, None])


def test_clip_bounds_the_predicted_x0(sched):
    t = torch.tensor([1, 10, 50, 99])
    xt = torch.zeros(4, 2)
    eps = torch.full((4, 2), -500.0)                 # implies x0 far above the bound
    x0 = dc.x0_from_eps(sched, xt, t, eps)
    assert bool((x0 > 5.2).all())
    step = dc.gaussian_p_sample(sched, xt, t, eps, torch.zeros(4, 2), clip=5.2)
    want = dc.gaussian_posterior_mean(sched, torch.full((4, 2), 5.2), xt, t)
    torch.testing.assert_close(step, want)
    free = dc.gaussian_p_sample(sched, xt, t, eps, torch.zeros(4, 2))
    assert bool((free > step).all())


def _transition(alpha: float, k: int) -> np.ndarray:
    return alpha * np.eye(k) + (1 - alpha) / k * np.ones((k, k))


def test_multinomial_marginal_is_the_product_of_transitions(sched):
    cats = dc.Categories((3, 5))
    codes = torch.tensor([[2, 4]])
    log_x0 = cats.log_onehot(codes)
    t = 7
    got = dc.cat_q_pred(sched, cats, log_x0, torch.tensor([t])).exp()[0]
    for j, (k, c) in enumerate(((3, 2), (5, 4))):
        p = np.eye(k)[c]
        for s in range(t + 1):
            p = _transition(float(sched.alphas[s]), k) @ p
        np.testing.assert_allclose(got[j, :k].numpy(), p, rtol=1e-4)
        assert float(got[j, k:].sum()) == 0.0                    # padding stays at zero


def test_multinomial_posterior_is_bayes(sched):
    cats = dc.Categories((4,))
    k, t = 4, 12
    log_x0 = cats.log_onehot(torch.tensor([[1]]))
    log_xt = cats.log_onehot(torch.tensor([[3]]))
    got = dc.cat_q_posterior(sched, cats, log_x0, log_xt, torch.tensor([t])).exp()[0, 0]
    prior = np.eye(k)[1]
    for s in range(t):                                           # q(x_{t-1} | x_0)
        prior = _transition(float(sched.alphas[s]), k) @ prior
    like = _transition(float(sched.alphas[t]), k)[3]             # q(x_t = 3 | x_{t-1})
    want = prior * like / (prior * like).sum()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4)
    # at t = 0 the posterior is x_0 itself
    at0 = dc.cat_q_posterior(sched, cats, log_x0, log_xt, torch.tensor([0])).exp()[0, 0]
    np.testing.assert_allclose(at0.numpy(), np.eye(k)[1], atol=1e-6)


def test_gumbel_sampling_and_kl(sched):
    cats = dc.Categories((2, 3))
    logits = torch.tensor([[[0.0, math.log(3.0), 0.0], [0.0, 0.0, math.log(2.0)]]])
    log_p = cats.normalize(logits).expand(20000, 2, 3)
    draws = cats.sample(log_p, torch.Generator().manual_seed(0))
    assert (draws[:, 0] < 2).all()                               # never a padded category
    assert float((draws[:, 0] == 1).float().mean()) == pytest.approx(0.75, abs=0.01)
    assert float((draws[:, 1] == 2).float().mean()) == pytest.approx(0.5, abs=0.01)
    kl = dc.cat_kl(cats, log_p[:1], log_p[:1])
    torch.testing.assert_close(kl, torch.zeros(1, 2))
    uniform = cats.normalize(torch.zeros(1, 2, 3))
    want = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert float(dc.cat_kl(cats, log_p[:1], uniform)[0, 0]) == pytest.approx(want, rel=1e-5)


# ---------------------------------------------------------------------- denoiser and loss
from imputebench.imputers._ddpm_model import TabDiffusion, timestep_embedding  # noqa: E402


def test_timestep_embedding():
    e = timestep_embedding(torch.tensor([0, 3]), 8)
    torch.testing.assert_close(e[0], torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0]))
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(4) / 4)
    torch.testing.assert_close(e[1, :4], torch.cos(3 * freqs))
    torch.testing.assert_close(e[1, 4:], torch.sin(3 * freqs))


def _toy(n=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g)
    x_num = torch.cat([x, 0.9 * x + 0.3 * torch.randn(n, 1, generator=g)], dim=1)
    codes = torch.stack([(x[:, 0] > 0).long(), torch.randint(0, 3, (n,), generator=g)], dim=1)
    return x_num, codes


def test_loss_counts_observed_cells_only():
    model = TabDiffusion(2, (2, 3), (32, 32), n_steps=20,
                         generator=torch.Generator().manual_seed(0))
    x_num, codes = _toy(64)
    m_num = (torch.rand(64, 2, generator=torch.Generator().manual_seed(1)) > 0.3).float()
    m_cat = (torch.rand(64, 2, generator=torch.Generator().manual_seed(2)) > 0.3).float()
    a = model.loss(x_num, m_num, codes, m_cat, torch.Generator().manual_seed(5)).detach()
    other_num = x_num + 7.0 * (1 - m_num)
    other_codes = torch.where(m_cat > 0, codes, (codes + 1) % 2)
    b = model.loss(other_num, m_num, other_codes, m_cat,
                   torch.Generator().manual_seed(5)).detach()
    assert float(a) == float(b) and math.isfinite(float(a))


def test_the_denoiser_reads_a_one_hot_or_its_log():
    x_num, codes = _toy(8)
    log_x = dc.Categories((2, 3)).log_onehot(codes)
    t = torch.zeros(8, dtype=torch.long)
    seen = {}
    for mode in ("onehot", "log"):
        model = TabDiffusion(2, (2, 3), (16,), n_steps=10, cat_input=mode,
                             generator=torch.Generator().manual_seed(0))
        model.denoiser.register_forward_hook(lambda m, inp, out, k=mode: seen.update({k: inp[0]}))
        model.predict(x_num, log_x, t)
    onehot = torch.cat([torch.nn.functional.one_hot(codes[:, 0], 2),
                        torch.nn.functional.one_hot(codes[:, 1], 3)], dim=1).float()
    torch.testing.assert_close(seen["onehot"][:, 2:], onehot)
    torch.testing.assert_close(seen["log"][:, 2:], torch.where(onehot > 0, 0.0, dc.LOG_TINY))
    with pytest.raises(ValueError, match="cat_input"):
        TabDiffusion(2, (2, 3), (16,), cat_input="logits")


def test_one_shared_timestep_predicts_like_one_per_row():
    # the sampler passes t of shape (1,) for a whole batch at one level
    model = TabDiffusion(2, (2, 3), (32,), n_steps=20, generator=torch.Generator().manual_seed(0))
    x_num, codes = _toy(16)
    log_x = model.cats.log_onehot(codes)
    per_row = model.predict(x_num, log_x, torch.full((16,), 7))
    shared = model.predict(x_num, log_x, torch.full((1,), 7))
    for a, b in zip(per_row, shared, strict=True):
        torch.testing.assert_close(a, b)
    s = model.sched
    xt = dc.gaussian_q_sample(s, x_num, torch.full((1,), 7), torch.zeros_like(x_num))
    torch.testing.assert_close(xt, s.abar[7].sqrt() * x_num)


def test_training_lowers_the_loss_and_moves_with_the_module():
    gen = torch.Generator().manual_seed(0)
    model = TabDiffusion(2, (2, 3), (64, 64), n_steps=50, generator=gen)
    x_num, codes = _toy(1024)
    ones_n, ones_c = torch.ones_like(x_num), torch.ones(codes.shape)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)

    def avg_loss(seed):
        with torch.no_grad():
            return float(np.mean([float(model.loss(x_num, ones_n, codes, ones_c,
                                                   torch.Generator().manual_seed(seed + i)))
                                  for i in range(20)]))

    before = avg_loss(100)
    for _ in range(300):
        idx = torch.randint(0, 1024, (256,), generator=gen)
        loss = model.loss(x_num[idx], ones_n[idx], codes[idx], ones_c[idx], gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = avg_loss(100)
    assert after < 0.8 * before
    model.to(torch.float64)
    assert model.sched.betas.dtype == torch.float64 and model.cats.real.dtype == torch.bool


# ---------------------------------------------------------------------- sampling and RePaint
from imputebench.imputers._ddpm_sample import jump_schedule, sample  # noqa: E402


def test_jump_schedule_counts():
    levels = jump_schedule(100, 10, 10)
    steps = list(zip(levels[:-1], levels[1:], strict=True))
    assert levels[0] == 99 and levels[-1] == -1
    assert all(abs(a - b) == 1 for a, b in steps)
    assert sum(b < a for a, b in steps) == 910 and sum(b > a for a, b in steps) == 810
    assert jump_schedule(5, 10, 10) == [4, 3, 2, 1, 0, -1]
    assert jump_schedule(20, 5, 1) == list(range(19, -2, -1))


@pytest.fixture(scope="module")
def trained():
    gen = torch.Generator().manual_seed(0)
    model = TabDiffusion(2, (2, 3), (96, 96), n_steps=40, generator=gen)
    x_num, codes = _toy(4000)
    ones_n, ones_c = torch.ones_like(x_num), torch.ones(codes.shape)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(1000):
        idx = torch.randint(0, 4000, (256,), generator=gen)
        loss = model.loss(x_num[idx], ones_n[idx], codes[idx], ones_c[idx], gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_observed_cells_come_back_unchanged(trained):
    x_num, codes = _toy(50, seed=3)
    x, c = sample(trained, x_num, torch.ones_like(x_num), codes, torch.ones(codes.shape),
                  torch.Generator().manual_seed(0), jump=5, resample=2)
    torch.testing.assert_close(x, x_num)
    assert torch.equal(c, codes)


def test_repaint_conditions_on_the_observed_cells(trained):
    x_num, codes = _toy(600, seed=4)
    m_num = torch.tensor([[1.0, 0.0]]).expand(600, 2)             # x2 and the sign hidden
    m_cat = torch.tensor([[0.0, 1.0]]).expand(600, 2)
    x, c = sample(trained, x_num * m_num, m_num, codes * m_cat.long(), m_cat,
                  torch.Generator().manual_seed(1), jump=5, resample=3)
    x1, x2 = x_num[:, 0], x[:, 1]
    assert float(torch.corrcoef(torch.stack([x1, x2]))[0, 1]) > 0.8   # true: 0.95
    assert float(((x2 - 0.9 * x1) ** 2).mean().sqrt()) < 0.6         # noise sd 0.3
    assert float((c[:, 0] == (x1 > 0).long()).float().mean()) > 0.85  # sign of x1


class GaussianOracle:
    """The exact noise predictor for data x0 ~ N(mu, cov): E[eps | x_t] =
    sqrt(1 - abar) (abar cov + (1 - abar) I)^-1 (x_t - sqrt(abar) mu)."""

    n_cat = 0

    def __init__(self, mu, cov, n_steps):
        self.mu, self.cov = torch.tensor(mu), torch.tensor(cov)
        self.sched, self.cats = dc.Schedule.cosine(n_steps), dc.Categories(())
        self.n_steps = n_steps

    def predict(self, x, log_c, t):
        ab = self.sched.abar[t][:, None, None]
        cov_t = ab * self.cov + (1 - ab) * torch.eye(len(self.mu))
        r = x - ab[:, :, 0].sqrt() * self.mu
        return (1 - ab[:, :, 0]).sqrt() * torch.linalg.solve(cov_t, r.unsqueeze(-1))[..., 0], None


def test_ancestral_sampling_with_the_exact_denoiser_draws_the_data_law():
    oracle = GaussianOracle([2.0, -1.0], [[0.25, 0.0], [0.0, 1.0]], 100)
    zeros = torch.zeros(8000, 2)
    x, _ = sample(oracle, zeros, zeros, torch.zeros(8000, 0, dtype=torch.long),
                  torch.zeros(8000, 0), torch.Generator().manual_seed(0), resample=1)
    torch.testing.assert_close(x.mean(0), torch.tensor([2.0, -1.0]), atol=0.04, rtol=0)
    torch.testing.assert_close(x.std(0), torch.tensor([0.5, 1.0]), atol=0.04, rtol=0)


def test_repaint_with_the_exact_denoiser_draws_the_conditional_law():
    rho = 0.8
    oracle = GaussianOracle([0.0, 0.0], [[1.0, rho], [rho, 1.0]], 50)
    n = 2000
    x1 = torch.linspace(-2, 2, n)
    x0 = torch.stack([x1, torch.zeros(n)], dim=1)
    m = torch.tensor([[1.0, 0.0]]).expand(n, 2)
    x, _ = sample(oracle, x0, m, torch.zeros(n, 0, dtype=torch.long), torch.zeros(n, 0),
                  torch.Generator().manual_seed(1), jump=5, resample=10)
    resid = (x[:, 1] - rho * x1) / (1 - rho**2) ** 0.5   # N(0, 1) under the exact conditional
    assert abs(float(resid.mean())) < 0.1
    assert 0.85 < float(resid.std()) < 1.15
    slope = float(torch.linalg.lstsq(x1[:, None], x[:, 1:]).solution[0, 0])
    assert slope == pytest.approx(rho, abs=0.08)
