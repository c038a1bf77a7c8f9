"""Derivatives of non-smooth functions: DiracDelta terms shown or dropped (dirac=), and said.

The oracle for "what is printed is what is computed": central differences of the gradient
at points away from the kinks, and (once) the compiled Hessian of codegen.
"""
import numpy as np
import pytest
import sympy as sp

import derive
from derive import ml
from derive.smoothness import almost_everywhere_note, has_dirac

x, y, w, b = sp.symbols("x y w b")


def _fd_hessian(f, wrt, point, h=1e-6):
    """Central differences of the (lambdified) gradient: the Hessian a numerical method sees."""
    g = sp.lambdify(wrt, derive.gradient(f, wrt), "numpy")
    n = len(wrt)
    H = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        H[:, j] = (np.array(g(*(point + e)), dtype=float) - np.array(g(*(point - e)), dtype=float)).ravel() / (2 * h)
    return H


def _at(M, wrt, point):
    return np.array(M.subs(dict(zip(wrt, point))).evalf(), dtype=float)


def test_abs_hessian_kept_and_dropped():
    f = sp.Abs(x) + x**2
    kept = derive.hessian(f, [x])
    assert kept == sp.Matrix([[2 * sp.DiracDelta(x) + 2]])
    dropped = derive.hessian(f, [x], dirac="drop")
    assert dropped == sp.Matrix([[2]]) and not has_dirac(dropped)
    for p in (-1.3, 0.7, 2.0):
        assert np.allclose(_at(dropped, [x], [p]), _fd_hessian(f, [x], np.array([p])), atol=1e-5)
    assert "derivative taken almost everywhere" in almost_everywhere_note(f, [x], kept)
    assert "DiracDelta" in almost_everywhere_note(f, [x], kept)
    assert "dropped" in almost_everywhere_note(f, [x], dropped, dropped=True)


@pytest.mark.parametrize("relu_of", [lambda u: sp.Max(0, u), ml.relu])
def test_relu_hessian_in_weight_and_bias(relu_of):
    f = relu_of(3 * w + b) + w**2 / 2
    kept = derive.hessian(f, [w, b])
    assert has_dirac(kept)
    dropped = derive.hessian(f, [w, b], dirac="drop")
    assert dropped == sp.Matrix([[1, 0], [0, 0]])
    rng = np.random.default_rng(0)
    for p in rng.normal(size=(5, 2)):
        assert np.allclose(_at(dropped, [w, b], p), _fd_hessian(f, [w, b], p), atol=1e-5)


def test_piecewise_derivative_is_branchwise_and_said():
    f = sp.Piecewise((x**2 * y, x > 0), (y, True))
    H = derive.hessian(f, [x, y], dirac="drop")
    assert H == derive.hessian(f, [x, y])  # SymPy differentiates a Piecewise branch by branch
    for p in ([0.8, -0.4], [-1.1, 2.0]):
        assert np.allclose(_at(H, [x, y], p), _fd_hessian(f, [x, y], np.array(p)), atol=1e-5)
    note = almost_everywhere_note(f, [x, y], H)
    assert note.startswith("derivative taken almost everywhere") and "x = 0" in note
    # a jump: the derivative 1 holds everywhere but at x = 0, where f has no derivative
    assert derive.gradient(sp.Piecewise((x, x > 0), (x + 1, True)), x) == sp.Matrix([[1]])


def test_heaviside_sign_and_higher_dirac_derivatives_drop():
    J = derive.jacobian([sp.Heaviside(x) * y, sp.sign(x)], [x, y], dirac="drop")
    assert J == sp.Matrix([[0, sp.Heaviside(x)], [0, 0]])
    third = derive.hessian(sp.Heaviside(x) * x**2, x)  # x**2*DiracDelta(x, 1) + 4*x*DiracDelta(x) + ...
    assert has_dirac(derive.gradient(sp.DiracDelta(x), x))  # DiracDelta(x, 1)
    assert derive.gradient(sp.DiracDelta(x), x, dirac="drop") == sp.Matrix([[0]])
    assert derive.hessian(sp.Heaviside(x) * x**2, x, dirac="drop") == sp.Matrix([[2 * sp.Heaviside(x)]])
    assert has_dirac(third)
    assert derive.directional_derivative(sp.Heaviside(x) + y, [x, y], [1, 1], dirac="drop") == 1


def test_smooth_functions_are_unchanged_and_unnoted():
    f = sp.exp(x * y) + sp.sin(x)
    assert derive.hessian(f, [x, y], dirac="drop") == derive.hessian(f, [x, y])
    assert almost_everywhere_note(f, [x, y], derive.hessian(f, [x, y])) is None


def test_bad_dirac_value_is_named():
    for bad in ("yes", True, None):
        with pytest.raises(derive.InputError, match="dirac must be"):
            derive.gradient(x, x, dirac=bad)


def test_taylor_at_a_symbolic_point_drops_dirac():
    a = sp.Symbol("a")
    kept = derive.taylor(sp.Abs(x) * x, x, a, order=2)
    assert has_dirac(kept)
    dropped = derive.taylor(sp.Abs(x) * x, x, a, order=2, dirac="drop")
    assert not has_dirac(dropped)
    assert sp.simplify((kept - dropped).subs(a, 1)) == 0  # DiracDelta(1) is 0 anyway


def test_explanation_says_almost_everywhere():
    e = derive.explain(sp.Abs(sp.sin(x)), x)
    assert "derivative taken almost everywhere" in str(e) and "sin(x) = 0" in e.note
    assert derive.explain(sp.sin(x) ** 2, x).note is None


def test_printed_hessian_is_what_codegen_computes():
    codegen = pytest.importorskip("codegen")
    f = ml.relu(2 * w - b) + sp.Abs(w + b) + w**2
    printed = derive.hessian(f, [w, b], dirac="drop")
    compiled = codegen.compile(f, [w, b])
    for p in ([0.3, 0.1], [-0.5, 0.2], [1.0, -2.0]):
        assert np.allclose(compiled.hess(np.array(p)), _at(printed, [w, b], p))
