"""L2-regularised logistic regression on a real data set, three ways, checked against scikit-learn.

Data: the Wisconsin breast-cancer set shipped with scikit-learn (569 rows), standardised; by
default its 10 "mean ..." features (the 31 x 31 Hessian kernel of all 30 takes Numba about a
minute to compile the first time; ``--all-features`` uses them all, cached after that run). The objective is a sum over the rows, written for ONE row and compiled as a
data objective (codegen sums the row kernel over the data in machine code):

    f(w, b) = sum_i [ softplus(z_i) - y_i z_i ] + ||w||^2 / (2 C),    z_i = w . x_i + b

softplus(z) - y z is the log-loss -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], written
the stable way. scikit-learn's LogisticRegression(C) minimises 0.5 ||w||^2 + C sum_i logloss_i
(intercept not penalised), i.e. C times our f: with C = 1 the two objectives are identical,
so the minimum values can be compared digit by digit.

Run:  python examples/logistic_regression.py [--outdir DIR] [--no-plot]
"""
import os
import time

import numpy as np
import sympy as sp

import codegen
import solvers
from derive.ml import softplus
from _script import example_parser, pyplot, save_figure

C = 1.0


def best_of(fn, repeats=5):
    """(result, best wall time) of ``fn()``: the minimum is the least noisy timing."""
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main(argv=None):
    ap = example_parser(__doc__)
    ap.add_argument("--all-features", action="store_true",
                    help="use all 30 features (slower first compile) instead of the 10 'mean' ones")
    args = ap.parse_args(argv)
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise SystemExit("this example needs scikit-learn for its data set and as the reference: "
                         "pip install scikit-learn")

    ds = load_breast_cancer()
    keep = slice(None) if args.all_features else slice(0, 10)  # columns 0-9: "mean radius", ...
    X, y = ds.data[:, keep], ds.target.astype(float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardise: comparable scales, better conditioning
    N, d = X.shape
    print(f"breast cancer data: N = {N} rows, d = {d} features ({', '.join(ds.feature_names[keep][:3])}, "
          f"...), {int(y.sum())} benign; C = {C}")

    # the reference: tight tol so that its minimum is as accurate as ours (wall time, best of 3)
    sk = LogisticRegression(C=C, tol=1e-10, max_iter=10000)
    _, t_sk = best_of(lambda: sk.fit(X, y), repeats=3)

    w = sp.symbols(f"w1:{d + 1}")
    b = sp.Symbol("b")
    xs = sp.symbols(f"x1:{d + 1}")
    yi, lam = sp.symbols("y lam")
    z = sum(wi * xi for wi, xi in zip(w, xs)) + b
    # the penalty is spread over the rows: N * lam/2 ||w||^2 with lam = 1/(C N) gives ||w||^2/(2C)
    per_row = softplus(z) - yi * z + lam / 2 * sum(wi ** 2 for wi in w)
    t = time.perf_counter()
    obj = codegen.compile(per_row, list(w) + [b], params=[lam], data=[xs, yi])
    print(f"per-row objective compiled ({d + 1} variables, gradient and {d + 1}x{d + 1} Hessian) "
          f"in {time.perf_counter() - t:.2f} s\n")
    data = (np.array([1.0 / (C * N)]), X, y)
    theta0 = np.zeros(d + 1)

    runs = {
        # L-BFGS: gtol 1e-5 on max|g| (f ~ 40 summed over 569 rows: rounding limits |g| near 1e-6)
        "lbfgs": {"gtol": 1e-5},
        "newton": {"gtol": 1e-8},
        "adam": {"lr": 0.05, "maxiter": 5000, "gtol": 1e-4},
    }
    results, times = {}, {}
    for method, opts in runs.items():
        solvers.minimize(obj, theta0, method=method, args=data, options=opts)  # compile the loop once
        r, dt = best_of(lambda: solvers.minimize(obj, theta0, method=method, args=data,
                                                 options=opts, history=True))
        results[method], times[method] = r, dt

    theta_sk = np.concatenate([sk.coef_.ravel(), sk.intercept_])
    f_sk = obj.value(theta_sk, *data)  # scikit-learn's solution, scored by OUR objective

    print(f"{'solver':<22} {'f(w, b)':>20} {'iters':>6} {'time':>9} {'max|g|':>9}  status")
    for method, r in results.items():
        print(f"{method:<22} {r.fun:>20.12f} {r.nit:>6} {times[method] * 1e3:>7.2f}ms "
              f"{np.max(np.abs(r.grad)):>9.1e}  {r.status.name}")
    g_sk = np.max(np.abs(obj.grad(theta_sk, *data)))
    print(f"{'sklearn (lbfgs)':<22} {f_sk:>20.12f} {sk.n_iter_[0]:>6} {t_sk * 1e3:>7.2f}ms "
          f"{g_sk:>9.1e}")

    ref = results["newton"]
    print(f"\nsame objective, same minimum: |f_newton - f_sklearn| = {abs(ref.fun - f_sk):.1e}, "
          f"max|w_newton - w_sklearn| = {np.max(np.abs(ref.x - theta_sk)):.1e}")
    acc = np.mean(((X @ ref.x[:d] + ref.x[d]) > 0) == y)
    print(f"training accuracy {acc:.1%}; sklearn's: {sk.score(X, y):.1%}")
    print(f"Newton needs {ref.nit} iterations (each solves a {d + 1}x{d + 1} system: cheap here); "
          f"L-BFGS {results['lbfgs'].nit}; Adam {results['adam'].nit}, and ends less accurate: "
          "first-order steps are made for noisy mini-batches, not for a smooth full-batch "
          "objective.")
    print("Times are best of 5 after a warm-up call (the solver loop is compiled once per "
          "argument layout and cached on disk).")
    assert abs(ref.fun - f_sk) < 1e-6 * abs(f_sk) and ref.success
    assert abs(results["lbfgs"].fun - f_sk) < 1e-6 * abs(f_sk)
    assert abs(results["adam"].fun - f_sk) < 1e-3 * abs(f_sk)

    if not args.no_plot:
        plot(results, f_sk, args.outdir)


def plot(results, f_star, outdir):
    plt = pyplot()
    if plt is None:
        return
    os.makedirs(outdir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for method, r in results.items():
        gap = np.maximum(r.history["fun"] - f_star, 1e-16)
        ax.loglog(np.arange(1, len(gap) + 1), gap, label=f"{method} ({r.nit} it)")
    ax.set(xlabel="iteration + 1", ylabel="f - f(sklearn)", title="logistic regression: optimality gap")
    ax.legend()
    save_figure(plt, fig, outdir, "logistic_regression.png")


if __name__ == "__main__":
    main()
