"""What the Hessian says about a landscape: critical points, saddles, conditioning, zig-zags.

1. Critical points (grad f = 0) classified by the Hessian's eigenvalues: all > 0 a minimum,
   all < 0 a maximum, mixed signs a saddle, a zero eigenvalue: the second-order test is silent.
2. The condition number kappa = lambda_max / lambda_min of the Hessian, and why gradient descent
   zig-zags: on f = (x^2 + kappa y^2)/2 with the best fixed step 2/(1 + kappa), every step
   multiplies f by exactly ((kappa - 1)/(kappa + 1))^2, so the iterations needed grow like kappa.
   Newton's method rescales by the inverse Hessian and needs one step whatever kappa is.

Run:  python examples/hessian_landscape.py [--outdir DIR] [--no-plot]
"""
import math
import os

import numpy as np
import sympy as sp

import codegen
import derive
import solvers
from _script import example_parser, pyplot, save_figure

EPS = 1e-8  # "converged": f reduced by this factor


def critical():
    x, y = sp.symbols("x y")
    cases = [
        ("double well", x ** 4 - 2 * x ** 2 + y ** 2),
        ("cubic", x ** 3 - 3 * x + y ** 2),
        ("monkey saddle", x ** 3 - 3 * x * y ** 2),
    ]
    print("1. Critical points and the Hessian's eigenvalues")
    kinds = {}
    for name, f in cases:
        pts = derive.critical_points(f, [x, y])
        print(f"  {name}: f = {f}   (convex: {derive.is_convex(f, [x, y])})")
        for p in sorted(pts, key=lambda p: [float(v) for v in p.point.values()]):
            print(f"    at {tuple(p.point.values())}: {p.kind:<10} eigenvalues "
                  f"{[str(e) for e in p.eigenvalues]}, f = {p.value}")
        kinds[name] = sorted(p.kind for p in pts)
    print("  the double well has two minima and a saddle between them: gradient descent started "
          "on the y-axis (x = 0) slides into the saddle; any perturbation in x rolls off it.")
    print("  the monkey saddle's Hessian is zero at the origin: 'degenerate' means the second-order "
          "test cannot tell; (here it is neither minimum nor maximum: f = x^3 along y = 0).\n")
    assert kinds["double well"] == ["minimum", "minimum", "saddle"]
    assert kinds["cubic"] == ["minimum", "saddle"]
    assert kinds["monkey saddle"] == ["degenerate"]


def conditioning():
    x, y, kappa = sp.symbols("x y kappa")
    f = (x ** 2 + kappa * y ** 2) / 2
    print("2. Conditioning: f = (x^2 + kappa y^2)/2, gradient descent with the best fixed step "
          "2/(1 + kappa), from (1, 1)")
    obj = codegen.compile(f, [x, y], params=[kappa])
    x0 = np.array([1.0, 1.0])
    rows, paths = [], {}
    print(f"  {'kappa':>6} {'cond(H)':>8} {'GD iterations':>14} {'theory':>7} {'rate/step':>10} "
          f"{'Newton':>7}")
    for k in [2, 10, 100, 1000]:
        cond = derive.condition_number(f.subs(kappa, k), [x, y], [1, 1])
        rate = ((k - 1) / (k + 1)) ** 2
        theory = math.ceil(math.log(EPS) / math.log(rate))
        path = [x0.copy()]
        cb = (lambda xk: path.append(xk)) if k == 10 else None  # record one path for the plot
        r = solvers.minimize(obj, x0, method="gd", args=np.array([float(k)]), history=True,
                             callback=cb,
                             options={"lr": 2 / (1 + k), "maxiter": 20000, "gtol": 0.0,
                                      "ftol": 0.0})
        hist = r.history["fun"]
        n_it = int(np.argmax(hist <= EPS * hist[0]))
        measured = hist[n_it] / hist[n_it - 1]
        nt = solvers.minimize(obj, x0, method="newton", args=np.array([float(k)]))
        rows.append((k, n_it, theory))
        if cb:
            paths[k] = np.array(path[:n_it + 1])
        print(f"  {k:>6} {str(cond):>8} {n_it:>14} {theory:>7} {measured:>10.4f} {nt.nit:>7}")
        assert n_it == theory and abs(measured - rate) < 1e-9 and nt.nit <= 1
    print(f"  GD iterations to reduce f by {EPS:g}: exactly log(eps)/log(((k-1)/(k+1))^2) ~ "
          "(kappa/4) log(1/eps): ten times worse conditioning, ten times more steps.")
    print("  Newton solves H p = -g: on a quadratic it lands on the minimum in one step.\n")
    z = paths[10][:6, 1]
    print(f"  why it zig-zags (kappa = 10): y along the path = {np.round(z, 4).tolist()} ...")
    print("  a step long enough to make progress along the flat x-direction overshoots the steep "
          "y-direction: y flips sign every step. The best fixed step balances the two, both errors "
          "shrink by (kappa-1)/(kappa+1) per step, which is close to 1 when kappa is large.")
    assert all(np.sign(z[1:]) != np.sign(z[:-1]))
    return f, (x, y, kappa), rows, paths


def plot(f, syms, rows, paths, outdir):
    plt = pyplot()
    if plt is None:
        return
    os.makedirs(outdir, exist_ok=True)
    x, y, kappa = syms
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
    fn = sp.lambdify((x, y), f.subs(kappa, 10), "numpy")
    gx, gy = np.meshgrid(np.linspace(-1.2, 1.2, 300), np.linspace(-1.2, 1.2, 300))
    ax.contour(gx, gy, fn(gx, gy), levels=np.geomspace(1e-3, 6, 14), cmap="viridis", linewidths=0.7)
    p = paths[10]
    ax.plot(p[:, 0], p[:, 1], "o-", color="C3", ms=3, lw=1, label="gradient descent")
    ax.plot([1, 0], [1, 0], "s--", color="C0", label="Newton (one step)")
    ax.set(aspect="equal", xlabel="x", ylabel="y", title="kappa = 10: GD zig-zags, Newton does not")
    ax.legend(fontsize=8)
    ks = np.array([r[0] for r in rows], dtype=float)
    bx.loglog(ks, [r[1] for r in rows], "o", ms=8, label="measured")
    kk = np.geomspace(2, 1000, 100)
    bx.loglog(kk, np.log(EPS) / np.log(((kk - 1) / (kk + 1)) ** 2), "-",
              label="theory log(eps) / log(((k-1)/(k+1))^2)")
    bx.set(xlabel="condition number kappa", ylabel=f"GD iterations to f/f0 < {EPS:g}",
           title="iterations grow linearly with kappa")
    bx.legend(fontsize=8)
    save_figure(plt, fig, outdir, "hessian_landscape.png")


def main(argv=None):
    ap = example_parser(__doc__)
    args = ap.parse_args(argv)
    critical()
    f, syms, rows, paths = conditioning()
    if not args.no_plot:
        plot(f, syms, rows, paths, args.outdir)


if __name__ == "__main__":
    main()
