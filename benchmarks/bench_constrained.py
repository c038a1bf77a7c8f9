"""Constrained solvers.minimize vs SLSQP, trust-constr and IPOPT on Hock-Schittkowski problems.

The problems are those of ``hs_problems.py``; every solver is given the same compiled
derivatives.

Each problem is compiled once: the objective with ``codegen.compile`` (value_and_grad, hess),
the equalities and the inequalities with ``codegen.compile_vector`` (value, jacobian), and, for
the peers that take second derivatives of the constraints (trust-constr, IPOPT), the weighted
sum ``v . c(x)`` with ``codegen.compile(..., params=v)`` (its ``hess(x, v)``). Ours gets the
compiled objective and the compiled constraint functions (``eq=``/``ineq=``, ``bounds=``);
SLSQP gets ``value_and_grad`` (``jac=True``) and the constraint values and Jacobians (its
inequalities are ``fun >= 0``: our ``c(x) <= 0`` negated); trust-constr gets the same plus the
exact Hessians (``NonlinearConstraint(c, -inf, 0)``); IPOPT (cyipopt's ``minimize_ipopt``, when
installed) the same as trust-constr.

Every solver starts from the standard starting point projected onto the bounds (HS2, HS16, HS45
and HS65 start outside them). Solved means ``|f - f*| <= 1e-6 max(1, |f*|)`` and the largest
violation of equalities, inequalities and bounds ``<= 1e-6`` (measured by SymPy's lambdify, the
same for every solver). Times are medians of repeated runs after one warm-up run (the warm-up
includes any Numba specialisation or loop compile of ours; it is reported apart, as is the
codegen compile of each problem, which all solvers share). ``fev`` is the number of objective
evaluations each solver reports (SciPy's ``nfev``, ours ``nfev``).

Run: ``python benchmarks/bench_constrained.py`` (``--quick``: 12 problems, fewer repeats;
``--problems hs71 hs100``: just these; ``--no-ipopt``; ``--timeout``: seconds per problem, after
which its unfinished runs are reported as TIMEOUT: the problems run in a worker process, so that
a run that never ends can be stopped).
"""
import argparse
import multiprocessing as mp
import os
import queue
import sys
import time
import warnings

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.optimize as so  # noqa: E402
import sympy as sp  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import codegen  # noqa: E402
import hs_problems  # noqa: E402
import solvers  # noqa: E402

QUICK = ["hs1", "hs5", "hs6", "hs14", "hs21", "hs28", "hs35", "hs43", "hs48", "hs65", "hs71",
         "hs100"]
# ftol 1e-8: SLSQP's default 1e-6 stops short of 1e-6 accuracy on HS3 and HS49, while 1e-10 and
# below solve no more problems and make it cycle on HS7 (33,000 evaluations)
SLSQP_OPTIONS = {"maxiter": 3000, "ftol": 1e-8}
# trust-constr's defaults (1e-8) solve 39 of the 71 to 1e-6, 1e-10 47, these 61 (its barrier
# parameter must fall far below 1e-6 for the objective to be accurate to 1e-6)
TRUST_CONSTR_OPTIONS = {"maxiter": 5000, "gtol": 1e-12, "xtol": 1e-14, "barrier_tol": 1e-12}
IPOPT_OPTIONS = {"tol": 1e-10, "max_iter": 3000, "print_level": 0, "sb": "yes"}


class Compiled:
    """One problem's kernels, shared by every solver."""

    def __init__(self, p):
        t = time.perf_counter()
        self.obj = codegen.compile(p.f, p.wrt)
        self.eq = codegen.compile_vector(p.eq, p.wrt) if p.eq else None
        self.ineq = codegen.compile_vector(p.ineq, p.wrt) if p.ineq else None
        v = sp.symbols(f"v1:{p.m_eq + p.m_ineq + 1}", real=True)
        cons = list(p.eq) + list(p.ineq)
        self.vc = codegen.compile(sum(vi * ci for vi, ci in zip(v, cons)), p.wrt, params=v) \
            if cons else None
        lo, hi = p.lo_hi
        x = np.clip(p.x0, lo, hi)  # first calls load the kernels: part of the compile
        self.obj.value_and_grad(x), self.obj.hess(x)
        for c in (self.eq, self.ineq):
            if c is not None:
                c.value(x), c.jacobian(x)
        if self.vc is not None:
            self.vc.hess(x, np.ones(len(cons)))
        self.seconds = time.perf_counter() - t

    def constraint_hess(self, p, which):
        """hess(x, v) of v . c for the eq (which=0) or ineq (which=1) block."""
        m_eq, m = p.m_eq, p.m_eq + p.m_ineq

        def hess(x, v):
            w = np.zeros(m)
            if which == 0:
                w[:m_eq] = v
            else:
                w[m_eq:] = v
            return self.vc.hess(x, w)
        return hess


