"""The learning-rate lesson: too small is slow, too large diverges, and schedules.

Part 1, gradient descent on f(x, y) = (x - 3)^2 + 10 (y + 1)^2. Its Hessian is diag(2, 20), so
along the steep direction each step multiplies the error by (1 - 20 lr): GD is stable only
for lr < 2/L = 0.1 (L = largest Hessian eigenvalue), and the best fixed step is 2/(mu + L).

Part 2, learning-rate schedules (step decay, cosine, warm-up + cosine, warm restarts) for
mini-batch SGD on a least-squares problem: with a constant rate the noise of the mini-batch
gradients keeps the iterate bouncing at a "noise floor"; decaying the rate removes it.

Run:  python examples/learning_rate.py [--outdir DIR] [--no-plot]
"""
import os

import numpy as np
import sympy as sp

import codegen
import derive
import solvers
from solvers import schedules
from _script import example_parser, pyplot, save_figure


def part1():
    x, y = sp.symbols("x y")
    f = (x - 3) ** 2 + 10 * (y + 1) ** 2
    H = derive.hessian(f, [x, y])
    eig = sorted(float(e) for e in H.eigenvals())
    mu, L = eig[0], eig[-1]
    print("Part 1: f(x, y) =", f)
    print(f"  Hessian = {H.tolist()}: eigenvalues mu = {mu:g}, L = {L:g}")
    print(f"  stable for lr < 2/L = {2 / L:g}; best fixed step 2/(mu + L) = {2 / (mu + L):.4f}\n")
    obj = codegen.compile(f, [x, y])
    x0 = np.zeros(2)
    runs = [("too small", 1e-3), ("1/L", 1 / L), ("best 2/(mu+L)", 2 / (mu + L)),
            ("too large", 0.11)]
    out = {}
    print(f"  {'':>13} {'lr':>6} {'iters':>6} {'f(x)':>10}  solver's message")
    for name, lr in runs:
        r = solvers.minimize(obj, x0, method="gd", options={"lr": lr, "maxiter": 500},
                             history=True)
        out[name] = (lr, r)
        print(f"  {name:>13} {lr:6.4f} {r.nit:>6} {r.fun:>10.3g}  {r.status.name}: {r.message}")
    small, best, large = out["too small"][1], out["best 2/(mu+L)"][1], out["too large"][1]
    rate = (L - mu) / (L + mu)
    print(f"\n  theory: with the best step the error shrinks by (L-mu)/(L+mu) = {rate:.3f} per step, "
          f"f by {rate ** 2:.3f};")
    hist = best.history["fun"]
    print(f"  measured f_k+1/f_k over the last steps: {hist[-1] / hist[-2]:.3f}")
    print(f"  at lr = 0.11 the steep direction's error is multiplied by |1 - 20*0.11| = 1.2 each step: "
          f"after {large.nit} steps f = {large.fun:.3g} and the solver stops with {large.status.name}.")
    assert small.status == solvers.Status.MAX_ITERATIONS and best.success
    assert large.status == solvers.Status.DIVERGED and not large.success
    assert abs(hist[-1] / hist[-2] - rate ** 2) < 1e-6
    return out


def part2():
    rng = np.random.default_rng(0)
    N, d = 1000, 5
    X = rng.normal(size=(N, d))
    w_true = rng.normal(size=d)
    Y = X @ w_true + 1.0 + 0.5 * rng.normal(size=N)

    w = sp.symbols(f"w0:{d}")
    b = sp.Symbol("b")
    xs = sp.symbols(f"x0:{d}")
    yi = sp.Symbol("y")
    per_row = (sum(wi * xi for wi, xi in zip(w, xs)) + b - yi) ** 2 / 2
    obj = codegen.compile(per_row, list(w) + [b], data=[xs, yi], reduce="mean", order=1)

    A = np.hstack([X, np.ones((N, 1))])
    best = obj.value(np.linalg.lstsq(A, Y, rcond=None)[0], X, Y)  # the exact minimum, an oracle

    batch, epochs, lr = 10, 20, 0.1
    steps = epochs * (N // batch)
    scheds = {
        "constant": None,
        "step decay": schedules.StepDecay(step_size=steps // 4, gamma=0.3),
        "cosine": schedules.Cosine(T=steps),
        "warm-up + cosine": schedules.WarmupCosine(warmup=steps // 20, T=steps),
        "warm restarts": schedules.CosineWarmRestarts(T0=steps / 7, T_mult=2.0)  # 1 + 2 + 4 = 7 periods,
    }
    print(f"\nPart 2: mini-batch SGD (batch {batch}, {epochs} epochs = {steps} steps, lr = {lr}) on "
          f"least squares, N = {N}, {d + 1} weights")
    print(f"  exact minimum of the mean loss (lstsq): {best:.6f}")
    print(f"  {'schedule':>17} {'final loss':>11} {'excess over min':>16}")
    excess = {}
    for name, s in scheds.items():
        r = solvers.minimize(obj, np.zeros(d + 1), method="gd", args=(X, Y), history=True,
                             options={"lr": lr, "schedule": s, "batch_size": batch,
                                      "epochs": epochs, "seed": 0, "gtol": 0.0})
        excess[name] = r.fun - best
        print(f"  {name:>17} {r.fun:>11.6f} {excess[name]:>16.2e}")
    print("  the constant rate stalls at the noise floor (its excess is ~ lr * gradient noise);")
    print("  every decaying schedule ends with a small rate and gets much closer to the minimum;")
    print("  warm restarts raise the rate again at each restart (to escape poor basins in deep")
    print("  learning) and end each period, here the third and last, with a small rate.")
    assert all(excess[n] < excess["constant"] / 5 for n in scheds if n != "constant")
    return scheds, steps, lr


def plot(out, scheds, steps, lr, outdir):
    plt = pyplot()
    if plt is None:
        return
    os.makedirs(outdir, exist_ok=True)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, (rate, r) in out.items():
        ax.semilogy(np.maximum(r.history["fun"], 1e-30), label=f"{name} (lr = {rate:.3g})")
    ax.set(xlabel="iteration", ylabel="f(x_k)", ylim=(1e-16, 1e8),
           title="gradient descent: too small, right, too large")
    ax.legend(fontsize=8)
    k = np.arange(steps)
    for name, s in scheds.items():
        s = s or schedules.Constant()
        bx.plot(k, [s(int(i), lr) for i in k], label=name)
    bx.set(xlabel="step", ylabel="learning rate", title="schedules")
    bx.legend(fontsize=8)
    save_figure(plt, fig, outdir, "learning_rate.png")


def main(argv=None):
    ap = example_parser(__doc__)
    args = ap.parse_args(argv)
    out = part1()
    scheds, steps, lr = part2()
    if not args.no_plot:
        plot(out, scheds, steps, lr, args.outdir)


if __name__ == "__main__":
    main()
