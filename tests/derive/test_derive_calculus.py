"""gradient / jacobian / hessian / directional_derivative against independent oracles."""
import pytest
import sympy as sp
from hypothesis import given, settings

from derive import directional_derivative, gradient, hessian, jacobian
from derive_strategies import VARS, central_difference, expressions, mp_eval, points

FAST = settings(max_examples=30, deadline=None)


def close(a, b, rtol=1e-8, atol=1e-8):
    a, b = complex(a), complex(b)
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


@FAST
@given(expressions, points)
def test_gradient_matches_central_differences(f, p):
    g = gradient(f, VARS)
    assert g.shape == (2, 1)
    for i in range(2):
        assert close(mp_eval(g[i], p), central_difference(f, p, i), rtol=1e-7, atol=1e-7)


@FAST
@given(expressions, points)
def test_hessian_symmetric_and_matches_other_order(f, p):
    H = hessian(f, VARS)
    assert H == H.T
    # oracle: sympy's own mixed derivative, differentiated in the opposite order
    for i in range(2):
        for j in range(2):
            other = sp.diff(sp.diff(f, VARS[j]), VARS[i])
            assert close(mp_eval(H[i, j], p), mp_eval(other, p), rtol=1e-10, atol=1e-10)


@FAST
@given(expressions)
def test_plain_symbols_give_real_derivatives(f):
    e = f + sp.Abs(f)
    assert not gradient(e, VARS).has(sp.re, sp.im)
    assert not hessian(e, VARS).has(sp.re, sp.im)


def test_abs_derivative_is_sign():
    x = sp.Symbol("x")
    assert gradient(sp.Abs(x), x)[0] == sp.sign(x)
    assert gradient(sp.Abs(x), [x])[0].free_symbols == {x}  # mapped back to the user's symbol


def test_user_assumptions_are_kept():
    x = sp.Symbol("x", positive=True)
    assert gradient(sp.sqrt(x**2), x)[0] == 1


def test_hessian_textbook():
    x, y = sp.symbols("x y")
    f = (1 - x) ** 2 + 100 * (y - x**2) ** 2  # Rosenbrock
    H = hessian(f, [x, y])
    assert sp.expand(H[0, 0] - (1200 * x**2 - 400 * y + 2)) == 0
    assert H[0, 1] == H[1, 0] == -400 * x
    assert H[1, 1] == 200


def test_jacobian_shape_and_values():
    x, y, z = sp.symbols("x y z")
    J = jacobian(sp.Matrix([x * y * z, x**2 + sp.sin(y)]), [x, y, z])
    assert J.shape == (2, 3)
    assert J == sp.Matrix([[y * z, x * z, x * y], [2 * x, sp.cos(y), 0]])
    assert jacobian(x**2, x) == sp.Matrix([[2 * x]])


def test_directional_derivative_is_gradient_dot_v():
    x, y = sp.symbols("x y")
    f = sp.exp(x) * sp.sin(y)
    v = [3, -1]
    assert sp.simplify(directional_derivative(f, [x, y], v) - (gradient(f, [x, y]).T * sp.Matrix(v))[0]) == 0
    with pytest.raises(ValueError, match="v has 1 components"):
        directional_derivative(f, [x, y], [1])


def test_bad_wrt_named():
    x, y = sp.symbols("x y")
    with pytest.raises(TypeError, match=r"wrt\[1\] = x\*\*2"):
        gradient(x, [x, x**2])
    with pytest.raises(ValueError, match="twice"):
        hessian(x, [x, y, x])
    with pytest.raises(ValueError, match="empty"):
        gradient(x, [])
    with pytest.raises(TypeError, match="wrt must be"):
        gradient(x, "x")


def test_non_scalar_f_names_shape():
    x, y = sp.symbols("x y")
    with pytest.raises(TypeError, match="2x1"):
        gradient(sp.Matrix([x, y]), [x, y])
    with pytest.raises(TypeError, match="not a sympy expression"):
        hessian(sp.Eq(x, 1), [x])
    assert gradient(sp.Matrix([[x * y]]), [x, y]) == sp.Matrix([y, x])


def test_jacobian_rejects_a_matrix_that_is_not_a_vector():
    x, y = sp.symbols("x y")
    with pytest.raises(TypeError, match="2x2"):
        jacobian(sp.Matrix([[x, y], [y, x]]), [x, y])
    with pytest.raises(TypeError, match=r"F\[1\]"):
        jacobian([x, sp.Eq(x, y)], [x, y])
