"""Benchmark: matrix models (issue 11) against NumPy with BLAS, JAX and scikit-learn, one run.

Run:  python benchmarks/bench_models.py [--quick] [--no-jax]

Every ratio compares implementations timed in this same run, on the same machine. Sections:

(a) build of a logistic regression written with MatrixSymbols (derive + codegen + the first
    value_and_grad, Numba included), each in a fresh subprocess on an EMPTY temporary
    DERIVE_CACHE_DIR (one per size, nothing shared), with d symbolic and with d fixed in the
    model, at d = 10, 784 and 10,000 (200 data rows); the import floor (a process that only
    imports numpy, sympy, derive, codegen and solvers); the warm start (a new process on the
    cache a cold run filled: imports + compile + first value_and_grad, minus the floor).
(b) per call at N = 20,000, d = 784 (data already in memory, kernels compiled): value_and_grad
    ours (the objective's method, what a user and the solvers call) vs NumPy with BLAS (z = X w,
    X^T (sigma(z) - y): two passes over X) vs JAX (jit(value_and_grad), x64, arrays already on
    the device); hessp (ours vs NumPy X^T (s * (X v)) vs JAX jvp of grad); the dense 784 x 784
    Hessian (ours vs NumPy X^T (s[:, None] * X), vs JAX jit(hessian) unless --quick).
(c) the 64-32-10 tanh network on digits (N = 1347 training rows; 13,470 by tiling unless
    --quick): value_and_grad ours vs NumPy batched backprop vs JAX; build cold in a subprocess.
(d) fits to scikit-learn's objective (rel 1e-7): softmax regression on digits (C = 1) and
    logistic regression on N = 60,000 x d = 784 synthetic data (seeded, no download). Ours:
    solvers.minimize(method="lbfgs") on the compiled objective, loops compiled beforehand,
    timed with maxiter = the first iteration count whose value reaches the target (checked).
    scikit-learn: LogisticRegression(solver="lbfgs", tol=1e-10) fit, input checks included.
Per-call times are the best of several timing runs (each an auto-sized loop).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))  # the examples' models and NumPy oracles

ROWS = []  # (section, what, implementation, seconds, note)
TARGETS = []  # (target, measured, verdict)


def best_time(fn, *args, budget=0.5, repeat=5):
    """Best per-call seconds of ``fn(*args)`` over ``repeat`` runs of an auto-sized loop."""
    fn(*args)
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn(*args)
        dt = time.perf_counter() - t
        if dt > budget / repeat or n >= 1 << 20:
            break
        n *= 4
    best = dt / n
    for _ in range(repeat - 1):
        t = time.perf_counter()
        for _ in range(n):
            fn(*args)
        best = min(best, (time.perf_counter() - t) / n)
    return best


def peer_time(timer):
    """(seconds, note) of ``timer()`` for a NumPy/scikit-learn peer at its best: with its default
    BLAS/OpenMP threads and with one thread (on a busy 2-core machine spinning threads can cost
    10-100x; the peer is not charged for that)."""
    from threadpoolctl import threadpool_limits

    t_default = timer()
    with threadpool_limits(limits=1):
        t_one = timer()
    return (t_default, "default threads") if t_default <= t_one else (t_one, "1 BLAS/OpenMP thread")


def record(section, what, impl, seconds, note=""):
    ROWS.append((section, what, impl, seconds, note))
    return seconds


def record_peer(section, what, impl, fn, *args, **kw):
    """record() the best per-call time of a NumPy peer, under peer_time's thread settings."""
    t, note = peer_time(lambda: best_time(fn, *args, **kw))
    return record(section, what, impl, t, note)


def target(text, measured, ok):
    TARGETS.append((text, measured, "PASS" if ok else "MISS"))


def fmt(t):
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def close(a, b, rtol):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b)) <= rtol * max(np.max(np.abs(b)), 1e-300)


