"""Every solver method on a matrix model (issue 11): sizes are symbolic, n comes from x0.

One compiled objective serves every test: a ridge-penalised mean least-squares fit of a
polynomial whose coefficient vector w has the symbolic size d (known only from x0).  Its data
are two 1-D arrays, the argument layout of the scalar data objectives of test_minimize, so the
solver loops compiled there are reused.  The reference is SciPy's L-BFGS-B on the same compiled
value_and_grad, and NumPy's least squares.
"""
import numpy as np
import pytest
import scipy.optimize as so
import sympy as sp

import codegen
import solvers

d = sp.Symbol("d", integer=True, positive=True)
LAM = 1e-3


@pytest.fixture(scope="module")
def problem():
    w = sp.MatrixSymbol("w", d, 1)
    xi, yi, lam = sp.symbols("x y lam")
    k = sp.Symbol("k", integer=True)
    pred = sp.Sum(w[k, 0] * xi**k, (k, 0, d - 1))
    obj = codegen.compile((pred - yi)**2, [w], params=[lam], data=[xi, yi], reduce="mean",
                          penalty=lam / 2 * (w.T * w)[0, 0])
    rng = np.random.default_rng(0)
    N, dd = 60, 4
    X = rng.uniform(-1, 1, N)
    Y = 1 - 2 * X + 0.5 * X**3 + 0.1 * rng.normal(size=N)
    args = (np.array([LAM]), X, Y)
    ref = so.minimize(lambda v: obj.value_and_grad(v, *args), np.zeros(dd), jac=True,
                      method="L-BFGS-B", options=dict(gtol=1e-12, ftol=1e-15, maxiter=1000))
    # the normal equations of the same objective
    V = np.vander(X, dd, increasing=True)
    exact = np.linalg.solve(2 * V.T @ V / N + LAM * np.eye(dd), 2 * V.T @ Y / N)
    np.testing.assert_allclose(ref.x, exact, atol=1e-6)
    return obj, args, ref


@pytest.mark.parametrize("method", ["lbfgs", "newton", "newton-tr"])
def test_methods_reach_scipys_minimum(problem, method):
    obj, args, ref = problem
    r = solvers.minimize(obj, np.zeros(len(ref.x)), method=method, args=args,
                         options={"gtol": 1e-9})
    assert r.success, r.message
    assert r.fun == pytest.approx(ref.fun, rel=1e-10)
    np.testing.assert_allclose(r.x, ref.x, atol=1e-6)


def test_adam_on_mini_batches(problem):
    obj, args, ref = problem
    r = solvers.minimize(obj, np.zeros(len(ref.x)), method="adam", args=args,
                         options=dict(lr=0.1, batch_size=20, epochs=300, gtol=0.0, seed=3,
                                      schedule=solvers.schedules.Exponential(0.995)))
    f0 = obj.value_and_grad(np.zeros(len(ref.x)), *args)[0]
    f1 = obj.value_and_grad(r.x, *args)[0]
    assert f1 - ref.fun < 1e-4 * (f0 - ref.fun)


def test_n_from_x0_serves_every_degree(problem):
    obj, args, ref = problem
    assert obj.n is None
    for dd in (2, 6):  # the same kernels and loops, another size
        r = solvers.minimize(obj, np.zeros(dd), method="lbfgs", args=args,
                             options={"gtol": 1e-10})
        V = np.vander(args[1], dd, increasing=True)
        N = len(args[2])
        exact = np.linalg.solve(2 * V.T @ V / N + LAM * np.eye(dd), 2 * V.T @ args[2] / N)
        assert r.success and r.x.shape == (dd,)
        np.testing.assert_allclose(r.x, exact, atol=1e-6)
