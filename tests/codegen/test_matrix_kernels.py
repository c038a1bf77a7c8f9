"""The raw kernels of a matrix model with a penalty: serial and parallel variants, sum and mean.

The public kernels hold the row loop and the penalty's lines themselves (no call of
``_acc_<kind>`` / ``_pen_<kind>``); the ``*_parallel`` ones sum row chunks and add the penalty
after binding the sizes.  Checked against NumPy on the module run as plain Python
(``jit=False``: no Numba compile, cheap).
"""
import numpy as np
import pytest
import sympy as sp

import codegen
from derive.ml import softplus

d = sp.Symbol("d", integer=True, positive=True)


@pytest.fixture(scope="module", params=["sum", "mean"])
def penalized(request):
    w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
    y, lam = sp.symbols("y lam")
    z = (w.T * x)[0, 0]
    obj = codegen.compile(softplus(z) - y * z, [w], params=[lam], data=[x, y],
                          reduce=request.param, penalty=lam / 2 * (w.T * w)[0, 0], jit=False)
    return request.param, obj


def _reference(reduce, w, X, Y, lam):
    z = X @ w
    s = 1.0 / (1.0 + np.exp(-z))
    c = 1.0 if reduce == "sum" else 1.0 / len(Y)
    value = c * np.sum(np.logaddexp(0.0, z) - Y * z) + lam / 2 * w @ w
    grad = c * X.T @ (s - Y) + lam * w
    hess = c * (X.T * (s * (1.0 - s))) @ X + lam * np.eye(len(w))
    return value, grad, hess


@pytest.mark.parametrize("N, D", [(1, 1), (40, 6)])
def test_serial_and_parallel_kernels_agree_with_numpy(penalized, N, D):
    reduce, obj = penalized
    rng = np.random.default_rng(N + D)
    X, w, v = rng.normal(size=(N, D)), rng.normal(size=D), rng.normal(size=D)
    Y = (rng.random(N) > 0.5) * 1.0
    lam = 0.3
    value, grad, hess = _reference(reduce, w, X, Y, lam)
    kargs = obj.pack_args(np.array([lam]), X, Y)
    for ns in (obj.jit, obj.jit_parallel):
        v1, g1 = ns.value_and_grad(w, *kargs)
        assert v1 == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(g1, grad, rtol=1e-11, atol=1e-14)
        assert ns.value(w, *kargs) == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(ns.grad(w, *kargs), grad, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(ns.hessp(w, v, *kargs), hess @ v, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(obj.jit.hess(w, *kargs), hess, rtol=1e-11, atol=1e-14)