# ------------------------------------------------------------------ peers
def load_jax(enabled):
    """jax with float64 enabled, or None (and why)."""
    if not enabled:
        return None, "disabled by --no-jax"
    try:
        import jax
    except ImportError:
        return None, "not installed (pip install 'jax[cpu]')"
    jax.config.update("jax_enable_x64", True)
    return jax, f"jax {jax.__version__}"


def jax_block(fn):
    """fn with its outputs waited for: JAX returns before its asynchronous work is done."""
    import jax

    return lambda *a: jax.block_until_ready(fn(*a))


def logistic_numpy_vg(w, X, y):
    """value and gradient of sum_i softplus(z_i) - y_i z_i with z = X w (BLAS: two passes)."""
    z = X @ w
    s = np.exp(-np.logaddexp(0.0, -z))
    return np.sum(np.logaddexp(0.0, z) - y * z), X.T @ (s - y)


def logistic_numpy_hessp(w, v, X):
    z = X @ w
    s = np.exp(-np.logaddexp(0.0, -z))
    return X.T @ (s * (1.0 - s) * (X @ v))


def logistic_numpy_hess(w, X):
    z = X @ w
    s = np.exp(-np.logaddexp(0.0, -z))
    return X.T @ ((s * (1.0 - s))[:, None] * X)


def logistic_jax(jax, quick):
    """jit-compiled JAX value_and_grad, hvp and (unless quick) hessian of the same loss."""
    jnp = jax.numpy

    def f(w, X, y):
        z = X @ w
        return jnp.sum(jnp.logaddexp(0.0, z) - y * z)

    def hvp(w, v, X, y):
        return jax.jvp(lambda u: jax.grad(f)(u, X, y), (w,), (v,))[1]

    out = {"vg": jax.jit(jax.value_and_grad(f)), "hessp": jax.jit(hvp)}
    if not quick:
        out["hess"] = jax.jit(jax.hessian(f))
    return out


def mlp_jax(jax, H):
    jnp = jax.numpy

    def f(theta, X, T, lam):
        N, d = X.shape
        K = T.shape[1]
        W1 = theta[:H * d].reshape(H, d)
        b1 = theta[H * d:H * d + H]
        W2 = theta[H * d + H:H * d + H + K * H].reshape(K, H)
        b2 = theta[H * d + H + K * H:]
        Z = jnp.tanh(X @ W1.T + b1) @ W2.T + b2
        loss = jnp.mean(jax.nn.logsumexp(Z, axis=1) - jnp.sum(T * Z, axis=1))
        return loss + lam / 2 * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2))

    return jax.jit(jax.value_and_grad(f))


def logistic_matrix_model(d_value=None):
    """softplus(w^T x) - y w^T x with w, x MatrixSymbols (d symbolic unless d_value).

    With d symbolic, z = (w.T * x)[0, 0] as the issue writes it. With d fixed, z is an explicit
    Sum over an index symbol: SymPy itself expands (w.T * x)[0, 0] of concrete size into d
    terms (w[0, 0]*x[0, 0] + ...), a scalar model of d variables, not a matrix model.
    """
    import sympy as sp
    from derive.ml import softplus

    d = sp.Symbol("d", integer=True, positive=True) if d_value is None else d_value
    w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
    y = sp.Symbol("y")
    if d_value is None:
        z = (w.T * x)[0, 0]
    else:
        i = sp.Symbol("i", integer=True)
        z = sp.Sum(w[i, 0] * x[i, 0], (i, 0, d - 1))
    return softplus(z) - y * z, [w], [x, y]


# ------------------------------------------------------------------ (a) builds
FLOOR_SCRIPT = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy, sympy, derive, codegen, solvers
    print(json.dumps({"imports": time.perf_counter() - t0, "numba loaded": "numba" in sys.modules}))
