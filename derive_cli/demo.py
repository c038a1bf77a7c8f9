"""`derive demo`: the whole pipeline in one short run — derive, compile, solve, SVM."""
import time

import numpy as np
import sympy as sp

import codegen
import derive
import solvers
from derive.ml import binary_cross_entropy, sigmoid
from solvers.svm import SVC


def _section(title):
    print()
    print(title)
    print("-" * len(title))


def derive_part():
    x, y = sp.symbols("x y")
    rosen = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
    _section("1. derive: calculus with SymPy")
    print(f"f(x, y) = {rosen}   (Rosenbrock)")
    print("gradient:")
    sp.pprint(derive.gradient(rosen, [x, y]))
    print("Hessian:")
    sp.pprint(derive.hessian(rosen, [x, y]))
    for cp in derive.critical_points(rosen, [x, y]):
        print(f"critical point {cp.point}: {cp.kind}, Hessian eigenvalues {list(cp.eigenvalues)}")
    print(f"2nd-order Taylor model about (0, 0): {sp.expand(derive.taylor(rosen, [x, y], [0, 0], order=2))}")

    w, xi, b, t = sp.symbols("w x b y")
    z = w * xi + b
    loss = binary_cross_entropy(sigmoid(z), t)
    print("\nBackpropagation through logistic regression, L = BCE(sigmoid(w*x + b), y):")
    print(derive.explain({sp.Symbol("z"): z, sp.Symbol("a"): sigmoid(sp.Symbol("z")),
                          sp.Symbol("L"): binary_cross_entropy(sp.Symbol("a"), t)}, wrt=w))
    print(f"dL/dw simplified: {sp.simplify(sp.diff(loss, w))}")
    return x, y, rosen


def compile_part(x, y, rosen):
    _section("2. codegen: SymPy -> cached Numba kernels")
    t0 = time.perf_counter()
    obj = codegen.compile(rosen, [x, y])
    xk = np.array([-1.2, 1.0])
    value, grad = obj.value_and_grad(xk)
    hess = obj.hess(xk)
    t1 = time.perf_counter()
    print(f"compiled value, gradient and Hessian (build + first call {t1 - t0:.2f} s; "
          f"a second run loads them from the cache)")
    print(f"f(-1.2, 1) = {value:.4f}, grad = {grad}, Hessian =\n{hess}")
    reps = 100_000
    kernel, kargs = obj.jit.value_and_grad, obj.pack_args()
    t0 = time.perf_counter()
    for _ in range(reps):
        kernel(xk, *kargs)
    per_call = (time.perf_counter() - t0) / reps
    print(f"value_and_grad: {per_call * 1e6:.2f} us per call from Python "
          f"(the solvers call it from compiled code, with no Python in between)")
    return obj


def solve_part(obj):
    _section("3. solvers: Newton, L-BFGS and Adam on the compiled kernels")
    x0 = np.array([-1.2, 1.0])
    for method, options in (("newton", None), ("lbfgs", None), ("adam", {"lr": 0.02})):
        t0 = time.perf_counter()
        res = solvers.minimize(obj, x0, method=method, maxiter=20000, options=options)
        dt = time.perf_counter() - t0
        print(f"{method:>7}: x = {np.array2string(res.x, precision=6)}  f = {res.fun:.2e}  "
              f"iterations = {res.nit:5d}  success = {res.success}  ({dt * 1e3:.1f} ms incl. first call)")


def svm_part():
    _section("4. SVM: the dual solved by compiled SMO")
    rng = np.random.default_rng(0)
    n = 300
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    X = np.c_[np.where(label, 1 - np.cos(t), np.cos(t)), np.where(label, 0.5 - np.sin(t), np.sin(t))]
    X += rng.normal(scale=0.15, size=X.shape)
    model = SVC(C=1.0, kernel="rbf", gamma=1.0).fit(X, label)
    print(f"two moons, n = {n}: {int(np.sum(model.n_support_))} support vectors, "
          f"dual objective {float(np.sum(model.dual_objective_)):.4f}, "
          f"training accuracy {model.score(X, label):.3f}")


def run():
    """Run the four parts of the tour."""
    print(f"derive-toolkit {derive.__version__}: from the whiteboard to compiled numbers")
    x, y, rosen = derive_part()
    obj = compile_part(x, y, rosen)
    solve_part(obj)
    svm_part()
