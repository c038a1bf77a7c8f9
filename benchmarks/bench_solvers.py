"""solvers vs scipy.optimize.minimize on the Moré-Garbow-Hillstrom set, with the same derivatives.

Every method gets the same compiled kernels: SciPy calls their Python methods (``value_and_grad``
as ``fun`` with ``jac=True``, ``hessp``, ``hess``), solvers call the jit kernels from Numba.
Pairs compared: lbfgs / L-BFGS-B, bfgs / BFGS, newton-tr / Newton-CG (both Hessian-vector
products), newton / trust-exact (both exact Hessians). Times are medians of warm runs.

Run: ``python benchmarks/bench_solvers.py`` (``--quick`` skips n = 1000).
"""
import argparse
import os
import sys
import time

# one BLAS thread: both sides run single-threaded, and SciPy's small-vector BLAS calls do not
# stall on thread hand-offs when the machine is busy
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.optimize as so  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import codegen  # noqa: E402
import problems  # noqa: E402
import solvers  # noqa: E402

# L-BFGS-B's defaults (pgtol = 1e-5, factr = 1e7 -> ftol = 2.2e-9) for both sides of that pair
LBFGS_TOL = dict(gtol=1e-5, ftol=1e7 * np.finfo(float).eps)


def _timeit(fn, budget=0.3, max_reps=200):
    fn()  # warm-up (Numba specialisation, caches)
    times = []
    t_end = time.perf_counter() + budget
    while len(times) < 3 or (time.perf_counter() < t_end and len(times) < max_reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, float(np.median(times))


def ours(method, obj, x0):
    opts = LBFGS_TOL if method == "lbfgs" else {}
    def run():
        return solvers.minimize(obj, x0, method=method, maxiter=5000, options=opts)
    r, t = _timeit(run)
    return dict(f=r.fun, nfev=r.nfev, ngev=r.ngev, nhev=r.nhev, time=t)


def scipy(method, obj, x0):
    kw = dict(jac=True) if method in ("L-BFGS-B", "BFGS") else dict(jac=obj.grad)
    fun = obj.value_and_grad if kw.get("jac") is True else obj.value
    if method == "Newton-CG":
        kw["hessp"] = obj.hessp
    if method == "trust-exact":
        kw["hess"] = obj.hess
    opts = {"maxiter": 5000}
    def run():
        return so.minimize(fun, x0, method=method, options=opts, **kw)
    r, t = _timeit(run)
    nfev = int(r.get("nfev", 0))
    ngev = int(r.get("njev", nfev if kw.get("jac") is True else 0))
    return dict(f=float(r.fun), nfev=nfev, ngev=ngev, nhev=int(r.get("nhev", 0)), time=t)


PAIRS = [("lbfgs", "L-BFGS-B"), ("bfgs", "BFGS"), ("newton-tr", "Newton-CG"), ("newton", "trust-exact")]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip extended Rosenbrock at n = 1000")
    args = ap.parse_args(argv)
    probs = list(problems.PROBLEMS)
    if not args.quick:
        probs.append(problems.extended_rosenbrock(1000))
    rows = []
    print(f"{'problem':<24}{'n':>5}  " + "  ".join(f"{a + '/' + b:<30}" for a, b in PAIRS))
    print(f"{'':<29}  " + "  ".join(f"{'solved  ngev      speed-up':<30}" for _ in PAIRS))
    for p in probs:
        obj = codegen.compile(p.expr, p.wrt)
        cells, row = [], {"problem": p.name, "n": p.n}
        for a, b in PAIRS:
            if p.n > 200 and (b in ("BFGS", "trust-exact")):
                cells.append(f"{'(dense; skipped at this n)':<30}")
                continue
            ra, rb = ours(a, obj, p.x0), scipy(b, obj, p.x0)
            sa, sb = p.solved(ra["f"], 1e-6, 1e-6), p.solved(rb["f"], 1e-6, 1e-6)
            row[a], row[b] = dict(ra, solved=sa), dict(rb, solved=sb)
            cells.append(f"{'YN'[not sa]}/{'YN'[not sb]}    {ra['ngev']:>4}/{rb['ngev']:<5} "
                         f"{rb['time'] / ra['time']:>8.1f}x    ")
        rows.append(row)
        print(f"{p.name:<24}{p.n:>5}  " + "  ".join(cells), flush=True)
    print()
    for a, b in PAIRS:
        both = [r for r in rows if a in r]
        na = sum(r[a]["solved"] for r in both)
        nb = sum(r[b]["solved"] for r in both)
        missed = [r["problem"] for r in both if r[b]["solved"] and not r[a]["solved"]]
        ga = sum(r[a]["ngev"] for r in both)
        gb = sum(r[b]["ngev"] for r in both)
        common = [r for r in both if r[a]["solved"] and r[b]["solved"]]
        gca = sum(r[a]["ngev"] for r in common)
        gcb = sum(r[b]["ngev"] for r in common)
        ta = sum(r[a]["time"] for r in both)
        tb = sum(r[b]["time"] for r in both)
        print(f"{a:>9} vs {b:<12} solved {na:>2} vs {nb:>2} of {len(both)}"
              f"{'  (missed what SciPy solves: ' + ', '.join(missed) + ')' if missed else ''}; "
              f"gradient evals {ga} vs {gb} (on the {len(common)} both solve: {gca} vs {gcb}); "
              f"total time {ta * 1e3:.1f} ms vs {tb * 1e3:.1f} ms ({tb / ta:.1f}x)")
    ros = next(r for r in rows if r["problem"] == "rosenbrock")
    print(f"\n2-D Rosenbrock from (-1.2, 1): lbfgs {ros['lbfgs']['time'] * 1e6:.0f} us vs L-BFGS-B "
          f"{ros['L-BFGS-B']['time'] * 1e6:.0f} us ({ros['L-BFGS-B']['time'] / ros['lbfgs']['time']:.1f}x)")
    big = [r for r in rows if r["n"] >= 1000]
    for r in big:
        print(f"{r['problem']}: lbfgs {r['lbfgs']['time'] * 1e3:.2f} ms vs L-BFGS-B "
              f"{r['L-BFGS-B']['time'] * 1e3:.2f} ms ({r['L-BFGS-B']['time'] / r['lbfgs']['time']:.1f}x); "
              f"newton-tr {r['newton-tr']['time'] * 1e3:.2f} ms vs Newton-CG "
              f"{r['Newton-CG']['time'] * 1e3:.2f} ms ({r['Newton-CG']['time'] / r['newton-tr']['time']:.1f}x)")
    return rows


if __name__ == "__main__":
    main()
