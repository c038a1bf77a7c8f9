"""The SVM dual end to end: derived (derive), compiled (codegen), solved (solvers), checked.

    python examples/svm_dual.py [--plot svm_moons.png | --outdir DIR] [--no-plot]

1. derive.svm_dual derives the soft-margin dual from the primal through the
   Lagrangian and the KKT conditions (printed pretty and as LaTeX);
2. codegen.kernels compiles the RBF kernel from its SymPy expression;
3. solvers.svm.SVC solves the dual by SMO on the breast-cancer data, and we
   print the support vectors, the dual objective, the duality gap (primal minus
   dual), the accuracy, and scikit-learn's SVC (libsvm) side by side;
4. a 2-D make_moons problem is plotted with its decision boundary and support
   vectors (needs matplotlib; skipped with a message otherwise).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import sympy as sp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from codegen import kernels  # noqa: E402
from derive import svm_dual  # noqa: E402
from solvers.svm import SVC  # noqa: E402


def rule(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def derive_dual():
    rule("1. derive: the soft-margin dual from the primal (3 symbolic points in R^2)")
    C = sp.Symbol("C", positive=True)
    dual = svm_dual(n=3, d=2, C=C)
    print(dual)
    print("\ndual objective (pretty):")
    sp.pprint(dual.objective)
    print("\ndual objective (LaTeX):")
    print(sp.latex(dual.objective))
    print("constraints (LaTeX):", ",\\ ".join(sp.latex(c) for c in dual.constraints))
    g = sp.Symbol("gamma", positive=True)
    rbf = svm_dual(n=2, d=2, C=C, kernel=lambda u, v: sp.exp(-g * ((u - v).T * (u - v))[0]))
    print("\nwith the RBF kernel K(x, z) = exp(-gamma ||x - z||^2) substituted (2 points):")
    sp.pprint(rbf.objective)


def compile_kernel():
    rule("2. codegen: the RBF kernel compiled from SymPy")
    k = kernels.standard_kernel("rbf")
    print("K as a function of <x,z>, <x,x>, <z,z>:  K =", k.expr)
    body = k.source.split("def scalar", 1)[1].split("\n\n", 1)[0]
    print("generated scalar part:\n    def scalar" + body.replace("\n", "\n    "))
    print("inner products: a compiled loop over features; squared norms precomputed")
    return k


def primal_value(model, X, y):
    """1/2 ||w||^2 + C sum_i max(0, 1 - y_i f(x_i)), with ||w||^2 = a^T Q a via the kernel."""
    a = model.dual_coef_[0]
    sv = model.support_vectors_
    K = model.kernel_.matrix(sv, sv, model._kernel_params)
    ypm = np.where(y == model.classes_[1], 1.0, -1.0)
    hinge = np.maximum(0.0, 1.0 - ypm * model.decision_function(X))
    return 0.5 * a @ K @ a + model.C * hinge.sum()


def solve_breast_cancer():
    rule("3. solvers: SMO on the breast-cancer data (569 x 30, standardised)")
    from sklearn.datasets import load_breast_cancer  # noqa: PLC0415
    data = load_breast_cancer()
    X, y = data.data, data.target
    rng = np.random.default_rng(0)
    test = np.zeros(len(y), bool)
    test[rng.choice(len(y), size=len(y) // 4, replace=False)] = True
    mu, sd = X[~test].mean(0), X[~test].std(0)
    X = (X - mu) / sd
    Xtr, ytr, Xte, yte = X[~test], y[~test], X[test], y[test]

    SVC(kernel="rbf").fit(Xtr[:20], ytr[:20])   # load the cached machine code before timing
    t = time.perf_counter()
    ours = SVC(C=1.0, kernel="rbf", tol=1e-6).fit(Xtr, ytr)
    t_ours = time.perf_counter() - t
    primal = primal_value(ours, Xtr, ytr)
    dual = ours.dual_objective_
    print(f"support vectors:   {len(ours.support_)} of {len(ytr)} (per class {ours.n_support_})")
    print(f"dual objective:    {dual:.10f}")
    print(f"primal objective:  {primal:.10f}")
    print(f"duality gap:       {primal - dual:.3e}  (relative {(primal - dual) / dual:.1e})")
    # weak duality, and a gap of the order of the stopping tolerance
    assert -1e-9 <= (primal - dual) / dual < 1e-4, (primal, dual)
    print(f"SMO iterations:    {ours.n_iter_[0]}   fit time {t_ours * 1e3:.1f} ms")
    print(f"test accuracy:     {ours.score(Xte, yte):.4f}   (train {ours.score(Xtr, ytr):.4f})")

    try:
        from sklearn.svm import SVC as SkSVC  # noqa: PLC0415
    except ImportError:
        print("scikit-learn SVC not available: comparison skipped")
        return
    SkSVC(kernel="rbf").fit(Xtr[:20], ytr[:20])
    t = time.perf_counter()
    ref = SkSVC(C=1.0, kernel="rbf", tol=1e-6).fit(Xtr, ytr)
    t_ref = time.perf_counter() - t
    a = ref.dual_coef_[0]
    K = ours.kernel_.matrix(ref.support_vectors_, ref.support_vectors_, ours._kernel_params)
    ref_dual = np.abs(a).sum() - 0.5 * a @ K @ a
    print("\ncomparison with scikit-learn's SVC (libsvm):")
    print(f"  {'':18}{'ours':>16}{'libsvm':>16}")
    print(f"  {'dual objective':18}{dual:16.8f}{ref_dual:16.8f}   rel. diff "
          f"{abs(dual - ref_dual) / abs(ref_dual):.1e}")
    print(f"  {'support vectors':18}{len(ours.support_):16d}{len(ref.support_):16d}   same set: "
          f"{np.array_equal(ours.support_, ref.support_)}")
    print(f"  {'intercept':18}{ours.intercept_[0]:16.8f}{ref.intercept_[0]:16.8f}")
    print(f"  {'test accuracy':18}{ours.score(Xte, yte):16.4f}{ref.score(Xte, yte):16.4f}")
    print(f"  {'fit time (ms)':18}{t_ours * 1e3:16.1f}{t_ref * 1e3:16.1f}")
    agree = np.mean(ours.predict(X) == ref.predict(X))
    print(f"  predictions agree on {agree * 100:.1f}% of all points")
    assert abs(dual - ref_dual) <= 1e-6 * abs(ref_dual) and agree >= 0.995


def plot_moons(path):
    rule("4. a 2-D example: make_moons decision boundary")
    from sklearn.datasets import make_moons  # noqa: PLC0415
    X, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    m = SVC(C=10.0, kernel="rbf", gamma=1.0).fit(X, y)
    print(f"make_moons: {len(m.support_)} support vectors, training accuracy {m.score(X, y):.3f}")
    if path is None:
        print("--no-plot: no plot saved")
        return
    try:
        import matplotlib  # noqa: PLC0415
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print("matplotlib is not installed: skipping the plots "
              "(pip install matplotlib, or pip install -e '.[plot]')")
        return
    xx, yy = np.meshgrid(np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 300),
                         np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 300))
    f = m.decision_function(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.contourf(xx, yy, f, levels=20, cmap="RdBu_r", alpha=0.35)
    ax.contour(xx, yy, f, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"])
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", s=18, edgecolors="k", linewidths=0.3)
    sv = m.support_vectors_
    ax.scatter(sv[:, 0], sv[:, 1], s=80, facecolors="none", edgecolors="k", linewidths=1.0,
               label=f"support vectors ({len(sv)})")
    ax.set_title("SVC (RBF, C=10) on make_moons: f = 0 and margins f = ±1", fontsize=10)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot saved to {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="SVM dual: derive, compile, solve, check")
    ap.add_argument("--plot", default=None,
                    help="file for the make_moons plot (default: svm_dual.png in --outdir)")
    ap.add_argument("--outdir", default=".", help="directory for the plot")
    ap.add_argument("--no-plot", action="store_true", help="do not save the plot")
    args = ap.parse_args(argv)
    plot = None if args.no_plot else (args.plot or os.path.join(args.outdir, "svm_dual.png"))
    derive_dual()
    compile_kernel()
    try:
        solve_breast_cancer()
        plot_moons(plot)
    except ImportError as exc:
        print(f"scikit-learn is needed for the data sets ({exc}); pip install scikit-learn")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