""")

BUILD_SCRIPT = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np, sympy, derive, codegen, solvers
    t1 = time.perf_counter()
    sys.path.insert(0, {bench!r})
    from bench_models import logistic_matrix_model
    d, fixed, N = int(sys.argv[1]), sys.argv[2] == "fixed", 200
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, d)) / np.sqrt(d)
    Y = (rng.uniform(size=N) < 0.5).astype(float)
    w0, v = np.zeros(d), np.ones(d)
    t2 = time.perf_counter()
    f, wrt, data = logistic_matrix_model(d if fixed else None)
    obj = codegen.compile(f, wrt, data=data)
    t3 = time.perf_counter()
    val, g = obj.value_and_grad(w0, X, Y)
    t4 = time.perf_counter()
    obj.hessp(w0, v, X, Y)
    t5 = time.perf_counter()
    t_hess = None
    if d <= 1000:
        obj.hess(w0, X, Y)
        t_hess = time.perf_counter() - t5
    ok = abs(val - N * np.log(2.0)) < 1e-9 * N and np.allclose(g, X.T @ (0.5 - Y))
    print(json.dumps({{"imports": t1 - t0, "data": t2 - t1, "compile": t3 - t2,
                       "first value_and_grad": t4 - t3, "build": t4 - t2,
                       "first hessp": t5 - t4, "first hess": t_hess, "correct": bool(ok)}}))
""")

MLP_BUILD_SCRIPT = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np, sympy, derive, codegen, solvers
    t1 = time.perf_counter()
    sys.path.insert(0, {examples!r})
    from mlp_digits import mlp_model, mlp_numpy
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(500, 64))
    T = np.eye(10)[rng.integers(0, 10, 500)]
    theta = rng.normal(size=32 * 64 + 32 + 10 * 32 + 10) * 0.1
    p = np.array([1e-4 / 500])
    t2 = time.perf_counter()
    f, wrt, params, data, penalty = mlp_model()
    obj = codegen.compile(f, wrt, params=params, data=data, reduce="mean", penalty=penalty,
                          order=1)
    t3 = time.perf_counter()
    v, g = obj.value_and_grad(theta, p, X, T)
    t4 = time.perf_counter()
    v_np, g_np = mlp_numpy(theta, X, T, p[0])
    ok = abs(v - v_np) < 1e-10 * abs(v_np) and np.allclose(g, g_np, rtol=1e-8, atol=1e-12)
    print(json.dumps({{"imports": t1 - t0, "compile": t3 - t2, "first value_and_grad": t4 - t3,
                       "build": t4 - t2, "correct": bool(ok)}}))
