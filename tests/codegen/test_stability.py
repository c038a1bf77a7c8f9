"""The stable rewrites: losses at z = +-800 give the right finite value and gradient."""
import math

import numpy as np
import pytest
import sympy as sp

import codegen
from codegen.rewrite import stabilize
from derive.ml import logsumexp, sigmoid, softplus

z = sp.Symbol("z")
y = sp.Symbol("y")


@pytest.fixture(scope="module")
def naive_losses():
    """Written the overflowing way; compiled through Numba once for the module."""
    a, b, c = sp.symbols("a b c")
    bce = -(y * sp.log(1 / (1 + sp.exp(-z))) + (1 - y) * sp.log(1 - 1 / (1 + sp.exp(-z))))
    return {
        "bce": codegen.compile(bce, [z], params=[y]),
        "softplus": codegen.compile(sp.log(1 + sp.exp(z)), [z]),
        "lse": codegen.compile(sp.log(sp.exp(a) + sp.exp(b) + sp.exp(c)), [a, b, c]),
        "xent": codegen.compile(-sp.log(sp.exp(a) / (sp.exp(a) + sp.exp(b) + sp.exp(c))),
                                [a, b, c]),
    }


@pytest.mark.parametrize("zv, yv", [(800.0, 1.0), (800.0, 0.0), (-800.0, 1.0), (-800.0, 0.0),
                                    (0.0, 1.0), (35.0, 0.0)])
def test_bce_with_logits(naive_losses, zv, yv):
    obj = naive_losses["bce"]
    ref = np.logaddexp(0, zv) - yv * zv
    sig = float(np.exp(-np.logaddexp(0, -zv)))
    v, g = obj.value_and_grad([zv], [yv])
    assert v == pytest.approx(ref, rel=1e-14, abs=1e-300)
    assert g[0] == pytest.approx(sig - yv, rel=1e-12, abs=1e-300)
    assert np.isfinite(obj.hess([zv], [yv])).all()


@pytest.mark.parametrize("zv", [-800.0, -30.0, 0.0, 30.0, 800.0])
def test_softplus(naive_losses, zv):
    obj = naive_losses["softplus"]
    assert obj.value([zv]) == pytest.approx(np.logaddexp(0, zv), rel=1e-14, abs=1e-300)
    assert obj.grad([zv])[0] == pytest.approx(float(np.exp(-np.logaddexp(0, -zv))), rel=1e-12,
                                              abs=1e-300)


@pytest.mark.parametrize("shift", [-800.0, 0.0, 800.0])
def test_logsumexp_and_cross_entropy(naive_losses, shift):
    x = np.array([1.0, 2.0, 3.0]) + shift
    lse = shift + np.log(np.exp(1.0) + np.exp(2.0) + np.exp(3.0))
    soft = np.exp(x - lse)
    assert naive_losses["lse"].value(x) == pytest.approx(lse, rel=1e-14)
    np.testing.assert_allclose(naive_losses["lse"].grad(x), soft, rtol=1e-12)
    H = naive_losses["lse"].hess(x)
    np.testing.assert_allclose(H, np.diag(soft) - np.outer(soft, soft), atol=1e-12)
    e = np.zeros(3)
    e[0] = 1
    assert naive_losses["xent"].value(x) == pytest.approx(lse - x[0], rel=1e-12)
    np.testing.assert_allclose(naive_losses["xent"].grad(x), soft - e, atol=1e-12)


def test_rewrite_rules():
    a, b = sp.symbols("a b")
    assert stabilize(sp.log(1 + sp.exp(z))) == softplus(z)
    assert stabilize(1 / (1 + sp.exp(-z))) == sigmoid(z)
    assert stabilize(sp.exp(z) / (1 + sp.exp(z))) == sigmoid(z)
    assert stabilize(sp.log(sigmoid(z))) == -softplus(-z)
    assert stabilize(sp.log(1 - sigmoid(z))) == -softplus(z)
    assert stabilize(sp.log(sp.exp(a) + sp.exp(b) + sp.exp(z))) == logsumexp(a, b, z)
    assert stabilize(sp.log(z**2 + 1)) == sp.log(z**2 + 1)  # untouched


def test_softplus_in_a_fastmath_data_sum_is_accurate_row_by_row():
    # The row loops of data sums are compiled with fastmath (reassoc); softplus's
    # log1p correction ((u - 1) - e) must not be reassociated away, else rows with
    # |z| in about 5..36 lose up to all of their digits (z = -30: log(1 + e) is 7% off).
    w = sp.Symbol("w")
    obj = codegen.compile(sp.log(1 + sp.exp(w * y)), [w], data=[y])
    zs = np.concatenate([np.linspace(-800.0, 800.0, 41), -np.geomspace(1e-12, 740.0, 60),
                         np.geomspace(1e-12, 740.0, 60), [0.0]])
    ref = np.array([max(v, 0.0) + math.log1p(math.exp(-abs(v))) for v in zs])
    # w = 1 and y = z per row: each single-row sum is softplus(z) itself.
    vals = np.array([obj.value([1.0], zs, rows=[i]) for i in range(zs.size)])
    np.testing.assert_allclose(vals, ref, rtol=4e-16, atol=0)
    assert obj.value([1.0], zs) == pytest.approx(math.fsum(ref), rel=1e-14)
    sig = np.exp(-np.logaddexp(0.0, -zs))
    assert obj.grad([1.0], zs)[0] == pytest.approx(math.fsum(sig * zs), rel=1e-12, abs=1e-12)
