"""Benchmark: codegen kernels against SymPy lambdify, Numba-on-lambdify, SymEngine and NumPy.

Run:  python benchmarks/bench_codegen.py [--quick]

Prints per-call times (best of several timing runs) and build times side by
side for: 2-D Rosenbrock (value, grad, Hessian), extended Rosenbrock n = 100
(grad, Hessian, Hessian-vector product), a 2-layer tanh network with 37
explicit weights (grad), and logistic regression value-and-gradient summed
over N = 10^6 rows, d = 20 (against the memory-bandwidth floor, one read of X).
Cold and warm build times run in fresh subprocesses with their own cache dir.
Missing peers (symengine, jax, casadi) are reported as skipped.

For 2-D Rosenbrock the rows "... (in @njit loop)" time each kernel called
10^6 times from a compiled loop (x[0] changes every call, every output is
summed), ours and the njit(lambdify) peer alike: that is the per-call cost a
compiled solver pays.  The other rows are calls from Python, where ours pays
for boxing a new NumPy array (the kernels' contract) and the peer returns a
tuple of floats.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS = []  # (case, what, impl, seconds)


def per_call(fn, *args, budget=0.2, repeat=5):
    """Best per-call time over ``repeat`` runs of an auto-sized loop."""
    fn(*args)
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn(*args)
        dt = time.perf_counter() - t
        if dt > budget / repeat or n > 1e7:
            break
        n *= 4
    best = dt / n
    for _ in range(repeat - 1):
        t = time.perf_counter()
        for _ in range(n):
            fn(*args)
        best = min(best, (time.perf_counter() - t) / n)
    return best


def record(case, what, impl, fn, *args, **kw):
    try:
        t = per_call(fn, *args, **kw)
    except Exception as e:  # a peer that cannot run this case
        print(f"  skip {impl} {what}: {type(e).__name__}: {str(e)[:80]}")
        return None
    ROWS.append((case, what, impl, t))
    return t


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def fmt(t):
    if t is None:
        return "-"
    if t < 1e-6:
        return f"{t * 1e9:.0f} ns"
    if t < 1e-3:
        return f"{t * 1e6:.2f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


# ---------------------------------------------------------------- peers
def lambdify_numpy(expr, syms):
    return sp.lambdify([syms], expr, "numpy", cse=True)


def njit_lambdify(expr, syms):
    import numba
    f = sp.lambdify([syms], expr, "math")
    return numba.njit(f)


def symengine_lambdify(expr, syms):
    import symengine as se
    return se.Lambdify([list(syms)], expr, backend="llvm", cse=True)


def symengine_peer(builds, label, case, syms, x0, g, H=None, v=None):
    """Build SymEngine's LLVM Lambdify of the gradient ``g`` (and of ``H`` when given; build
    time into ``builds[label]``) and time grad (hess, and hess @ v) at ``x0``."""
    try:
        fns, ts = timed(lambda: [symengine_lambdify(e, syms) for e in ([g] if H is None else [g, H])])
    except Exception as e:
        print("  skip symengine:", type(e).__name__, e)
        return
    builds[label] = ts
    record(case, "grad", "symengine llvm", fns[0], x0)
    if H is not None:
        sh = fns[1]
        record(case, "hess", "symengine llvm", sh, x0)
        record(case, "hessp", "symengine hess @ v", lambda a, b: sh(a) @ b, x0, v)


def njit_grad_peer(builds, label, case, g, syms, x0):
    """Build njit(lambdify) of the gradient ``g`` (lambdify + Numba compile, into
    ``builds[label]``) and time its calls at ``x0``."""
    try:
        ng, tn = timed(njit_lambdify, tuple(g), syms)
        _, tc = timed(ng, x0)
    except Exception as e:
        print("  skip njit peer:", type(e).__name__, e)
        return
    builds[label] = tn + tc
    record(case, "grad", "njit(lambdify math)", ng, x0)


def _in_loop_reducer(out):
    """An njit function summing every number of a kernel output shaped like ``out``."""
    import numba

    if isinstance(out, np.ndarray):
        return numba.njit(lambda r: np.sum(r))
    if not isinstance(out, tuple):
        return numba.njit(lambda r: r)
    # Tuples may mix int and float items (a constant Hessian entry): sum by index.
    def items(o, path):
        if isinstance(o, tuple):
            for i, v in enumerate(o):
                yield from items(v, path + f"[{i}]")
        else:
            yield "r" + path
    ns = {}
    exec("def red(r):\n    return 0.0 + " + " + ".join(items(out, "")), ns)
    return numba.njit(ns["red"])


def in_loop(call, x0, calls=10**6, repeat=3):
    """Per-call time of ``call(x)`` (an njit function) inside a compiled loop.

    x[0] moves by 1e-12 every call so no call can be hoisted out of the loop, and
    every output is summed so none can be dropped; the loop's own cost (one store,
    one sum) is included.
    """
    import numba

    red = _in_loop_reducer(call(x0.copy()))

    @numba.njit
    def loop(x, n):
        a = x[0]
        s = 0.0
        for i in range(n):
            x[0] = a + i * 1e-12
            s += red(call(x))
        x[0] = a
        return s

    x = x0.copy()
    loop(x, 10)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        loop(x, calls)
        best = min(best, (time.perf_counter() - t) / calls)
    return best


def record_in_loop(case, what, impl, call, x0):
    try:
        t = in_loop(call, x0)
    except Exception as e:
        print(f"  skip {impl} {what} in @njit loop: {type(e).__name__}: {str(e)[:80]}")
        return None
    ROWS.append((case, what + " (in @njit loop)", impl, t))
    return t


# ---------------------------------------------------------------- cases
def rosen_expr(n):
    x = sp.symbols(f"x0:{n}")
    return sum(100 * (x[i + 1] - x[i]**2)**2 + (1 - x[i])**2 for i in range(n - 1)), x


def case_rosen2():
    import codegen
    from scipy.optimize import rosen, rosen_der, rosen_hess
    case = "rosen n=2"
    f, x = rosen_expr(2)
    obj, tb = timed(codegen.compile, f, x)
    x0 = np.array([-1.2, 1.0])
    g = [sp.diff(f, s) for s in x]
    H = sp.hessian(f, x)
    peers = {}
    peers["lambdify numpy cse"] = [lambdify_numpy(e, x) for e in (f, g, H)]
    try:
        peers["njit(lambdify math)"] = [njit_lambdify(e, x) for e in (f, tuple(g), tuple(map(tuple, H.tolist())))]
    except Exception as e:
        print("  skip njit peer:", e)
    try:
        peers["symengine llvm"] = [symengine_lambdify(e, x) for e in ([f], g, H)]
    except Exception as e:
        print("  skip symengine:", type(e).__name__, e)
    peers["numpy (scipy.optimize.rosen*)"] = [rosen, rosen_der, rosen_hess]
    for what, ours_py, ours_jit, k in (("value", obj.value, obj.jit.value, 0),
                                       ("grad", obj.grad, obj.jit.grad, 1),
                                       ("hess", obj.hess, obj.jit.hess, 2)):
        p = np.zeros(0)
        record(case, what, "codegen .jit kernel", ours_jit, x0, p)
        record(case, what, "codegen method", ours_py, x0)
        for name, fns in peers.items():
            record(case, what, name, fns[k], x0)
    import numba
    p = np.zeros(0)
    for what, ours_jit, k in (("value", obj.jit.value, 0), ("grad", obj.jit.grad, 1),
                              ("hess", obj.jit.hess, 2)):
        record_in_loop(case, what, "codegen .jit kernel", numba.njit(lambda x: ours_jit(x, p)), x0)
        if "njit(lambdify math)" in peers:
            peer = peers["njit(lambdify math)"][k]
            record_in_loop(case, what, "njit(lambdify math)", numba.njit(lambda x: peer(x)), x0)
    return {"codegen compile (cached?)": tb}


def case_rosen100(quick):
    import codegen
    from scipy.optimize import rosen_der, rosen_hess, rosen_hess_prod
    case = "rosen n=100"
    n = 100
    f, x = rosen_expr(n)
    obj = codegen.compile(f, x)
    x0 = np.linspace(-1, 1, n)
    v = np.ones(n)
    p = np.zeros(0)
    builds = {}
    t = time.perf_counter()
    g = [sp.diff(f, s) for s in x]
    H = sp.hessian(f, x)
    builds["sympy diff + hessian"] = time.perf_counter() - t
    (lg, lh), tl = timed(lambda: (lambdify_numpy(g, x), lambdify_numpy(H, x)))
    builds["lambdify numpy cse (grad+hess)"] = tl
    vs = sp.Symbol("v_dummy")
    record(case, "grad", "codegen .jit kernel", obj.jit.grad, x0, p)
    record(case, "grad", "codegen method", obj.grad, x0)
    record(case, "grad", "lambdify numpy cse", lg, x0)
    record(case, "hess", "codegen .jit kernel", obj.jit.hess, x0, p)
    record(case, "hess", "codegen method", obj.hess, x0)
    record(case, "hess", "codegen hess_sparse", obj.hess_sparse, x0)
    record(case, "hess", "lambdify numpy cse", lh, x0)
    record(case, "hessp", "codegen .jit kernel", obj.jit.hessp, x0, v, p)
    record(case, "hessp", "codegen method", obj.hessp, x0, v)
    record(case, "hessp", "lambdify hess @ v", lambda a, b: lh(a) @ b, x0, v)
    record(case, "grad", "numpy (scipy rosen_der)", rosen_der, x0)
    record(case, "hess", "numpy (scipy rosen_hess)", rosen_hess, x0)
    record(case, "hessp", "numpy (scipy rosen_hess_prod)", rosen_hess_prod, x0, v)
    symengine_peer(builds, "symengine Lambdify llvm (grad+hess)", case, x, x0, g, H, v)
    if not quick:
        njit_grad_peer(builds, "njit(lambdify math) grad: lambdify + numba compile", case, g, x, x0)
    return builds


def net_expr():
    """2-layer tanh network 4-6-1 (37 weights), squared error on 10 fixed samples."""
    rng = np.random.default_rng(0)
    ni, nh = 4, 6
    W1 = sp.Matrix(nh, ni, sp.symbols(f"W1_0:{nh * ni}"))
    b1 = sp.Matrix(sp.symbols(f"b1_0:{nh}"))
    W2 = sp.Matrix(1, nh, sp.symbols(f"W2_0:{nh}"))
    b2 = sp.Symbol("b2")
    Xs = rng.normal(size=(10, ni)).round(3)
    Ys = rng.normal(size=10).round(3)
    f = 0
    for xr, yr in zip(Xs, Ys):
        h = (W1 * sp.Matrix([sp.Float(v) for v in xr]) + b1).applyfunc(sp.tanh)
        out = (W2 * h)[0] + b2
        f += (out - sp.Float(yr))**2
    wrt = list(W1) + list(b1) + list(W2) + [b2]
    return f, wrt, Xs, Ys


def net_numpy(theta, Xs, Ys, ni=4, nh=6):
    W1 = theta[:nh * ni].reshape(nh, ni)
    b1 = theta[nh * ni:nh * ni + nh]
    W2 = theta[nh * ni + nh:nh * ni + 2 * nh]
    b2 = theta[-1]
    A = Xs @ W1.T + b1
    Hd = np.tanh(A)
    r = Hd @ W2 + b2 - Ys
    dr = 2 * r
    gW2 = Hd.T @ dr
    gb2 = dr.sum()
    dA = np.outer(dr, W2) * (1 - Hd**2)
    gW1 = dA.T @ Xs
    gb1 = dA.sum(0)
    return np.concatenate([gW1.ravel(), gb1, gW2, [gb2]])


def case_net(quick):
    import codegen
    case = "2-layer net (37 w)"
    f, wrt, Xs, Ys = net_expr()
    obj, tb = timed(codegen.compile, f, wrt, order=1)
    th = np.random.default_rng(1).normal(size=len(wrt)) * 0.5
    p = np.zeros(0)
    builds = {"codegen compile (order=1)": tb}
    _, tj = timed(obj.jit.grad, th, p)
    builds["codegen first grad call (numba)"] = tj
    g, td = timed(lambda: [sp.diff(f, s) for s in wrt])
    builds["sympy diff"] = td
    lg, tl = timed(lambdify_numpy, g, wrt)
    builds["lambdify numpy cse"] = tl
    ref = net_numpy(th, Xs, Ys)
    assert np.allclose(obj.grad(th), ref, rtol=1e-10), "network gradient mismatch"
    record(case, "grad", "codegen .jit kernel", obj.jit.grad, th, p)
    record(case, "grad", "codegen method", obj.grad, th)
    record(case, "grad", "lambdify numpy cse", lg, th)
    record(case, "grad", "numpy backprop (hand)", net_numpy, th, Xs, Ys)
    symengine_peer(builds, "symengine Lambdify llvm", case, wrt, th, g)
    if not quick:
        njit_grad_peer(builds, "njit(lambdify math): lambdify + numba compile", case, g, wrt, th)
    return builds


def case_logistic():
    import codegen
    case = "logreg N=1e6 d=20"
    d, N = 20, 10**6
    w = sp.symbols(f"w0:{d}")
    xs = sp.symbols(f"x0:{d}")
    y = sp.Symbol("y")
    z = sum(a * b for a, b in zip(w, xs))
    f = sp.log(1 + sp.exp(z)) - y * z
    obj, tb = timed(codegen.compile, f, w, data=[xs, y], order=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, d))
    Y = (rng.uniform(size=N) < 0.5).astype(float)
    th = rng.normal(size=d) * 0.1
    kargs = obj.pack_args(X, Y)
    _, t1 = timed(obj.jit.value_and_grad, th, *kargs)
    _, t2 = timed(obj.jit_parallel.value_and_grad, th, *kargs)
    builds = {"codegen compile": tb, "first call serial (numba)": t1,
              "first call parallel (numba)": t2}

    def numpy_vg(th, X, Y):
        zz = X @ th
        s = np.exp(-np.logaddexp(0.0, -zz))
        return np.sum(np.logaddexp(0.0, zz) - Y * zz), X.T @ (s - Y)

    v_ref, g_ref = numpy_vg(th, X, Y)
    v, g = obj.value_and_grad(th, X, Y)
    assert abs(v - v_ref) < 1e-8 * abs(v_ref) and np.allclose(g, g_ref, rtol=1e-8, atol=1e-6)
    kw = dict(budget=1.0, repeat=3)
    record(case, "value_and_grad", "floor: X.sum() (one read)", X.sum, **kw)
    record(case, "value_and_grad", "codegen method (auto parallel)", obj.value_and_grad, th, X, Y, **kw)
    record(case, "value_and_grad", "codegen .jit serial", obj.jit.value_and_grad, th, *kargs, **kw)
    record(case, "value_and_grad", "codegen .jit parallel", obj.jit_parallel.value_and_grad, th,
           *kargs, **kw)
    record(case, "value_and_grad", "numpy (hand, BLAS)", numpy_vg, th, X, Y, **kw)
    return builds


BUILD_SCRIPT = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np, sympy as sp
    n = 100
    x = sp.symbols(f"x0:{n}")
    f = sum(100 * (x[i + 1] - x[i]**2)**2 + (1 - x[i])**2 for i in range(n - 1))
    t1 = time.perf_counter()
    import codegen
    obj = codegen.compile(f, x)
    t2 = time.perf_counter()
    x0 = np.linspace(-1, 1, n)
    obj.value(x0); obj.grad(x0)
    t3 = time.perf_counter()
    obj.hess(x0)
    t4 = time.perf_counter()
    print(json.dumps({"sympy import+expr": t1 - t0, "codegen import+compile": t2 - t1,
                      "first value+grad": t3 - t2, "first hess": t4 - t3,
                      "total after expr": t4 - t1,
                      "hess after expr (import, load, first Hessian)": (t2 - t1) + (t4 - t3),
                      "derived": bool(obj.build_times),
                      "obj.timings (derive, codegen, numba per kernel)": str(obj.timings)}))
""")


