"""A 64-32-10 tanh network on scikit-learn's digits, with matrices, checked against MLPClassifier.

The network of scikit-learn's MLPClassifier(hidden_layer_sizes=(32,), activation="tanh"):
a tanh hidden layer and a softmax output, trained on the mean cross-entropy plus
alpha / (2 N) times the squared weights (not the biases). Written for one row with SymPy
MatrixSymbols of symbolic sizes (d inputs, H hidden units, K classes), biases included:

    h = tanh(W1 x + b1),   z = W2 h + b2,   loss(x, t) = log sum_k exp(z_k) - t . z

and compiled once for every size (reduce="mean", the penalty alpha / (2 N) ||W1||^2 +
||W2||^2 added once). Trained with L-BFGS (full batch) and with Adam on mini-batches of 64;
the loss is checked against MLPClassifier's own loss at the same weights (its predict_proba,
log-loss and alpha term) and the gradient against a NumPy batched backprop.

Run:  python examples/mlp_digits.py [--outdir DIR] [--no-plot] [--quick]
"""
import os
import time

import numpy as np
import sympy as sp

import codegen
from _script import example_parser, pyplot, save_figure
from softmax_digits import digits_split, one_hot, timed_fit

HIDDEN = 32
ALPHA = 1e-4  # MLPClassifier's default L2 strength


def mlp_model():
    """(per-row loss, wrt, params, data, penalty) for the d-H-K tanh network.

    x = [W1 (H x d), b1 (H), W2 (K x H), b2 (K)], each flattened row-major; params
    [lam] with lam = alpha / N (the mean over the rows comes from reduce="mean").
    """
    d, H, K = sp.symbols("d H K", integer=True, positive=True)
    W1, b1 = sp.MatrixSymbol("W1", H, d), sp.MatrixSymbol("b1", H, 1)
    W2, b2 = sp.MatrixSymbol("W2", K, H), sp.MatrixSymbol("b2", K, 1)
    x, t = sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("t", K, 1)
    lam = sp.Symbol("lam")
    i, j, k = sp.symbols("i j k", integer=True)
    a = W1 * x + b1

    def z(k):  # the output layer's k-th entry, W2 tanh(W1 x + b1) + b2
        return sp.Sum(W2[k, j] * sp.tanh(a[j, 0]), (j, 0, H - 1)) + b2[k, 0]

    f = sp.log(sp.Sum(sp.exp(z(k)), (k, 0, K - 1))) - sp.Sum(t[k, 0] * z(k), (k, 0, K - 1))
    penalty = lam / 2 * (sp.Sum(sp.Sum(W1[j, i] ** 2, (i, 0, d - 1)), (j, 0, H - 1))
                         + sp.Sum(sp.Sum(W2[k, j] ** 2, (j, 0, H - 1)), (k, 0, K - 1)))
    return f, [W1, b1, W2, b2], [lam], [x, t], penalty


def unpack(theta, d, H, K):
    """(W1, b1, W2, b2) views of theta in the model's layout."""
    sizes = [H * d, H, K * H, K]
    W1, b1, W2, b2 = np.split(theta, np.cumsum(sizes)[:-1])
    return W1.reshape(H, d), b1, W2.reshape(K, H), b2


def mlp_numpy(theta, X, T, lam, H=HIDDEN):
    """(value, gradient) of the same objective by batched backprop in NumPy (the oracle)."""
    N, d = X.shape
    K = T.shape[1]
    W1, b1, W2, b2 = unpack(theta, d, H, K)
    Hd = np.tanh(X @ W1.T + b1)
    Z = Hd @ W2.T + b2
    m = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - m)
    S = E.sum(axis=1, keepdims=True)
    value = np.mean(m[:, 0] + np.log(S[:, 0]) - np.sum(T * Z, axis=1))
    value += lam / 2 * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dZ = (E / S - T) / N
    dA = (dZ @ W2) * (1.0 - Hd * Hd)
    return value, np.concatenate([(dA.T @ X + lam * W1).ravel(), dA.sum(axis=0),
                                  (dZ.T @ Hd + lam * W2).ravel(), dZ.sum(axis=0)])


