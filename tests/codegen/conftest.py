"""Fixtures shared by the codegen tests: compiled objectives are built once per session."""
import numpy as np
import pytest
import sympy as sp

import codegen


@pytest.fixture(scope="session")
def rosen2():
    a, b = sp.symbols("a b")
    f = (1 - a)**2 + 100 * (b - a**2)**2
    return codegen.compile(f, [a, b]), f, (a, b)


@pytest.fixture(scope="session")
def smooth_jit():
    """One objective with params exercising many printer paths, through real Numba."""
    x, y, z = sp.symbols("x y z")
    k, c = sp.symbols("k c")
    f = (sp.exp(sp.sin(x) * y) + k * sp.log(1 + z**2) + sp.sqrt(2 + sp.cos(x * z))
         + sp.atan(y - c) * sp.tanh(z) + sp.erf(x / 3) + (x - y)**3 / (3 + y**2))
    return codegen.compile(f, [x, y, z], params=[k, c]), f, (x, y, z), (k, c)


@pytest.fixture(scope="session")
def logistic():
    """Per-row BCE-with-logits written the naive way; the rewrites must stabilise it."""
    d = 3
    w = sp.symbols(f"w0:{d}")
    b = sp.Symbol("b")
    xs = sp.symbols(f"x0:{d}")
    y = sp.Symbol("y")
    lam = sp.Symbol("lam")
    z = sum(wi * xi for wi, xi in zip(w, xs)) + b
    f = -(y * sp.log(1 / (1 + sp.exp(-z))) + (1 - y) * sp.log(1 - 1 / (1 + sp.exp(-z)))) \
        + lam * sum(wi**2 for wi in w)
    obj = codegen.compile(f, list(w) + [b], params=[lam], data=[xs, y])
    return obj, d


@pytest.fixture(scope="session")
def logistic_ref():
    return logistic_reference


def logistic_reference(theta, lam, X, Y):
    """NumPy BCE-with-logits sum, gradient and Hessian (the oracle)."""
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    val = np.sum(np.logaddexp(0, z) - Y * z) + len(Y) * lam * np.sum(w**2)
    s = np.exp(-np.logaddexp(0, -z))
    A = np.hstack([X, np.ones((len(Y), 1))])
    g = A.T @ (s - Y)
    g[:-1] += 2 * lam * len(Y) * w
    H = (A * (s * (1 - s))[:, None]).T @ A
    H[np.arange(len(w)), np.arange(len(w))] += 2 * lam * len(Y)
    return val, g, H


def _logistic_terms(d):
    w = sp.symbols(f"w0:{d}")
    b, y, C = sp.symbols("b y C")
    xs = sp.symbols(f"x0:{d}")
    z = sum(wi * xi for wi, xi in zip(w, xs)) + b
    loss = sp.log(1 + sp.exp(z)) - y * z
    return loss, list(w) + [b], [xs, y], C, sum(wi**2 for wi in w) / (2 * C)


@pytest.fixture(scope="session")
def penalized():
    """Regularised logistic loss, sum over rows + ||w||^2 / (2 C): scikit-learn's
    LogisticRegression(C=C) objective; compiled once (Numba) and shared."""
    loss, wrt, data, C, pen = _logistic_terms(4)
    obj = codegen.compile(loss, wrt, params=[C], data=data, penalty=pen)
    return obj, loss, wrt, data, C, pen


@pytest.fixture(scope="session")
def penalized_variants():
    """The same loss as plain Python kernels (jit=False: no Numba compile), by (reduce, penalty)."""
    loss, wrt, data, C, pen = _logistic_terms(2)
    return {(r, p): codegen.compile(loss, wrt, params=[C], data=data, reduce=r,
                                    penalty=pen if p else None, jit=False)
            for r in ("sum", "mean") for p in (True, False)}


@pytest.fixture(scope="session")
def penalized_ref():
    return penalized_reference


def penalized_reference(theta, C, X, Y, reduce="sum", penalty=True):
    """NumPy value, gradient and Hessian of the penalised logistic loss (the oracle)."""
    w = theta[:-1]
    z = X @ w + theta[-1]
    s = np.exp(-np.logaddexp(0, -z))
    A = np.hstack([X, np.ones((len(Y), 1))])
    val, g = np.sum(np.logaddexp(0, z) - Y * z), A.T @ (s - Y)
    H = (A * (s * (1 - s))[:, None]).T @ A
    if reduce == "mean":
        val, g, H = val / len(Y), g / len(Y), H / len(Y)
    if penalty:
        val += w @ w / (2 * C)
        g[:-1] += w / C
        H[np.arange(len(w)), np.arange(len(w))] += 1 / C
    return val, g, H
