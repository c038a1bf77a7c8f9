"""Newton: modified Cholesky, saddles, sparse path, unusable Hessians; Steihaug-CG."""
import numpy as np
import pytest
import sympy as sp

import codegen
import solvers
from solvers.adapter import as_kernels


def test_modified_cholesky_positive_definite_untouched():
    H = np.array([[4.0, 1.0], [1.0, 3.0]])
    L, tau, ok = solvers.modified_cholesky(H, 1e-3, 60)
    assert ok and tau == 0.0 and np.allclose(L @ L.T, H)


def test_modified_cholesky_indefinite_shifted():
    H = np.array([[1.0, 0.0], [0.0, -2.0]])
    L, tau, ok = solvers.modified_cholesky(H, 1e-3, 60)
    assert ok and tau > 2.0
    assert np.allclose(L @ L.T, H + tau * np.eye(2))
    assert np.all(np.linalg.eigvalsh(H + tau * np.eye(2)) > 0)


@pytest.fixture(scope="module")
def saddle():
    x, y = sp.symbols("x y")
    # saddle at the origin, minima at (0, +-1/sqrt(2)), f* = -1/4
    return codegen.compile(x**2 - y**2 + y**4, [x, y])


@pytest.mark.parametrize("sparse", [False, True])
def test_newton_never_climbs_towards_a_saddle(saddle, sparse):
    r = solvers.newton(saddle, [1.0, 0.01], history=True, sparse=sparse)
    assert r.success and r.fun == pytest.approx(-0.25)
    assert abs(r.x[1]) == pytest.approx(2**-0.5)
    assert np.all(np.diff(r.history["fun"]) < 0)  # every step is downhill
    # pure Newton (no modification) would jump to the saddle: its step from here is -H^{-1} g
    H, g = saddle.hess([1.0, 0.01]), saddle.grad([1.0, 0.01])
    assert np.allclose(np.array([1.0, 0.01]) - np.linalg.solve(H, g), 0.0, atol=1e-3)


def test_newton_tr_escapes_saddle_along_negative_curvature(saddle):
    r = solvers.newton_tr(saddle, [1.0, 1e-6])
    assert r.success and r.fun == pytest.approx(-0.25)


def test_steihaug_cg_stays_in_region(rosen):
    kern = as_kernels(rosen)
    x = np.array([-1.2, 1.0])
    g = rosen.grad(x)
    for delta in (1e-3, 0.1, 10.0):
        p, Hp, boundary, nhp, finite = solvers.steihaug_cg(kern.hessp, kern.kargs, x, g, delta, 1e-10, 20)
        assert finite and np.linalg.norm(p) <= delta * (1 + 1e-12)
        assert np.allclose(Hp, rosen.hess(x) @ p)
        assert g @ p + 0.5 * p @ Hp < 0  # model decrease


def test_hessian_not_usable_is_reported():
    x, y = sp.symbols("x y", real=True)
    # |x|^(3/2): gradient finite at x = 0, second derivative infinite there
    obj = codegen.compile(sp.Abs(x)**sp.Rational(3, 2) + (y - 2)**2, [x, y])
    r = solvers.newton(obj, [0.0, 0.0])
    assert not r.success and r.status is solvers.Status.HESSIAN_NOT_USABLE
    assert "Hessian" in r.message
