"""Softmax regression on scikit-learn's digits, written with matrices, checked against scikit-learn.

Data: the 8 x 8 handwritten digits shipped with scikit-learn (1797 images, 64 pixels in 0..16,
scaled to 0..1), split 75/25 into training and test rows. The model is written once, for one
row, with SymPy MatrixSymbols of symbolic sizes (K classes, d pixels), and compiled once for
every size:

    z = W x + b                      (W: K x d, b: K x 1, x: one image, t: its one-hot label)
    f(W, b) = sum_i [ log sum_k exp(z_ik) - t_i . z_i ] + ||W||^2 / (2 C)

scikit-learn's LogisticRegression(C) (multinomial for more than two classes) minimises
0.5 ||W||^2 + C sum_i logloss_i with unpenalised intercepts, i.e. C times our f: the minimum
values are compared to rel 1e-7, each scored by the other side's code. The fit runs twice:
L-BFGS on the full data, and Adam on mini-batches of 64 rows (reported as it ends: a
first-order method with a constant step stops near the minimum, not on it).

Run:  python examples/softmax_digits.py [--outdir DIR] [--no-plot] [--quick]
"""
import os
import time

import numpy as np
import sympy as sp

import codegen
import solvers
from _script import example_parser, pyplot, save_figure

C = 1.0


def softmax_model():
    """(per-row loss, wrt, params, data, penalty) in MatrixSymbols of symbolic sizes K x d.

    x = [W.ravel() (row-major, like scikit-learn's coef_), b]; params [lam] with lam = 1/C.
    """
    K, d = sp.symbols("K d", integer=True, positive=True)
    W, b = sp.MatrixSymbol("W", K, d), sp.MatrixSymbol("b", K, 1)
    x, t = sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("t", K, 1)
    lam = sp.Symbol("lam")
    k, j = sp.symbols("k j", integer=True)
    z = W * x + b
    f = sp.log(sp.Sum(sp.exp(z[k, 0]), (k, 0, K - 1))) - (t.T * z)[0, 0]
    penalty = lam / 2 * sp.Sum(sp.Sum(W[k, j] ** 2, (j, 0, d - 1)), (k, 0, K - 1))
    return f, [W, b], [lam], [x, t], penalty