def case_build():
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as d:
        env["DERIVE_CACHE_DIR"] = d
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        out = {}
        for label in ("cold", "warm"):
            r = subprocess.run([sys.executable, "-c", BUILD_SCRIPT], env=env, capture_output=True,
                               text=True, cwd=ROOT)
            if r.returncode:
                print(r.stderr[-2000:])
                return {}
            out[label] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the slow njit(lambdify) peers")
    ap.add_argument("--keep-cache", action="store_true",
                    help="use $DERIVE_CACHE_DIR as is (default: a fresh temporary cache, so "
                         "the build times are cold)")
    a = ap.parse_args()
    if not a.keep_cache:
        os.environ["DERIVE_CACHE_DIR"] = tempfile.mkdtemp(prefix="derive-bench-")
    import numba
    print(f"sympy {sp.__version__}, numba {numba.__version__}, numpy {np.__version__}, "
          f"threads {numba.get_num_threads()}, cpus {os.cpu_count()}")
    for peer in ("symengine", "jax", "casadi"):
        try:
            __import__(peer)
        except ImportError:
            print(f"peer {peer}: not installed, skipped")
    builds = {}
    print("cold/warm build of extended Rosenbrock n=100 in fresh subprocesses ...", flush=True)
    bb = case_build()
    print("2-D Rosenbrock ...", flush=True)
    builds["rosen n=2"] = case_rosen2()
    print("extended Rosenbrock n=100 ...", flush=True)
    builds["rosen n=100"] = case_rosen100(a.quick)
    print("2-layer network ...", flush=True)
    builds["net"] = case_net(a.quick)
    print("logistic regression N=1e6 ...", flush=True)
    builds["logreg"] = case_logistic()

    print("\n== per-call times (best of runs) ==")
    print(f"{'case':22s} {'what':15s} {'implementation':34s} {'time':>11s} {'vs codegen':>11s}")
    ours = {}
    for case, what, impl, t in ROWS:
        if impl.startswith("codegen .jit") and (case, what) not in ours:
            ours[(case, what)] = t
    for case, what, impl, t in ROWS:
        o = ours.get((case, what))
        ratio = f"{t / o:9.1f}x" if o else ""
        print(f"{case:22s} {what:15s} {impl:34s} {fmt(t):>11s} {ratio:>11s}")
    print("\n(ratio = time / codegen .jit kernel time; > 1 means codegen is faster)")

    print("\n== build times ==")
    for label, r in bb.items():
        print(f"rosen n=100 {label} subprocess: " + ", ".join(
            f"{k} {v:.2f} s" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
    for case, b in builds.items():
        for k, v in b.items():
            print(f"{case:22s} {k:55s} {fmt(v):>10s}")

    print("\n== targets ==")
    def row(case, what, impl):
        for c, w, i, t in ROWS:
            if c == case and w == what and i == impl:
                return t
    lh = row("rosen n=100", "hess", "lambdify numpy cse")
    oh = row("rosen n=100", "hess", "codegen .jit kernel")
    if lh and oh:
        print(f"n=100 Hessian speed-up vs lambdify: {lh / oh:.0f}x (target >= 100x)")
    if bb:
        cold = bb["cold"]
        print(f"cold build n=100 value+grad+Hessian incl. numba: {cold['total after expr']:.2f} s "
              "(target < 3 s)")
        warm = bb["warm"]
        print(f"warm start (import codegen, load cached kernels, first Hessian): "
              f"{warm['hess after expr (import, load, first Hessian)']:.2f} s (target < 0.5 s); "
              f"re-derived: {warm['derived']}")
    for what in ("value", "grad", "hess"):
        ours = row("rosen n=2", what + " (in @njit loop)", "codegen .jit kernel")
        peer = row("rosen n=2", what + " (in @njit loop)", "njit(lambdify math)")
        pyo = row("rosen n=2", what, "codegen .jit kernel")
        pyp = row("rosen n=2", what, "njit(lambdify math)")
        if ours and peer:
            print(f"rosen n=2 {what}: per call in an @njit loop (what solvers pay) ours {fmt(ours)} "
                  f"vs njit(lambdify) {fmt(peer)}; from Python ours {fmt(pyo)} vs {fmt(pyp)} "
                  "(ours boxes a new array, the peer a tuple)")
    fl = row("logreg N=1e6 d=20", "value_and_grad", "floor: X.sum() (one read)")
    lr = row("logreg N=1e6 d=20", "value_and_grad", "codegen method (auto parallel)")
    if fl and lr:
        print(f"data-sum value_and_grad / bandwidth floor: {lr / fl:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
