"""codegen.kernels against NumPy formulas (the oracle) and its error messages."""
import numpy as np
import pytest
import sympy as sp

from codegen import kernels
from codegen.kernels import KernelError

RNG = np.random.default_rng(0)
A = RNG.normal(size=(7, 4))
B = RNG.normal(size=(5, 4))
GAMMA, COEF0 = 0.3, 0.7


def _reference(name, A, B, degree=3):
    D = A @ B.T
    if name == "linear":
        return D
    if name == "poly":
        return (GAMMA * D + COEF0) ** degree
    if name == "rbf":
        sq = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
        return np.exp(-GAMMA * sq)
    return np.tanh(GAMMA * D + COEF0)


@pytest.fixture(scope="module", params=["linear", "poly", "rbf", "sigmoid"])
def standard(request):
    return request.param, kernels.standard_kernel(request.param)


def test_matrix_and_diag(standard):
    name, k = standard
    p = [GAMMA, COEF0]
    np.testing.assert_allclose(k.matrix(A, B, p), _reference(name, A, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k.diag(A, p), np.diag(_reference(name, A, A)), rtol=1e-12)


def test_row_reads_X_through_idx(standard):
    name, k = standard
    p = np.array([GAMMA, COEF0])
    idx = np.array([3, 0, 6, 2, 5])
    out = np.full(5, -7.0, np.float32)
    k.row(A, k.sq_norms(A), p, 1, idx, 1, 4, out)
    ref = _reference(name, A[1:2], A[idx])[0]
    np.testing.assert_allclose(out[1:4], ref[1:4], rtol=1e-6, atol=1e-6)
    assert out[0] == -7.0 and out[4] == -7.0     # only [start, stop) is written


def test_pairwise_kernel_with_params_and_cse():
    x, z = sp.symbols("x0:4"), sp.symbols("z0:4")
    s = sp.Symbol("s", positive=True)
    d2 = sum((a - b) ** 2 for a, b in zip(x, z))
    k = kernels.pairwise_kernel((1 + d2 / (2 * s)) ** -2 + sp.exp(-d2 / s), x, z, params=[s],
                                param_values=[1.5])
    sq = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    ref = (1 + sq / 3.0) ** -2 + np.exp(-sq / 1.5)
    np.testing.assert_allclose(k.matrix(A, B), ref, rtol=1e-12)
    assert "_c0" in k.source                        # the shared d2 is computed once
    with pytest.raises(KernelError, match="compiled for 4 features"):
        k.matrix(A[:, :3], B[:, :3])


def test_inner_product_kernel_is_dimension_independent():
    k = kernels.inner_product_kernel(kernels.XZ ** 2 + kernels.XX * kernels.ZZ, name="t")
    for d in (1, 3, 9):
        X = RNG.normal(size=(4, d))
        D, n = X @ X.T, (X * X).sum(1)
        np.testing.assert_allclose(k.matrix(X, X), D ** 2 + np.outer(n, n), rtol=1e-12)


def test_callable_kernel_is_traced():
    k = kernels.kernel_from_callable(lambda x, z: sp.exp(-(x - z).dot(x - z)), 4)
    np.testing.assert_allclose(k.matrix(A, B),
                               np.exp(-((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)),
                               rtol=1e-12)


def test_errors_name_the_culprit():
    x, z = sp.symbols("x0:2"), sp.symbols("z0:2")
    w = sp.Symbol("w")
    with pytest.raises(KernelError, match=r"\['w'\]"):
        kernels.pairwise_kernel(w * x[0] * z[0], x, z)
    with pytest.raises(ValueError, match="mystery"):
        kernels.pairwise_kernel(sp.Function("mystery")(x[0] * z[0]), x, z)
    with pytest.raises(KernelError, match="equal length"):
        kernels.pairwise_kernel(x[0] * z[0], x, z[:1])
    with pytest.raises(KernelError, match="unknown kernel 'cubic'"):
        kernels.standard_kernel("cubic")
    with pytest.raises(KernelError, match="degree"):
        kernels.standard_kernel("poly", degree=-1)
    with pytest.raises(KernelError, match="could not be traced"):
        kernels.kernel_from_callable(lambda x, z: np.exp(np.asarray(x, dtype=float)), 2)


def test_kernel_text_is_read_as_a_formula_never_run(tmp_path):
    k = kernels.inner_product_kernel("exp(-gamma*(xx - 2*xz + zz))", params=(kernels.GAMMA,),
                                     name="text")
    np.testing.assert_allclose(k.matrix(A, B, [GAMMA]), _reference("rbf", A, B), rtol=1e-12)
    x, z = sp.symbols("x0:2", real=True), sp.symbols("z0:2", real=True)
    k2 = kernels.pairwise_kernel("(1 + x0*z0 + x1*z1)**2", x, z)
    np.testing.assert_allclose(k2.matrix(A[:, :2], B[:, :2]), (1 + A[:, :2] @ B[:, :2].T) ** 2,
                               rtol=1e-12)
    # text is data: attribute access and calls outside the whitelist are refused, not run
    probe = tmp_path / "p"
    with pytest.raises(KernelError):
        kernels.inner_product_kernel(f"__import__('pathlib').Path({str(probe)!r}).touch()")
    with pytest.raises(KernelError):
        kernels.as_kernel(("x0.__class__", x, z), 2)
    assert not probe.exists()


def test_precomputed_kernel_reads_the_gram_matrix():
    k = kernels.precomputed_kernel()
    G = A @ A.T
    idx = np.array([3, 0, 6, 2])
    out = np.zeros(4, np.float32)
    k.row(G, np.zeros(7), np.zeros(0), 5, idx, 0, 4, out)
    np.testing.assert_allclose(out, G[5, idx], rtol=1e-6)
    np.testing.assert_allclose(k.diag(G), np.diag(G))
    assert kernels.precomputed_kernel() is k            # one compiled row for every Gram matrix
    with pytest.raises(KernelError, match="no formula"):
        k.matrix(A, B)
    import pickle  # noqa: PLC0415
    assert pickle.loads(pickle.dumps(k)) is k


def test_traced_and_is_symbolic():
    t = kernels.traced(lambda x, z: sp.exp(-(x - z).dot(x - z)), name="gauss")
    assert not callable(t) and kernels.is_symbolic(t)
    k = kernels.as_kernel(t, 4)
    np.testing.assert_allclose(k.matrix(A, B), _reference("rbf", A, B) ** (1 / GAMMA),
                               rtol=1e-12)
    assert kernels.is_symbolic(kernels.XZ) and kernels.is_symbolic(k)
    assert not kernels.is_symbolic(lambda X, Y: X @ Y.T)
    with pytest.raises(KernelError, match="needs a function"):
        kernels.traced(3)