""")


SUBPROCESS_TIMEOUT = 300  # seconds for one build process
SUBPROCESS_MEMORY = 8 << 30  # bytes of address space: a runaway build fails, the machine lives


def _limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY, SUBPROCESS_MEMORY))


def run_script(script, argv, cache):
    """(json output, wall seconds) of ``script`` in a fresh interpreter on cache dir ``cache``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    if cache is not None:
        env["DERIVE_CACHE_DIR"] = cache
    t = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, "-c", script, *map(str, argv)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT,
                           preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"build {argv} did not finish in {SUBPROCESS_TIMEOUT} s") from None
    wall = time.perf_counter() - t
    if r.returncode:
        raise RuntimeError(f"build {argv} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]), wall


def section_build(quick):
    sec = "(a) build"
    floors = [run_script(FLOOR_SCRIPT, [], None) for _ in range(3)]
    floor = min(f["imports"] for f, _ in floors)
    numba_loaded = floors[0][0]["numba loaded"]
    record(sec, "import floor (numpy sympy derive codegen solvers)", "python -c import", floor,
           f"numba {'loaded' if numba_loaded else 'not loaded'} by these imports; best of 3")
    script = BUILD_SCRIPT.format(bench=str(Path(__file__).resolve().parent))
    sizes = (10, 784) if quick else (10, 784, 10_000)
    modes = ("symbolic",) if quick else ("symbolic", "fixed")
    cold, warm_cache = {}, None
    for mode in modes:
        for d in sizes:
            print(f"    logistic d={d} ({mode} d), cold ...", flush=True)
            with tempfile.TemporaryDirectory(prefix="bench-models-") as cache:
                try:
                    out, wall = run_script(script, [d, mode], cache)
                except RuntimeError as e:
                    record(sec, f"logistic d={d} ({mode} d), cold", "ours: FAILED", None,
                           str(e).splitlines()[0][:90])
                    cold[(mode, d)] = np.inf
                    continue
                if not out["correct"]:
                    raise SystemExit(f"build d={d} {mode}: wrong value or gradient")
                cold[(mode, d)] = out["build"]
                record(sec, f"logistic d={d} ({mode} d), cold", "ours: compile + 1st v&g",
                       out["build"], f"compile {out['compile']:.2f} s + first call "
                       f"{out['first value_and_grad']:.2f} s; then 1st hessp "
                       f"{out['first hessp']:.2f} s" + (f", 1st hess {out['first hess']:.2f} s"
                                                         if out["first hess"] is not None else ""))
                if mode == "symbolic" and d == 784:
                    warms = [run_script(script, [d, mode], cache)[0] for _ in range(3)]
                    w = min(warms, key=lambda w: w["imports"] + w["build"])
                    warm_cache = w["imports"] + w["build"] - floor
                    record(sec, "logistic d=784 warm start, new process", "ours: over the floor",
                           warm_cache, f"imports {w['imports']:.2f} s + compile (cache) "
                           f"{w['compile']:.2f} s + 1st v&g {w['first value_and_grad']:.2f} s "
                           "- floor; best of 3")
    worst = max(cold.values())
    target("build < 2 s cold, the same at d = 10, 784, 10,000",
           f"{min(cold.values()):.2f}-{worst:.2f} s", worst < 2.0)
    if warm_cache is not None:
        target("warm start within 0.3 s of the import floor", f"+{warm_cache:.2f} s",
               warm_cache <= 0.3)


# ------------------------------------------------------------------ (b) per call
def section_logistic_calls(jax, quick):
    import codegen

    sec = "(b) logistic N=20000 d=784"
    N, d = 20_000, 784
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, d)) / np.sqrt(d)
    y = (rng.uniform(size=N) < 0.5).astype(float)
    w = rng.normal(size=d)
    v = rng.normal(size=d)
    f, wrt, data = logistic_matrix_model()
    obj = codegen.compile(f, wrt, data=data)
    val, g = obj.value_and_grad(w, X, y)
    val_np, g_np = logistic_numpy_vg(w, X, y)
    assert abs(val - val_np) < 1e-10 * abs(val_np) and close(g, g_np, 1e-9), "v&g mismatch"
    assert close(obj.hessp(w, v, X, y), logistic_numpy_hessp(w, v, X), 1e-9), "hessp mismatch"
    assert close(obj.hess(w, X, y), logistic_numpy_hess(w, X), 1e-9), "hess mismatch"

    floor = record(sec, "memory floor", "numpy X.sum() (one read of X)", best_time(X.sum))
    vg = record(sec, "value_and_grad", "ours: obj.value_and_grad",
                best_time(obj.value_and_grad, w, X, y))
    kargs = obj.pack_args(X, y)
    record(sec, "value_and_grad", "ours: obj.jit.value_and_grad (serial kernel)",
           best_time(obj.jit.value_and_grad, w, *kargs))
    vg_np = record_peer(sec, "value_and_grad", "numpy + BLAS (2 passes)", logistic_numpy_vg,
                        w, X, y)
    hp = record(sec, "hessp", "ours: obj.hessp", best_time(obj.hessp, w, v, X, y))
    record_peer(sec, "hessp", "numpy X^T (s * (X v))", logistic_numpy_hessp, w, v, X)
    hs = record(sec, "hess (784 x 784)", "ours: obj.hess",
                best_time(obj.hess, w, X, y, budget=2.0, repeat=3))
    hs_np = record_peer(sec, "hess (784 x 784)", "numpy X^T (s[:, None] * X)",
                        logistic_numpy_hess, w, X, budget=2.0, repeat=3)
    vg_jax = None
    if jax is not None:
        jfn = logistic_jax(jax, quick)
        jw, jv, jX, jy = (jax.device_put(a) for a in (w, v, X, y))
        jv_, jg = jfn["vg"](jw, jX, jy)
        assert abs(float(jv_) - val_np) < 1e-10 * abs(val_np) and close(jg, g_np, 1e-9)
        assert close(jfn["hessp"](jw, jv, jX, jy), logistic_numpy_hessp(w, v, X), 1e-9)
        vg_jax = record(sec, "value_and_grad", "jax jit(value_and_grad)",
                        best_time(jax_block(jfn["vg"]), jw, jX, jy))
        record(sec, "hessp", "jax jit(jvp of grad)",
               best_time(jax_block(jfn["hessp"]), jw, jv, jX, jy))
        if "hess" in jfn:
            assert close(jfn["hess"](jw, jX, jy), logistic_numpy_hess(w, X), 1e-9)
            record(sec, "hess (784 x 784)", "jax jit(hessian)",
                   best_time(jax_block(jfn["hess"]), jw, jX, jy, budget=2.0, repeat=3))
    peers = f"numpy {fmt(vg_np)}" + (f", jax {fmt(vg_jax)}" if vg_jax else ", jax not run")
    target("v&g N=20000 d=784 no slower than NumPy+BLAS and JAX",
           f"ours {fmt(vg)} vs {peers} (floor {fmt(floor)})",
           vg <= vg_np and (vg_jax is None or vg <= vg_jax))
    target("hessp at most 2x value_and_grad", f"{hp / vg:.2f}x", hp <= 2 * vg)
    target("dense d=784 Hessian in BLAS-like time (read: <= 2x NumPy X^T diag(s) X)",
           f"{hs / hs_np:.2f}x NumPy", hs <= 2 * hs_np)