def _timeit(fn, budget, max_reps):
    t = time.perf_counter()
    fn()  # warm-up
    first = time.perf_counter() - t
    times, t_end = [], time.perf_counter() + budget
    while len(times) < 3 or (time.perf_counter() < t_end and len(times) < max_reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, float(np.median(times)), first


def _x0(p):
    lo, hi = p.lo_hi
    return np.clip(p.x0, lo, hi)


def run_ours(p, c, x0):
    kw = {}
    if p.bounds is not None:
        kw["bounds"] = p.bounds
    if c.eq is not None:
        kw["eq"] = c.eq
    if c.ineq is not None:
        kw["ineq"] = c.ineq
    r = solvers.minimize(c.obj, x0, **kw)
    return r.x, float(r.fun), int(r.nfev), bool(r.success)


def run_slsqp(p, c, x0):
    cons = []
    if c.eq is not None:
        cons.append({"type": "eq", "fun": c.eq.value, "jac": c.eq.jacobian})
    if c.ineq is not None:  # SciPy's inequality is fun(x) >= 0
        g = c.ineq
        cons.append({"type": "ineq", "fun": lambda x: -g.value(x), "jac": lambda x: -g.jacobian(x)})
    bounds = None if p.bounds is None else so.Bounds(*p.lo_hi)
    r = so.minimize(c.obj.value_and_grad, x0, jac=True, method="SLSQP", bounds=bounds,
                    constraints=cons, options=SLSQP_OPTIONS)
    return r.x, float(r.fun), int(r.nfev), bool(r.success)


def run_trust_constr(p, c, x0):
    cons = []
    if c.eq is not None:
        cons.append(so.NonlinearConstraint(c.eq.value, 0.0, 0.0, jac=c.eq.jacobian,
                                           hess=c.constraint_hess(p, 0)))
    if c.ineq is not None:
        cons.append(so.NonlinearConstraint(c.ineq.value, -np.inf, 0.0, jac=c.ineq.jacobian,
                                           hess=c.constraint_hess(p, 1)))
    bounds = None if p.bounds is None else so.Bounds(*p.lo_hi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "delta_grad == 0.0" and friends
        r = so.minimize(c.obj.value_and_grad, x0, jac=True, hess=c.obj.hess,
                        method="trust-constr", bounds=bounds, constraints=cons,
                        options=TRUST_CONSTR_OPTIONS)
    return r.x, float(r.fun), int(r.nfev), bool(r.success)


def _ipopt():
    try:
        import cyipopt
    except ImportError:
        return None
    return cyipopt.minimize_ipopt


def run_ipopt(p, c, x0, minimize_ipopt):
    cons = []
    if c.eq is not None:
        cons.append({"type": "eq", "fun": c.eq.value, "jac": c.eq.jacobian,
                     "hess": c.constraint_hess(p, 0)})
    if c.ineq is not None:
        g, h = c.ineq, c.constraint_hess(p, 1)
        cons.append({"type": "ineq", "fun": lambda x: -g.value(x),
                     "jac": lambda x: -g.jacobian(x), "hess": lambda x, v: h(x, -v)})
    bounds = None if p.bounds is None else so.Bounds(*p.lo_hi)
    r = minimize_ipopt(c.obj.value, x0, jac=c.obj.grad, hess=c.obj.hess, bounds=bounds,
                       constraints=cons, options=IPOPT_OPTIONS)
    return r.x, float(r.fun), int(r.nfev), bool(r.success)


def measure(name, fn, p, budget, max_reps):
    try:
        (x, f, nfev, ok), t, first = _timeit(fn, budget, max_reps)
    except Exception as e:  # a failure is a row, not the end of the benchmark
        return {"solver": name, "error": f"{type(e).__name__}: {e}"[:200], "solved": False,
                "f": np.nan, "viol": np.nan, "time": np.nan, "first": np.nan, "nfev": 0}
    return {"solver": name, "solved": p.solved(f, x), "f": f, "viol": p.violation(x),
            "time": t, "first": first, "nfev": nfev, "success": ok}


def _cell(r):
    if "error" in r:
        return f"{r['error'][:42]:<44}"
    return (f"{'YN'[not r['solved']]} {r['f']:>13.7g} {r['viol']:>7.1e} "
            f"{r['time'] * 1e3:>8.2f} {r['nfev']:>5}  ")


def _peers(use_ipopt):
    peers = [("ours", run_ours), ("SLSQP", run_slsqp), ("trust-constr", run_trust_constr)]
    minimize_ipopt = _ipopt() if use_ipopt else None
    if minimize_ipopt is not None:
        peers.append(("IPOPT", lambda p, c, x0: run_ipopt(p, c, x0, minimize_ipopt)))
    return peers


def _worker(names, out, budget, max_reps, use_ipopt):
    """Runs in a child process, so that a run that never ends can be stopped (Numba loops
    cannot be interrupted): posts ("compiled", seconds), one result per solver, ("done",)."""
    peers = _peers(use_ipopt)
    while (name := names.get()) is not None:
        p = hs_problems.get(name)
        c = Compiled(p)
        out.put(("compiled", name, c.seconds))
        x0 = _x0(p)
        for solver, fn in peers:
            out.put(("result", name, measure(solver, lambda fn=fn: fn(p, c, x0), p, budget,
                                             max_reps)))
        out.put(("done", name, None))


def _run_all(names, solvers_, budget, max_reps, use_ipopt, timeout, report):
    """Runs the problems in a worker process; a problem still running after ``timeout``
    seconds has its worker killed, its missing results marked TIMEOUT, and a new worker
    continues with the next problem."""
    ctx = mp.get_context("spawn")
    todo = list(names)
    while todo:
        q_in, q_out = ctx.Queue(), ctx.Queue()
        for n in todo:
            q_in.put(n)
        q_in.put(None)
        proc = ctx.Process(target=_worker, args=(q_in, q_out, budget, max_reps, use_ipopt),
                           daemon=True)
        proc.start()
        row, t_end = {}, time.perf_counter() + timeout
        while todo:
            try:
                kind, name, value = q_out.get(timeout=max(0.0, t_end - time.perf_counter()))
            except queue.Empty:
                proc.kill()
                proc.join()
                for s in solvers_:
                    row.setdefault(s, {"solver": s, "error": f"TIMEOUT after {timeout:.0f} s",
                                       "solved": False, "f": np.nan, "viol": np.nan,
                                       "time": np.nan, "first": np.nan, "nfev": 0})
                report(todo.pop(0), row)
                break
            if kind == "compiled":
                row = {"compile": value}
            elif kind == "result":
                row[value["solver"]] = value
            else:
                report(todo.pop(0), row)
                row, t_end = {}, time.perf_counter() + timeout
        proc.join(timeout=10)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--problems", nargs="*", help="names such as hs71 (default: all)")
    ap.add_argument("--no-ipopt", action="store_true", help="leave out IPOPT")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of repeated timing per solver and problem (default 0.3, "
                         "0.05 with --quick)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds per problem (compile and all solvers) before it is stopped "
                         "and its unfinished runs reported as TIMEOUT (default 900: the first "
                         "problem includes the Numba compile of our loops)")
    args = ap.parse_args(argv)
    names = args.problems or (QUICK if args.quick else [p.name for p in hs_problems.PROBLEMS])
    for n in names:
        hs_problems.get(n)  # unknown names fail here, before anything runs
    budget = args.budget if args.budget is not None else (0.05 if args.quick else 0.3)
    max_reps = 5 if args.quick else 50
    use_ipopt = not args.no_ipopt and _ipopt() is not None
    if not args.no_ipopt and not use_ipopt:
        print("IPOPT: cyipopt is not importable here; the IPOPT column is left out\n")
    solvers_ = [s for s, _ in _peers(use_ipopt)]
    head = f"{'problem':<7}{'n':>3}{'m_eq':>5}{'m_in':>5} {'kind':<7}{'f*':>14}{'compile':>8}  "
    print(head + "".join(f"{s:<44}" for s in solvers_))
    print(" " * len(head) + f"{'ok f             viol       ms   fev  ':<44}" * len(solvers_))
    rows = []

    def report(name, row):
        p = hs_problems.get(name)
        row = {"p": p, "compile": row.pop("compile", np.nan), **row}
        rows.append(row)
        print(f"{p.name:<7}{p.n:>3}{p.m_eq:>5}{p.m_ineq:>5} {p.kind:<7}{p.f_star:>14.8g}"
              f"{row['compile']:>7.1f}s  " + "".join(_cell(row[s]) for s in solvers_), flush=True)

    _run_all(names, solvers_, budget, max_reps, use_ipopt, args.timeout, report)
    _summary(rows, solvers_)
    return rows


def _summary(rows, names):
    print(f"\n{len(rows)} problems; codegen compile (shared by all solvers, excluded from the "
          f"times) {np.nansum([r['compile'] for r in rows]):.1f} s in total")
    # totals over the problems every solver finished (a TIMEOUT or error has no time)
    done = [r for r in rows if all(np.isfinite(r[n]["time"]) for n in names)]
    total = {n: sum(r[n]["time"] for r in done) for n in names}
    print(f"total times over the {len(done)} problems every solver finished")
    for n in names:
        solved = sum(r[n]["solved"] for r in rows)
        errors = [r["p"].name for r in rows if "error" in r[n]]
        fev = sum(r[n]["nfev"] for r in rows)
        first = sum(r[n]["first"] for r in rows if np.isfinite(r[n]["first"]))
        ratio = f"; total time / ours {total[n] / total['ours']:.2f}x" \
            if n != "ours" and total["ours"] > 0 else ""
        print(f"{n:<13} solved {solved:>2}/{len(rows)}, total time {total[n] * 1e3:9.1f} ms"
              f"{ratio}, objective evaluations {fev}, first (warm-up) runs {first:.1f} s"
              + (f"; errors on {', '.join(errors)}" if errors else ""))
    for n in names:  # does the solver's own verdict agree with the benchmark's?
        claimed = [r["p"].name for r in rows if r[n].get("success") and not r[n]["solved"]]
        modest = [r["p"].name for r in rows if r[n]["solved"] and r[n].get("success") is False]
        print(f"{n}: success reported but not solved on {', '.join(claimed) or '-'}; "
              f"solved but no success reported on {', '.join(modest) or '-'}")
    for n in names[1:]:
        both = [r for r in rows if r[n]["solved"] and r["ours"]["solved"]]
        if both:
            ratios = [r[n]["time"] / r["ours"]["time"] for r in both]
            print(f"{n} / ours time on the {len(both)} problems both solve: geometric mean "
                  f"{np.exp(np.mean(np.log(ratios))):.2f}x, median {np.median(ratios):.2f}x, "
                  f"range {min(ratios):.2f}x to {max(ratios):.2f}x")
    for n in names[1:]:
        only_peer = [r["p"].name for r in rows if r[n]["solved"] and not r["ours"]["solved"]]
        only_ours = [r["p"].name for r in rows if r["ours"]["solved"] and not r[n]["solved"]]
        print(f"solved by {n} and not ours: {', '.join(only_peer) or '-'}; by ours and not "
              f"{n}: {', '.join(only_ours) or '-'}")
    for n in names:
        for err in sorted({r[n]["error"] for r in rows if "error" in r[n]}):
            where = [r["p"].name for r in rows if r[n].get("error") == err]
            print(f"{n} failed on {', '.join(where)}: {err}")
    unsolved = [r["p"].name for r in rows if not any(r[n]["solved"] for n in names)]
    print(f"solved by nobody: {', '.join(unsolved) or '-'}")


if __name__ == "__main__":
    main()
