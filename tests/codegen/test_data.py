"""Sums over data rows: equal to a NumPy reference, rows subsets, mean, shape errors."""
import numpy as np
import pytest
import sympy as sp

import codegen
from codegen.errors import ArgumentError


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    Y = (rng.uniform(size=500) < 0.5).astype(float)
    return X, Y


def test_logistic_sum_matches_numpy(logistic, batch, logistic_ref):
    obj, d = logistic
    X, Y = batch
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    lam = 0.01
    v, g, H = logistic_ref(theta, lam, X, Y)
    assert obj.value(theta, [lam], X, Y) == pytest.approx(v, rel=1e-12)
    vv, gg = obj.value_and_grad(theta, [lam], X, Y)
    assert vv == pytest.approx(v, rel=1e-12)
    np.testing.assert_allclose(gg, g, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(obj.grad(theta, [lam], X, Y), g, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(obj.hess(theta, [lam], X, Y), H, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(obj.hess_sparse(theta, [lam], X, Y).toarray(), H, rtol=1e-11,
                               atol=1e-9)
    u = np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(obj.hessp(theta, u, [lam], X, Y), H @ u, rtol=1e-11, atol=1e-9)


def test_rows_subset_equals_sliced_data(logistic, batch, logistic_ref):
    obj, d = logistic
    X, Y = batch
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    rows = np.array([3, 7, 7, 100, 499])
    v, g, H = logistic_ref(theta, 0.0, X[rows], Y[rows])
    vv, gg = obj.value_and_grad(theta, [0.0], X, Y, rows=rows)
    assert vv == pytest.approx(v, rel=1e-12)
    np.testing.assert_allclose(gg, g, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(obj.hess(theta, [0.0], X, Y, rows=rows), H, rtol=1e-12, atol=1e-12)
    mask = np.zeros(len(Y), bool)
    mask[[1, 2]] = True
    assert obj.value(theta, [0.0], X, Y, rows=mask) == pytest.approx(
        logistic_ref(theta, 0.0, X[[1, 2]], Y[[1, 2]])[0], rel=1e-12)


def test_raw_kernels_with_pack_args(logistic, batch):
    """The contract the solvers rely on: jit kernels called with pack_args' tuple."""
    obj, d = logistic
    X, Y = batch
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    kargs = obj.pack_args([0.0], X, Y)
    p, rows, dX, dY = kargs
    assert rows.dtype == np.int64 and np.array_equal(rows, np.arange(len(Y)))
    v, g = obj.jit.value_and_grad(theta, *kargs)
    v2, g2 = obj.value_and_grad(theta, [0.0], X, Y)
    assert v == v2 and np.array_equal(g, g2)
    assert obj.jit.value(theta, p, rows[:10], dX, dY) == pytest.approx(
        obj.value(theta, [0.0], X, Y, rows=np.arange(10)))


def test_parallel_kernel_equals_serial(logistic):
    obj, d = logistic
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 3))
    Y = (rng.uniform(size=20000) < 0.5).astype(float)
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    kargs = obj.pack_args([0.01], X, Y)
    v1, g1 = obj.jit.value_and_grad(theta, *kargs)
    v2, g2 = obj.jit_parallel.value_and_grad(theta, *kargs)
    assert v2 == pytest.approx(v1, rel=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=1e-11)


def test_mean_reduce_and_vector_data():
    w, b = sp.symbols("w b")
    t, y = sp.symbols("t y")
    obj = codegen.compile((w * t + b - y)**2, [w, b], data=[t, y], reduce="mean", jit=False)
    T = np.linspace(0, 1, 7)
    Y = 2 * T + 1 + np.sin(T)
    theta = np.array([1.5, 0.5])
    r = theta[0] * T + theta[1] - Y
    assert obj.value(theta, T, Y) == pytest.approx(np.mean(r**2), rel=1e-13)
    np.testing.assert_allclose(obj.grad(theta, T, Y), [np.mean(2 * r * T), np.mean(2 * r)],
                               rtol=1e-13)
    np.testing.assert_allclose(obj.hess(theta, T, Y),
                               [[np.mean(2 * T * T), np.mean(2 * T)], [np.mean(2 * T), 2.0]],
                               rtol=1e-13)


def test_bad_shapes_name_the_argument(logistic, batch):
    obj, d = logistic
    X, Y = batch
    theta = np.zeros(4)
    with pytest.raises(ArgumentError, match=r"x must be a 1-D array of length 4"):
        obj.value(np.zeros(3), [0.0], X, Y)
    with pytest.raises(ArgumentError, match=r"params .* length 1"):
        obj.value(theta, [0.0, 1.0], X, Y)
    with pytest.raises(ArgumentError, match=r"data\[0\] must be a 2-D array of shape \(N, 3\)"):
        obj.value(theta, [0.0], X[:, :2], Y)
    with pytest.raises(ArgumentError, match=r"data\[1\] has 499 rows"):
        obj.value(theta, [0.0], X, Y[:-1])
    with pytest.raises(ArgumentError, match=r"expected 3 trailing"):
        obj.value(theta, X, Y)
    with pytest.raises(ArgumentError, match=r"rows must lie in \[0, 500\)"):
        obj.value(theta, [0.0], X, Y, rows=[0, 500])
    with pytest.raises(ArgumentError, match=r"v must be a 1-D array of length 4"):
        obj.hessp(theta, np.zeros(2), [0.0], X, Y)
    assert isinstance(ArgumentError("x"), ValueError)


def test_nan_is_not_hidden(rosen2):
    obj = rosen2[0]
    assert np.isnan(obj.value([np.nan, 1.0]))
    assert np.isnan(obj.grad([np.nan, 1.0])).all()


def test_order_one_has_no_hessian():
    a, b = sp.symbols("a b")
    obj = codegen.compile(a**2 * b, [a, b], order=1, jit=False)
    assert obj.grad([1.0, 2.0]).tolist() == [4.0, 1.0]
    with pytest.raises(codegen.CodegenError, match="order=2"):
        obj.hess([1.0, 2.0])


def test_kernels_are_callable_from_other_numba_code(logistic, batch):
    """Solvers pass obj.jit.value_and_grad into their own @njit loops (mini-batches)."""
    import numba

    @numba.njit
    def two_batches(vg, x, p, X, Y):
        v1, g1 = vg(x, p, np.arange(0, 10), X, Y)
        v2, g2 = vg(x, p, np.arange(10, 20), X, Y)
        return v1 + v2, g1 + g2

    obj, d = logistic
    X, Y = batch
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    p, rows, dX, dY = obj.pack_args([0.0], X, Y)
    v, g = two_batches(obj.jit.value_and_grad, theta, p, dX, dY)
    v2, g2 = obj.value_and_grad(theta, [0.0], X, Y, rows=np.arange(20))
    assert v == pytest.approx(v2, rel=1e-13)
    np.testing.assert_allclose(g, g2, rtol=1e-12)


def test_plain_methods_accept_any_x_and_reject_extra_arguments(rosen2):
    # Objectives without params or data take a fast path in the methods; it must
    # convert and check x exactly like the general path.
    obj = rosen2[0]
    x = np.array([-1.2, 1.0])
    strided = np.array([-1.2, 0.0, 1.0])[::2]
    for xi in ([-1.2, 1.0], np.array([-1.2, 1.0], dtype=np.float32), strided, x.astype(">f8")):
        assert obj.value(xi) == pytest.approx(obj.value(x), rel=1e-6)
        np.testing.assert_allclose(obj.grad(xi), obj.grad(x), rtol=1e-6)
        np.testing.assert_allclose(obj.hess(xi), obj.hess(x), rtol=1e-6)
    np.testing.assert_allclose(obj.hess(x), [[1330.0, 480.0], [480.0, 200.0]])
    with pytest.raises(ArgumentError, match="length 2"):
        obj.grad(np.zeros(3))
    with pytest.raises(ArgumentError, match="trailing argument"):
        obj.grad(x, np.zeros(1))
    with pytest.raises(ArgumentError, match="rows="):
        obj.value(x, rows=[0])


def test_complex_nonfinite_and_empty_arguments_are_refused(logistic, batch):
    import warnings
    obj, d = logistic
    X, Y = batch
    theta = np.zeros(4)
    Xn = X.copy()
    Xn[7, 2] = np.nan
    Yi = Y.copy()
    Yi[3] = -np.inf
    cases = [
        ((theta, [0.0], X + 1j, Y), r"data\[0\].*complex"),
        ((theta, [0.0 + 2j], X, Y), r"params.*complex"),
        ((theta + 1j, [0.0], X, Y), r"x.*complex"),
        ((theta, [0.0], Xn, Y), r"data\[0\].*nan.*row 7"),
        ((theta, [0.0], X, Yi), r"data\[1\].*-inf.*row 3"),
        ((theta, [np.nan], X, Y), r"params\[0\] is nan"),
        ((theta, [0.0], X[:0], Y[:0]), r"0 rows"),
        ((theta, [0.0], X.astype(object), Y), r"data\[0\].*real numbers"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused, never truncated with a ComplexWarning
        for args, msg in cases:
            for method in (obj.value, obj.grad, obj.value_and_grad, obj.hess):
                with pytest.raises(ArgumentError, match=msg):
                    method(*args)
            if args[0] is theta:  # pack_args checks everything but x
                with pytest.raises(ArgumentError, match=msg):
                    obj.pack_args(*args[1:])
        with pytest.raises(ArgumentError, match="rows selects no row"):
            obj.value(theta, [0.0], X, Y, rows=np.zeros(0, dtype=int))
        with pytest.raises(ArgumentError, match=r"x.*complex"):
            logistic[0].value(np.zeros(4) + 1j, [0.0], X, Y)


def test_plain_objective_refuses_complex_x(rosen2):
    with pytest.raises(ArgumentError, match="complex"):
        rosen2[0].value(np.array([1.0 + 1j, 1.0]))


def test_string_formulas_are_parsed_never_executed(tmp_path):
    target = tmp_path / "pwned"
    x, y = sp.symbols("x y")
    with pytest.raises(ValueError, match="__import__|attribute|not allowed|refused"):
        codegen.compile(f"__import__('os').system('touch {target}') + x", [x])
    with pytest.raises(ValueError):
        codegen.compile("x**2", [f"__import__('os').system('touch {target}')"])
    with pytest.raises(ValueError):
        codegen.compile_vector([f"__import__('pathlib').Path('{target}').touch()"], [x])
    assert not target.exists()
    obj = codegen.compile("(x - 1)**2 + 3*y**2", ["x", "y"], jit=False)
    assert obj.wrt == (x, y) and obj.value([1.0, 1.0]) == 3.0
    F = codegen.compile_vector("x*y", ["x", "y"], jit=False)
    assert F.jacobian([2.0, 3.0]).tolist() == [[3.0, 2.0]]
    with pytest.raises(ValueError, match=r"wrt\[0\]"):
        codegen.compile("x**2", ["x y"], jit=False)
    with pytest.raises(codegen.CodegenError, match=r"wrt\[1\] must be a Symbol"):
        codegen.compile("x**2", ["x", "2*x"], jit=False)