# ------------------------------------------------------------------ (c) network
def section_mlp(jax, quick):
    import codegen
    from mlp_digits import HIDDEN, init_weights, mlp_model, mlp_numpy
    from softmax_digits import digits_split, one_hot

    sec = "(c) 64-32-10 network"
    with tempfile.TemporaryDirectory(prefix="bench-models-") as cache:
        out, _ = run_script(MLP_BUILD_SCRIPT.format(examples=str(ROOT / "examples")), [], cache)
    if not out["correct"]:
        raise SystemExit("network build: wrong value or gradient")
    build = record(sec, "build cold (order=1), new process", "ours: compile + 1st v&g",
                   out["build"], f"compile {out['compile']:.2f} s + first call "
                   f"{out['first value_and_grad']:.2f} s")
    f, wrt, params, data, penalty = mlp_model()
    obj = codegen.compile(f, wrt, params=params, data=data, reduce="mean", penalty=penalty,
                          order=1)
    Xtr, _, ytr, _ = digits_split()
    Ttr = one_hot(ytr, 10)
    theta = init_weights(64, HIDDEN, 10, np.random.default_rng(0))
    jvg = mlp_jax(jax, HIDDEN) if jax is not None else None
    ratios = []
    for reps in ((1,) if quick else (1, 10)):
        X, T = np.tile(Xtr, (reps, 1)), np.tile(Ttr, (reps, 1))
        N = len(X)
        p = np.array([1e-4 / N])
        v, g = obj.value_and_grad(theta, p, X, T)
        v_np, g_np = mlp_numpy(theta, X, T, p[0])
        assert abs(v - v_np) < 1e-10 * abs(v_np) and close(g, g_np, 1e-9), "network mismatch"
        what = f"value_and_grad N={N}"
        ours = record(sec, what, "ours: obj.value_and_grad",
                      best_time(obj.value_and_grad, theta, p, X, T))
        ref = record_peer(sec, what, "numpy batched backprop", mlp_numpy, theta, X, T, p[0])
        ratios.append((N, ours / ref))
        if jvg is not None:
            args = tuple(jax.device_put(a) for a in (theta, X, T)) + (p[0],)
            jv, jg = jvg(*args)
            assert abs(float(jv) - v_np) < 1e-10 * abs(v_np) and close(jg, g_np, 1e-9)
            record(sec, what, "jax jit(value_and_grad)", best_time(jax_block(jvg), *args))
    worst = max(r for _, r in ratios)
    target("network value_and_grad within 2x of NumPy batched backprop",
           ", ".join(f"N={n}: {r:.2f}x" for n, r in ratios), worst <= 2.0)
    target("network build < 5 s cold", f"{build:.2f} s", build < 5.0)