def softmax_numpy(theta, X, T, lam):
    """(value, gradient) of the same objective in NumPy over all rows at once (the oracle)."""
    K, d = T.shape[1], X.shape[1]
    W, b = theta[:K * d].reshape(K, d), theta[K * d:]
    Z = X @ W.T + b
    m = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - m)
    S = E.sum(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(S[:, 0])
    value = np.sum(lse - np.sum(T * Z, axis=1)) + lam / 2 * np.sum(W * W)
    D = E / S - T  # softmax minus one-hot: d(loss_i)/dz_i
    return value, np.concatenate([(D.T @ X + lam * W).ravel(), D.sum(axis=0)])


def sklearn_objective(theta, X, y, C, classes):
    """LogisticRegression's own objective 0.5 ||W||^2 + C sum log-loss at theta = [W, b],
    computed by scikit-learn's predict_proba and log_loss (an oracle independent of ours)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    K = len(classes)
    W, b = theta[:K * X.shape[1]].reshape(K, -1), theta[K * X.shape[1]:]
    clf = LogisticRegression(C=C)
    clf.classes_, clf.coef_, clf.intercept_ = classes, W, b
    clf.n_features_in_ = X.shape[1]
    P = clf.predict_proba(X)
    return 0.5 * np.sum(W * W) + C * log_loss(y, P, normalize=False, labels=classes)


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    ds = load_digits()
    X = ds.data / 16.0  # pixels 0..16 -> 0..1: comparable scales, better conditioning
    return train_test_split(X, ds.target, test_size=0.25, random_state=0, stratify=ds.target)


def one_hot(y, K):
    T = np.zeros((len(y), K))
    T[np.arange(len(y)), y] = 1.0
    return T


def timed_fit(obj, x0, method, args, options):
    """(Result with history, seconds) of a fit; the solver loop is compiled first by a one-step
    run (once per argument layout, then cached on disk), so the time is the fit's own."""
    short = {**options, "epochs": 1} if "epochs" in options else {**options, "maxiter": 1}
    solvers.minimize(obj, x0, method=method, args=args, options=short)
    t = time.perf_counter()
    r = solvers.minimize(obj, x0, method=method, args=args, options=options, history=True)
    return r, time.perf_counter() - t


def main(argv=None):
    ap = example_parser(__doc__)
    ap.add_argument("--quick", action="store_true", help="30 Adam epochs instead of 100 (tests)")
    args = ap.parse_args(argv)
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise SystemExit("this example needs scikit-learn for its data set and as the reference: "
                         "pip install scikit-learn")
    Xtr, Xte, ytr, yte = digits_split()
    classes = np.unique(ytr)
    K, (N, d) = len(classes), Xtr.shape
    Ttr = one_hot(ytr, K)
    print(f"digits: N = {N} training rows, {len(yte)} test rows, d = {d} pixels, K = {K} "
          f"classes; C = {C}")

    from threadpoolctl import threadpool_limits

    # one thread: on a small problem scikit-learn's OpenMP threads only add overhead (and
    # spin for seconds when the cores are busy)
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        sk = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(Xtr, ytr)
        t_sk = time.perf_counter() - t
    theta_sk = np.concatenate([sk.coef_.ravel(), sk.intercept_])

    f, wrt, params, data, penalty = softmax_model()
    t = time.perf_counter()
    obj = codegen.compile(f, wrt, params=params, data=data, penalty=penalty)
    p = np.array([1.0 / C])
    obj.value_and_grad(np.zeros(K * d + K), p, Xtr, Ttr)
    print(f"softmax model compiled for symbolic K x d and called once (Numba included) in "
          f"{time.perf_counter() - t:.2f} s; here {K * d + K} variables\n")

    # the compiled objective against the NumPy oracle, at a random point
    th = np.random.default_rng(0).normal(size=K * d + K) * 0.1
    v, g = obj.value_and_grad(th, p, Xtr, Ttr)
    v_np, g_np = softmax_numpy(th, Xtr, Ttr, 1.0 / C)
    err_v, err_g = abs(v - v_np) / abs(v_np), np.max(np.abs(g - g_np)) / np.max(np.abs(g_np))
    print(f"compiled vs NumPy at a random point: value rel {err_v:.1e}, gradient rel {err_g:.1e}")
    if not (err_v < 1e-12 and err_g < 1e-10):
        raise SystemExit("the compiled softmax objective disagrees with the NumPy reference")

    x0 = np.zeros(K * d + K)
    args_fit = (p, Xtr, Ttr)
    epochs = 30 if args.quick else 100
    runs = {"lbfgs": {"gtol": 1e-7, "maxiter": 5000},
            "adam (batches of 64)": {"lr": 0.03, "batch_size": 64, "epochs": epochs, "seed": 0}}
    results, times = {}, {}
    for name, opts in runs.items():
        results[name], times[name] = timed_fit(obj, x0, name.split()[0], args_fit, opts)

    f_sk = sklearn_objective(theta_sk, Xtr, ytr, C, classes)  # sklearn's minimum, its own code
    print(f"{'solver':<22} {'C * f (sklearn scale)':>22} {'rel gap':>9} {'iters':>6} "
          f"{'time':>8} {'test acc':>9}")
    gaps = {}
    for name, r in results.items():
        f_ours = sklearn_objective(r.x, Xtr, ytr, C, classes)  # our minimum, scored by sklearn
        gaps[name] = (f_ours - f_sk) / abs(f_sk)
        acc = np.mean(np.argmax(Xte @ r.x[:K * d].reshape(K, d).T + r.x[K * d:], 1) == yte)
        print(f"{name:<22} {f_ours:>22.10f} {gaps[name]:>9.1e} {r.nit:>6} {times[name]:>7.2f}s "
              f"{acc:>9.1%}")
    print(f"{'sklearn (lbfgs)':<22} {f_sk:>22.10f} {0.0:>9.1e} {sk.n_iter_[0]:>6} {t_sk:>7.2f}s "
          f"{sk.score(Xte, yte):>9.1%}")
    f_cross = C * obj.value_and_grad(theta_sk, *args_fit)[0]  # sklearn's minimum, scored by ours
    print(f"\nsklearn's minimum scored by our objective: rel difference "
          f"{abs(f_cross - f_sk) / abs(f_sk):.1e}; L-BFGS reaches sklearn's objective: "
          f"|rel gap| = {abs(gaps['lbfgs']):.1e} (<= 1e-7)")
    print("Times: the fit alone (the solver loop compiled beforehand, Numba caches it); "
          "scikit-learn's fit on one thread, input checks included.")
    print(f"Adam on mini-batches of 64, {epochs} epochs at a constant lr 0.03, ends "
          f"{gaps['adam (batches of 64)']:.1e} above the minimum (relative): the mini-batch "
          f"noise keeps it from settling.")
    if abs(f_cross - f_sk) > 1e-10 * abs(f_sk):
        raise SystemExit("our objective and scikit-learn's disagree at the same weights")
    if abs(gaps["lbfgs"]) > 1e-7:
        raise SystemExit(f"L-BFGS missed sklearn's objective: rel gap {gaps['lbfgs']:.1e}")
    if not 0 <= gaps["adam (batches of 64)"] < 0.1:
        raise SystemExit("Adam did not get near the minimum")

    if not args.no_plot:
        plot(results, f_sk / C, args.outdir)


def plot(results, f_star, outdir):
    plt = pyplot()
    if plt is None:
        return
    os.makedirs(outdir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, r in results.items():
        gap = np.maximum(np.asarray(r.history["fun"]) - f_star, 1e-16)
        unit = "epoch" if r.history_unit == "epoch" else "iteration"
        ax.loglog(np.arange(1, len(gap) + 1), gap, label=f"{name} (per {unit})")
    ax.set(xlabel="iteration or epoch + 1", ylabel="f - f(sklearn)",
           title="softmax regression on digits: optimality gap")
    ax.legend()
    save_figure(plt, fig, outdir, "softmax_digits.png")


if __name__ == "__main__":
    main()
