"""Gradient-descent family: step-by-step hand computations, rates, divergence, mini-batches."""
import math

import numpy as np
import pytest
import sympy as sp

import codegen
import solvers
from solvers import schedules as S

A = np.array([1.0, 10.0])
C = np.array([1.0, -2.0])


@pytest.fixture(scope="module")
def quad():
    """f = 1/2 sum a_i (x_i - c_i)^2 with a = (1, 10): L = 10, mu = 1."""
    x, y = sp.symbols("x y")
    return codegen.compile((x - 1)**2 / 2 + 5 * (y + 2)**2, [x, y])


def grad(x):
    return A * (x - C)


def reference(rule, x, steps, lrs, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.0):
    """Independent NumPy transcription of each update rule (PyTorch conventions)."""
    x = np.array(x, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for k in range(steps):
        g, lr = grad(x), lrs[k]
        if rule == "gd":
            x = x - lr * g
        elif rule == "momentum":
            m = beta1 * m + g
            x = x - lr * m
        elif rule == "nesterov":
            m = beta1 * m + g
            x = x - lr * (g + beta1 * m)
        elif rule == "adagrad":
            v = v + g**2
            x = x - lr * g / (np.sqrt(v) + eps)
        elif rule == "rmsprop":
            v = beta2 * v + (1 - beta2) * g**2
            x = x - lr * g / (np.sqrt(v) + eps)
        else:  # adam / adamw
            x = x * (1 - lr * wd)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g**2
            t = k + 1
            x = x - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return x


CASES = {
    "gd": dict(kw={}, ref={}),
    "momentum": dict(kw={"beta": 0.8}, ref={"beta1": 0.8}),
    "nesterov": dict(kw={"beta": 0.7}, ref={"beta1": 0.7}),
    "adagrad": dict(kw={"eps": 1e-10}, ref={"eps": 1e-10}),
    "rmsprop": dict(kw={"rho": 0.9, "eps": 1e-8}, ref={"beta2": 0.9}),
    "adam": dict(kw={"beta1": 0.9, "beta2": 0.99}, ref={"beta2": 0.99}),
    "adamw": dict(kw={"beta1": 0.8, "beta2": 0.999, "weight_decay": 0.1},
                  ref={"beta1": 0.8, "wd": 0.1}),
}


@pytest.mark.parametrize("rule", list(CASES))
@pytest.mark.parametrize("steps", [1, 2, 4])
def test_update_rules_match_hand_computation(quad, rule, steps):
    case = CASES[rule]
    x0 = [3.0, 1.0]
    r = getattr(solvers, rule)(quad, x0, lr=0.05, maxiter=steps, gtol=0.0, **case["kw"])
    assert r.nit == steps and r.status is solvers.Status.MAX_ITERATIONS and not r.success
    expect = reference(rule, x0, steps, [0.05] * steps, **case["ref"])
    np.testing.assert_allclose(r.x, expect, rtol=1e-13, atol=1e-15)


def test_adam_first_step_is_lr_times_sign():
    # bias correction makes the first Adam step lr * g / (|g| + eps') = lr * sign(g)
    x0 = np.array([3.0, 1.0])
    x1 = reference("adam", x0, 1, [0.01])
    np.testing.assert_allclose(x1, x0 - 0.01 * np.sign(grad(x0)), rtol=1e-9)


def test_schedule_drives_the_learning_rate(quad):
    sched = S.StepDecay(step_size=2, gamma=0.5)
    r = solvers.gd(quad, [3.0, 1.0], lr=0.08, schedule=sched, maxiter=5, gtol=0.0)
    expect = reference("gd", [3.0, 1.0], 5, [0.08, 0.08, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(r.x, expect, rtol=1e-13)


def test_schedules_match_closed_forms():
    lr = 0.1
    assert [S.Constant()(k, lr) for k in range(3)] == [lr] * 3
    assert S.Exponential(0.9)(3, lr) == pytest.approx(lr * 0.9**3)
    for k in range(0, 12):
        t = min(k, 10)
        assert S.Cosine(10, 0.01)(k, lr) == pytest.approx(0.01 + 0.5 * (lr - 0.01) * (1 + math.cos(math.pi * t / 10)))
    w = S.WarmupCosine(warmup=4, T=14)
    assert [w(k, lr) for k in range(4)] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert w(4, lr) == pytest.approx(lr) and w(9, lr) == pytest.approx(lr / 2) and w(14, lr) == pytest.approx(0)
    sgdr = S.CosineWarmRestarts(T0=2, T_mult=2)
    # periods 2, 4, 8: restarts at k = 2 and k = 6
    expect = [1, 0.5, 1, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4)), 1]
    assert [sgdr(k, 1.0) for k in range(7)] == pytest.approx(expect)
    p = S.ReduceOnPlateau(factor=0.5, patience=1, threshold=0.0)
    assert p.rates(1.0, [3, 2, 2, 2, 2, 1, 1, 1]) == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_equal_period_restarts_cost_nothing_late_in_a_run():
    import time
    sgdr = S.CosineWarmRestarts(T0=3)
    assert [sgdr(k, 1.0) for k in (0, 3, 4, 3 * 10**9 + 1)] == pytest.approx([1, 1, 0.75, 0.75])
    t = time.perf_counter()
    sgdr(10**9, 1.0)  # used to walk every restart so far: ~1 s here, O(k^2) over a run
    assert time.perf_counter() - t < 0.05


def test_reduce_on_plateau_in_the_loop(quad):
    # lr near 2/L makes the stiff coordinate oscillate and shrink by only 1% a step; asking for
    # 10% progress within patience + 1 steps, the plateau schedule halves lr and converges sooner
    sched = S.ReduceOnPlateau(factor=0.5, patience=2, threshold=0.1)
    r = solvers.gd(quad, [3.0, 1.0], lr=0.199, schedule=sched, maxiter=2000, gtol=1e-8)
    assert r.success
    plain = solvers.gd(quad, [3.0, 1.0], lr=0.199, maxiter=r.nit, gtol=1e-8)
    assert not plain.success


def test_bad_schedule_names():
    with pytest.raises(ValueError, match="needs parameters"):
        S.as_schedule("cosine")
    with pytest.raises(ValueError, match="unknown schedule"):
        S.as_schedule("cosin")


def test_clipping_by_norm_and_value(quad):
    x0 = np.array([3.0, 1.0])
    g = grad(x0)  # (2, 30)
    r = solvers.gd(quad, x0, lr=0.1, clip_norm=1.0, maxiter=1, gtol=0.0)
    np.testing.assert_allclose(r.x, x0 - 0.1 * g / np.linalg.norm(g))
    r = solvers.gd(quad, x0, lr=0.1, clip_value=5.0, maxiter=1, gtol=0.0)
    np.testing.assert_allclose(r.x, x0 - 0.1 * np.clip(g, -5, 5))


def test_gd_linear_rate_on_quadratic(quad):
    # lr = 1/L: the stiff coordinate is solved in one step, the other contracts by 1 - mu/L = 0.9,
    # so f contracts by 0.81 per step.
    r = solvers.gd(quad, [3.0, 1.0], lr=0.1, maxiter=60, gtol=0.0, history=True)
    ratios = r.history["fun"][2:] / r.history["fun"][1:-1]
    np.testing.assert_allclose(ratios, 0.81, rtol=1e-9)


def test_momentum_beats_gd_on_ill_conditioned_quadratic(quad):
    L, mu = 10.0, 1.0
    lr = 4 / (math.sqrt(L) + math.sqrt(mu))**2
    beta = ((math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1))**2
    r_gd = solvers.gd(quad, [3.0, 1.0], lr=1 / L, maxiter=5000, gtol=1e-10)
    r_hb = solvers.momentum(quad, [3.0, 1.0], lr=lr, beta=beta, maxiter=5000, gtol=1e-10)
    r_n = solvers.nesterov(quad, [3.0, 1.0], lr=1 / L, beta=0.5, maxiter=5000, gtol=1e-10)
    assert r_gd.success and r_hb.success and r_n.success
    assert r_hb.nit < r_gd.nit and r_n.nit < r_gd.nit


@pytest.mark.parametrize("rule", ["gd", "momentum", "nesterov"])
def test_too_large_learning_rate_diverges_and_says_so(quad, rule):
    # stable only for lr * L < 2 (gd), 2 (1 + beta) (heavy ball), 2 (1 + beta) / (1 + 2 beta) (nesterov)
    r = getattr(solvers, rule)(quad, [3.0, 1.0], lr=0.5, maxiter=10000)
    assert not r.success and r.status is solvers.Status.DIVERGED
    assert "learning rate" in r.message
    assert r.nit < 200


def test_nan_start_is_non_finite():
    t = sp.Symbol("t")
    obj = codegen.compile(sp.log(t) ** 2, [t])
    r = solvers.adam(obj, [-1.0], lr=0.1)
    assert r.status is solvers.Status.NON_FINITE and not r.success and r.nit == 0


@pytest.fixture(scope="module")
def regression():
    w, b, xi, yi = sp.symbols("w b x y")
    obj = codegen.compile((w * xi + b - yi)**2, [w, b], data=[xi, yi], reduce="mean")
    rng = np.random.default_rng(0)
    X = rng.normal(size=200)
    Y = 2.0 * X - 1.0 + 0.1 * rng.normal(size=200)
    A = np.column_stack([X, np.ones_like(X)])
    return obj, (X, Y), np.linalg.lstsq(A, Y, rcond=None)[0]


def test_minibatch_sgd_is_reproducible_and_converges(regression):
    obj, data, w_ls = regression
    kw = dict(args=data, lr=0.05, batch_size=20, epochs=30, gtol=0.0, schedule=S.Exponential(0.995))
    r1 = solvers.momentum(obj, [0.0, 0.0], seed=1, **kw)
    r2 = solvers.momentum(obj, [0.0, 0.0], seed=1, **kw)
    r3 = solvers.momentum(obj, [0.0, 0.0], seed=2, **kw)
    assert np.array_equal(r1.x, r2.x) and not np.array_equal(r1.x, r3.x)
    assert r1.nit == 30 * 10  # steps = epochs * ceil(N / batch_size)
    np.testing.assert_allclose(r1.x, w_ls, atol=0.05)


def test_minibatch_with_callback_same_iterates_and_global_rng_untouched(regression):
    obj, data, _ = regression
    kw = dict(args=data, lr=0.05, batch_size=20, epochs=3, gtol=0.0, seed=1)
    r = solvers.momentum(obj, [0.0, 0.0], **kw)
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    seen = []
    r_cb = solvers.momentum(obj, [0.0, 0.0], callback=seen.append, **kw)
    assert np.random.random() == expected  # the user's global NumPy stream is not reseeded
    np.testing.assert_allclose(r_cb.x, r.x, rtol=1e-12)
    assert len(seen) == 3 and np.array_equal(seen[-1], r_cb.x)


def test_minibatch_on_row_subset_and_full_batch_adam(regression):
    obj, data, w_ls = regression
    r = solvers.adam(obj, [0.0, 0.0], args=data, lr=0.05, maxiter=5000, gtol=1e-7)
    assert r.success
    np.testing.assert_allclose(r.x, w_ls, atol=1e-5)
    sub = np.arange(0, 200, 2)
    rs = solvers.adam(obj, [0.0, 0.0], args=data, rows=sub, lr=0.05, batch_size=10, epochs=40,
                      gtol=0.0, schedule=S.Cosine(400, 1e-4), history=True)
    assert len(rs.history["fun"]) == 41  # one full-objective record per epoch
    A = np.column_stack([data[0][sub], np.ones(100)])
    np.testing.assert_allclose(rs.x, np.linalg.lstsq(A, data[1][sub], rcond=None)[0], atol=0.05)


def test_batch_size_needs_data(quad):
    with pytest.raises(ValueError, match="data objective"):
        solvers.gd(quad, [0.0, 0.0], batch_size=4)
