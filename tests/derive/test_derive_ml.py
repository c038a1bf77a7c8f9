"""derive.ml: activations and losses, their derivatives and values."""
import numpy as np
import pytest
import sympy as sp

from derive import gradient
from derive.ml import (binary_cross_entropy, cross_entropy, hinge, leaky_relu, log_softmax,
                       logsumexp, mse, relu, sigmoid, softmax, softplus, tanh)

z, y = sp.symbols("z y")  # plain symbols on purpose


def test_bce_of_sigmoid_derivative_is_sigmoid_minus_y():
    L = binary_cross_entropy(sigmoid(z), y)
    d = gradient(L, z)[0]
    assert sp.simplify(d - (sigmoid(z) - y)) == 0
    assert sp.expand(d) == sigmoid(z) - y


def test_log_sigmoid_stays_sigmoid_based():
    L = binary_cross_entropy(sigmoid(z), y)
    assert L.has(sp.log(sigmoid(z))) and L.has(sp.log(1 - sigmoid(z)))
    assert not L.has(sp.exp)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_softmax_cross_entropy_gradient_is_s_minus_y(k):
    zs = sp.symbols(f"z1:{k + 1}")
    ys = list(sp.symbols(f"y1:{k}")) + [1 - sum(sp.symbols(f"y1:{k}"))]  # sum(y) = 1
    s = softmax(zs)
    for L in (cross_entropy(s, ys), cross_entropy(zs, ys, from_logits=True)):
        g = gradient(L, zs)
        assert all(sp.simplify(g[i] - (s[i] - ys[i])) == 0 for i in range(k))
        assert not L.has(sp.exp)  # log(softmax) became z_i - logsumexp(z), no log(exp())


def test_softmax_and_log_softmax_values():
    v = [0.5, -1.0, 2.0]
    s = np.array([float(e) for e in softmax(v)])
    ref = np.exp(v) / np.exp(v).sum()
    assert np.allclose(s, ref) and np.isclose(s.sum(), 1)
    assert np.allclose([float(e) for e in log_softmax(v)], np.log(ref))
    assert softmax(sp.Matrix(sp.symbols("a b"))).shape == (2, 1)


def test_relu_family():
    assert sp.diff(relu(z), z) == sp.Heaviside(z, 0)
    assert gradient(relu(z), z)[0] == sp.Heaviside(z, 0)
    lr = leaky_relu(z, alpha=0.1)
    assert lr.subs(z, -2) == sp.Rational(-1, 5) and lr.subs(z, 3) == 3
    assert gradient(lr, z)[0] == sp.Rational(1, 10) + sp.Rational(9, 10) * sp.Heaviside(z, 0)


def test_tanh_and_softplus():
    assert tanh is sp.tanh
    assert gradient(softplus(z), z)[0] == sigmoid(z)
    assert float(softplus(3).rewrite(sp.exp)) == pytest.approx(np.logaddexp(0, 3))


def test_mse():
    p, t = sp.symbols("p t")
    assert mse(p, t) == (p - t) ** 2
    assert mse([1, 2, 3], [1, 1, 1]) == sp.Rational(5, 3)
    assert gradient(mse(sp.Matrix([p, t]), [0, 0]), [p, t]) == sp.Matrix([p, t])
    with pytest.raises(ValueError, match="2 entries"):
        mse([p, t], [1, 2, 3])


def test_hinge():
    s = sp.Symbol("s")
    assert hinge(s, 1) == sp.Max(0, 1 - s)
    assert hinge(2, 1) == 0 and hinge(-1, 1) == 2 and hinge(sp.Rational(1, 2), -1) == sp.Rational(3, 2)


def test_logsumexp_gradient_is_softmax():
    a, b = sp.symbols("a b")
    g = gradient(logsumexp(a, b), [a, b])
    assert list(g) == list(softmax([a, b]))