# ------------------------------------------------------------------ (d) fits
def time_to_target(obj, x0, args, f_target, repeats):
    """(seconds, iterations, value) of our L-BFGS run stopped at the first iteration whose value
    is <= f_target: found from a recorded run, then timed again with that maxiter."""
    import solvers

    opts = {"gtol": 0.0, "maxiter": 20000}
    r = solvers.minimize(obj, x0, method="lbfgs", args=args, options=opts, history=True)
    hit = np.nonzero(np.asarray(r.history["fun"]) <= f_target)[0]
    if not len(hit):
        return None, r.nit, r.fun
    k = int(hit[0])
    best, res = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        res = solvers.minimize(obj, x0, method="lbfgs", args=args, options={**opts, "maxiter": k})
        best = min(best, time.perf_counter() - t)
    if res.fun > f_target:  # a timed run must reach what it is timed for
        raise SystemExit(f"the timed L-BFGS run stopped at {res.fun!r} > target {f_target!r}")
    return best, k, res.fun


def sklearn_fit(X, y, C, repeats):
    """(fitted LogisticRegression, best fit seconds, thread note): lbfgs with a tight tol."""
    from sklearn.linear_model import LogisticRegression

    fitted = []

    def timer():
        best = np.inf
        for _ in range(repeats):
            sk = LogisticRegression(C=C, solver="lbfgs", tol=1e-10, max_iter=10000)
            t = time.perf_counter()
            sk.fit(X, y)
            best = min(best, time.perf_counter() - t)
        fitted.append(sk)
        return best

    t, note = peer_time(timer)
    return fitted[-1], t, note


def fit_row(sec, name, ours, k, sk_time, sk, note):
    record(sec, name, "ours: lbfgs to sklearn's objective (rel 1e-7)", ours, f"{k} iterations")
    record(sec, name, "sklearn LogisticRegression(lbfgs, tol=1e-10)", sk_time,
           f"{int(np.max(sk.n_iter_))} iterations, {note}")


def fit_softmax(sec, reps, C=1.0):
    """Softmax regression on digits; sklearn minimises C * (our f)."""
    import codegen
    from softmax_digits import digits_split, one_hot, sklearn_objective, softmax_model

    Xtr, _, ytr, _ = digits_split()
    classes = np.unique(ytr)
    K, d = len(classes), Xtr.shape[1]
    sk, t_sk, note = sklearn_fit(Xtr, ytr, C, reps)
    f_sk = sklearn_objective(np.concatenate([sk.coef_.ravel(), sk.intercept_]), Xtr, ytr, C,
                             classes) / C
    f, wrt, params, data, penalty = softmax_model()
    obj = codegen.compile(f, wrt, params=params, data=data, penalty=penalty)
    args = (np.array([1.0 / C]), Xtr, one_hot(ytr, K))
    t_ours, k, _ = time_to_target(obj, np.zeros(K * d + K), args, f_sk + 1e-7 * abs(f_sk), reps)
    fit_row(sec, "softmax digits (650 vars)", t_ours, k, t_sk, sk, note)
    return t_ours, t_sk


