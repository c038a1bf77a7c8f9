"""Five optimisers on the Rosenbrock valley: gradient descent, momentum, Adam, L-BFGS, Newton.

f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 has its minimum f = 0 at (1, 1) at the bottom of a long,
curved, narrow valley. First-order methods crawl along the valley floor; methods that use
curvature (L-BFGS learns it, Newton computes it) follow the valley in a few dozen steps.

Run:  python examples/rosenbrock.py [--outdir DIR] [--no-plot]
"""
import time

import numpy as np
import sympy as sp

import codegen
import derive
import solvers
from _script import contour_figure, example_parser, save_figure

X0 = np.array([-1.2, 1.0])  # the classic start (Rosenbrock 1960)
XSTAR = np.array([1.0, 1.0])

# method, options, why these settings
RUNS = [
    ("gd", {"lr": 1e-3, "maxiter": 20000},
     "lr = 1e-3 is just below 2/L (L ~ 1000 is the largest Hessian eigenvalue in the valley)"),
    ("momentum", {"lr": 1e-3, "beta": 0.9, "maxiter": 20000},
     "heavy ball: the same lr, but velocity builds up along the valley floor (stable to lr*L < 2(1+beta))"),
    ("adam", {"lr": 2e-2, "maxiter": 20000},
     "per-coordinate step sizes: quick down the walls, slow to settle at the end"),
    ("lbfgs", {"maxiter": 1000}, "quasi-Newton: curvature learned from the last 10 steps"),
    ("newton", {"maxiter": 200}, "exact Hessian, strong-Wolfe line search"),
]


def main(argv=None):
    ap = example_parser(__doc__)
    args = ap.parse_args(argv)

    x, y = sp.symbols("x y")
    f = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
    print("f(x, y) =", f)
    print("gradient:", list(derive.gradient(f, [x, y])))
    H0 = derive.hessian(f, [x, y]).subs({x: sp.Rational(-6, 5), y: 1})
    print("Hessian at the start (-1.2, 1):", H0.tolist())
    print("condition number of the Hessian at the minimum (1, 1):",
          f"{float(derive.condition_number(f, [x, y], [1, 1])):.0f}",
          "(a narrow valley: one direction is ~2500x steeper than the other)\n")

    t = time.perf_counter()
    obj = codegen.compile(f, [x, y])
    print(f"compiled value/gradient/Hessian kernels in {time.perf_counter() - t:.2f} s "
          "(cached on disk: the next run loads them)\n")

    results = {}
    print(f"{'method':<9} {'iters':>6} {'f(x)':>11} {'|x - x*|':>10}  status")
    for method, opts, why in RUNS:
        path = [X0.copy()]
        # The callback records every iterate for the plot (the loop then runs in Python).
        r = solvers.minimize(obj, X0, method=method, options=opts, history=True,
                             callback=lambda xk: path.append(xk))
        results[method] = (r, np.array(path))
        err = np.linalg.norm(r.x - XSTAR)
        print(f"{method:<9} {r.nit:>6} {r.fun:>11.3e} {err:>10.2e}  {r.status.name}")
        print(f"{'':<9} {why}")

    nit = {m: results[m][0].nit for m in results}
    print("\nwhat to take away:")
    print(f"  Newton needs {nit['newton']} iterations, L-BFGS {nit['lbfgs']}; plain gradient descent "
          f"uses {nit['gd']} and is still {np.linalg.norm(results['gd'][0].x - XSTAR):.1e} away.")
    print("  Each Newton step costs a Hessian solve (n^3), each L-BFGS step O(m n): in high dimension "
          "L-BFGS usually wins on time, Newton on iterations.")

    # sanity checks: the curvature methods must find the minimum
    for m in ("newton", "lbfgs"):
        assert results[m][0].success and np.linalg.norm(results[m][0].x - XSTAR) < 1e-5, m
    assert nit["newton"] < nit["lbfgs"] < nit["gd"]

    if not args.no_plot:
        plot(results, f, (x, y), args.outdir)


def plot(results, f, xy, outdir):
    figure = contour_figure(f, xy, (-1.6, 1.6), (-0.6, 2.0), np.logspace(-1.5, 3, 16), outdir,
                            (13, 5.5))
    if figure is None:
        return
    plt, fig, ax, bx = figure
    for (m, (r, path)), c in zip(results.items(), ["C0", "C1", "C2", "C3", "C4"]):
        step = max(1, len(path) // 400)  # thin long paths so markers stay readable
        p = np.vstack([path[::step], path[-1:]])
        ax.plot(p[:, 0], p[:, 1], ".-", color=c, ms=3, lw=1, label=f"{m} ({r.nit} it)")
        hist = r.history["fun"]
        bx.semilogy(np.arange(len(hist)), np.maximum(hist, 1e-20), color=c, label=m)
    ax.plot(*XSTAR, "k*", ms=12)
    ax.plot(*X0, "ko", ms=5)
    ax.set(xlabel="x", ylabel="y", title="paths on the Rosenbrock valley")
    ax.legend(loc="lower right", fontsize=8)
    bx.set(xscale="symlog", xlabel="iteration", ylabel="f(x_k)", title="convergence")
    bx.legend(fontsize=8)
    save_figure(plt, fig, outdir, "rosenbrock.png")


if __name__ == "__main__":
    main()