def mlp_classifier(theta, X, y, H=HIDDEN, alpha=ALPHA):
    """An MLPClassifier (tanh, H hidden units) holding theta's weights: coefs_ are W.T."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(H,), activation="tanh", alpha=alpha, max_iter=1,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)  # one step, only to give it its fitted shapes; the weights are ours
    W1, b1, W2, b2 = unpack(theta, X.shape[1], H, len(clf.classes_))
    clf.coefs_ = [W1.T.copy(), W2.T.copy()]
    clf.intercepts_ = [b1.copy(), b2.copy()]
    return clf


def sklearn_loss(clf, X, y):
    """MLPClassifier's training loss at its current weights, from its own predict_proba:
    mean log-loss + alpha / (2 N) * sum of squared weights (what its lbfgs solver minimises)."""
    from sklearn.metrics import log_loss

    P = clf.predict_proba(X)
    l2 = sum(np.sum(W * W) for W in clf.coefs_)
    return log_loss(y, P, labels=clf.classes_) + clf.alpha / (2 * len(X)) * l2


def init_weights(d, H, K, rng):
    """Glorot-uniform weights for tanh, as MLPClassifier draws them (biases too)."""
    parts = []
    for n_in, n_out in ((d, H), (H, K)):
        bound = np.sqrt(6.0 / (n_in + n_out))
        parts += [rng.uniform(-bound, bound, (n_out, n_in)).ravel(),
                  rng.uniform(-bound, bound, n_out)]
    W1, b1, W2, b2 = parts
    return np.concatenate([W1, b1, W2, b2])


def main(argv=None):
    ap = example_parser(__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (for the tests)")
    args = ap.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("this example needs scikit-learn for its data set and as the reference: "
                         "pip install scikit-learn")
    Xtr, Xte, ytr, yte = digits_split()
    K, (N, d), H = 10, Xtr.shape, HIDDEN
    Ttr = one_hot(ytr, K)
    n = H * d + H + K * H + K
    print(f"digits: N = {N} training rows, {len(yte)} test rows; network {d}-{H}-{K} (tanh, "
          f"softmax), {n} weights and biases; alpha = {ALPHA}")

    f, wrt, params, data, penalty = mlp_model()
    t = time.perf_counter()
    obj = codegen.compile(f, wrt, params=params, data=data, reduce="mean", penalty=penalty,
                          order=1)
    p = np.array([ALPHA / N])
    theta0 = init_weights(d, H, K, np.random.default_rng(0))
    v0, g0 = obj.value_and_grad(theta0, p, Xtr, Ttr)
    print(f"network compiled for symbolic d, H, K and called once (Numba included) in "
          f"{time.perf_counter() - t:.2f} s")

    v_np, g_np = mlp_numpy(theta0, Xtr, Ttr, ALPHA / N)
    err_v, err_g = abs(v0 - v_np) / abs(v_np), np.max(np.abs(g0 - g_np)) / np.max(np.abs(g_np))
    print(f"compiled vs NumPy batched backprop at the initial weights: value rel {err_v:.1e}, "
          f"gradient rel {err_g:.1e}\n")
    if not (err_v < 1e-12 and err_g < 1e-10):
        raise SystemExit("the compiled network disagrees with the NumPy backprop reference")

    iters, epochs = (150, 10) if args.quick else (1000, 60)
    runs = {"lbfgs": ("lbfgs", {"gtol": 1e-6, "maxiter": iters}),
            "adam (batches of 64)": ("adam", {"lr": 3e-3, "batch_size": 64, "epochs": epochs,
                                              "seed": 0})}
    results = {}
    print(f"{'solver':<22} {'our loss':>14} {'MLPClassifier loss':>19} {'rel diff':>9} "
          f"{'iters':>6} {'time':>7} {'test acc':>9}")
    for name, (method, opts) in runs.items():
        r, dt = timed_fit(obj, theta0, method, (p, Xtr, Ttr), opts)
        ours = obj.value_and_grad(r.x, p, Xtr, Ttr)[0]
        clf = mlp_classifier(r.x, Xtr, ytr)
        theirs = sklearn_loss(clf, Xtr, ytr)
        rel = abs(ours - theirs) / abs(theirs)
        acc = clf.score(Xte, yte)
        results[name] = (r, acc, rel)
        unit = "epochs" if r.history_unit == "epoch" else "iters"
        steps = epochs if unit == "epochs" else r.nit
        print(f"{name:<22} {ours:>14.10f} {theirs:>19.10f} {rel:>9.1e} {steps:>6} {dt:>6.2f}s "
              f"{acc:>9.1%}")
        if rel > 1e-10:
            raise SystemExit(f"{name}: our loss and MLPClassifier's disagree at the same weights")
    print("\nThe losses are MLPClassifier's own (predict_proba, log-loss, alpha term) at our "
          "weights. The loss is not convex: scores depend on the start and the method. Times: the "
          "fit alone (the solver loop compiled beforehand).")
    for name, (r, acc, _) in results.items():
        if not (acc > 0.9 and r.fun < v0):
            raise SystemExit(f"{name} did not learn: test accuracy {acc:.1%}")

    if not args.no_plot:
        plot(results, args.outdir)


def plot(results, outdir):
    plt = pyplot()
    if plt is None:
        return
    os.makedirs(outdir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, (r, acc, _) in results.items():
        unit = "epoch" if r.history_unit == "epoch" else "iteration"
        ax.semilogy(r.history["fun"], label=f"{name}: per {unit}, test {acc:.1%}")
    ax.set(xlabel="iteration or epoch", ylabel="mean cross-entropy + L2",
           title="64-32-10 tanh network on digits")
    ax.legend()
    save_figure(plt, fig, outdir, "mlp_digits.png")


if __name__ == "__main__":
    main()