def fit_logistic(sec, reps, C=1.0):
    """Logistic regression with an intercept, N = 60,000 x d = 784 synthetic (seeded)."""
    import codegen
    from logistic_regression import logistic_model

    rng = np.random.default_rng(42)
    N, d = 60_000, 784
    X = rng.normal(size=(N, d))
    w_true = rng.normal(size=d) / np.sqrt(d) * 3
    y = (rng.uniform(size=N) < 1 / (1 + np.exp(-(X @ w_true + 0.5)))).astype(float)
    sk, t_sk, note = sklearn_fit(X, y, C, reps)
    f, wrt, params, data, penalty = logistic_model()
    obj = codegen.compile(f, wrt, params=params, data=data, penalty=penalty)
    args = (np.array([1.0 / C]), X, y)
    f_sk = obj.value_and_grad(np.concatenate([sk.coef_.ravel(), sk.intercept_]), *args)[0]
    t_ours, k, _ = time_to_target(obj, np.zeros(d + 1), args, f_sk + 1e-7 * abs(f_sk), reps)
    fit_row(sec, "logistic N=60000 d=784", t_ours, k, t_sk, sk, note)
    return t_ours, t_sk


def section_fits(quick):
    reps = 1 if quick else 3
    for name, fit in (("logistic 60000 x 784", fit_logistic), ("softmax digits", fit_softmax)):
        try:
            ours, theirs = fit("(d) fits", reps)
        except Exception as e:
            traceback.print_exc()
            target(f"fit {name} ran", f"ERROR {type(e).__name__}: {str(e)[:120]}", False)
            continue
        target(f"fit {name}: sklearn's objective (rel 1e-7) faster than sklearn",
               f"ours {fmt(ours)} vs sklearn {fmt(theirs)}" if ours else "never reached",
               ours is not None and ours < theirs)


# ------------------------------------------------------------------ report
def report():
    print(f"\n{'section':<28} {'what':<44} {'implementation':<48} {'time':>10}  note")
    for sec, what, impl, t, note in ROWS:
        print(f"{sec:<28} {what:<44} {impl:<48} {fmt(t):>10}  {note}")
    print(f"\n{'target':<72} {'measured':<58} verdict")
    for text, measured, verdict in TARGETS:
        print(f"{text:<72} {measured:<58} {verdict}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer sizes and repeats, no JAX Hessian, no tiled network data")
    ap.add_argument("--no-jax", action="store_true", help="leave JAX out even when installed")
    ap.add_argument("--only", default="abcd", help="the sections to run, e.g. 'bc'")
    a = ap.parse_args()
    import numba
    import sklearn
    import sympy

    jax, jax_note = load_jax(not a.no_jax)
    print(f"numpy {np.__version__}, sympy {sympy.__version__}, numba {numba.__version__}, "
          f"scikit-learn {sklearn.__version__}, {jax_note}; numba threads "
          f"{numba.get_num_threads()}, cpus {os.cpu_count()}; load average "
          f"{os.getloadavg()[0]:.1f} (timings need a quiet machine)", flush=True)
    if jax is None:
        print(f"JAX columns skipped: {jax_note}")
    steps = {"a": ("builds in fresh subprocesses", lambda: section_build(a.quick)),
             "b": ("logistic per-call", lambda: section_logistic_calls(jax, a.quick)),
             "c": ("64-32-10 network", lambda: section_mlp(jax, a.quick)),
             "d": ("fits against scikit-learn", lambda: section_fits(a.quick))}
    for key in a.only:
        label, run = steps[key]
        print(f"({key}) {label} ...", flush=True)
        t = time.perf_counter()
        try:
            run()
        except Exception as e:  # report the failure with the rest; its targets are not met
            traceback.print_exc()
            target(f"({key}) {label} ran", f"ERROR {type(e).__name__}: {str(e)[:120]}", False)
        print(f"    done in {time.perf_counter() - t:.0f} s", flush=True)
    report()
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
