"""Taylor models of increasing order, and Newton's step as the minimiser of the quadratic one.

Part 1: f(x, y) = exp(x) cos(y) about a = (0, 0). The order-k Taylor polynomial T_k matches
f's derivatives up to order k, so along a line a + t d its error is O(t^(k+1)): halving t
divides the error by about 2^(k+1). We measure that ratio.

Part 2: Newton's method replaces f by its quadratic model
m(a + p) = f(a) + g.p + p'Hp/2 (``derive.quadratic_model``) and steps to the model's minimiser
p = -H^(-1) g. We compute that step exactly with SymPy and check it against the first step of
the compiled Newton solver on Rosenbrock's function, then watch the error square each step
(quadratic convergence).

Run:  python examples/taylor_newton.py [--outdir DIR] [--no-plot]
"""
import os

import numpy as np
import sympy as sp

import codegen
import derive
import solvers
from _script import example_parser, pyplot, save_figure


def part1():
    x, y, t = sp.symbols("x y t")
    f = sp.exp(x) * sp.cos(y)
    d = (1, sp.Rational(1, 2))  # direction of the line a + t d (d = (1, 1) would hide T_2's term)
    print("Part 1: f(x, y) =", f, "about a = (0, 0)")
    models = {}
    for k in range(5):
        models[k] = derive.taylor(f, [x, y], [0, 0], order=k)
        print(f"  T_{k} = {models[k]}")
    line = {x: d[0] * t, y: d[1] * t}
    f_line = sp.lambdify(t, f.subs(line), "numpy")
    ts = [0.4, 0.2, 0.1, 0.05]
    print(f"\n  error |f - T_k| at a + t d, d = (1, 1/2), and the ratio when t is halved "
          f"(theory 2^(k+1)):")
    print("  " + f"{'k':>2} " + "".join(f"{'t=' + str(tv):>11}" for tv in ts) + f"{'ratio':>9}{'2^(k+1)':>9}")
    curves = {}
    for k, T in models.items():
        T_line = sp.lambdify(t, T.subs(line), "numpy")
        errs = [abs(f_line(tv) - T_line(tv)) for tv in ts]
        ratio = errs[-2] / errs[-1]
        curves[k] = T_line
        print("  " + f"{k:>2} " + "".join(f"{e:>11.2e}" for e in errs) + f"{ratio:>9.2f}{2 ** (k + 1):>9}")
        assert abs(ratio / 2 ** (k + 1) - 1) < 0.15, (k, ratio)
    print("  each extra order buys one more power of t: close to a, high order is very accurate;")
    print("  far from a (large t) the model can be worse than a lower-order one.\n")
    return f_line, curves


def part2():
    x, y = sp.symbols("x y")
    f = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
    a = [sp.Rational(-6, 5), 1]
    q = derive.quadratic_model(f, [x, y], a)
    print("Part 2: Newton's step on Rosenbrock from a = (-1.2, 1)")
    print("  " + str(q).replace("\n", "\n  "))
    p = q.newton_step()
    xm = q.minimizer()
    grad_m = derive.gradient(q.expr, [x, y]).subs({x: xm[0], y: xm[1]})
    print(f"  Newton step p = -H^-1 g = {list(p)} = {[f'{float(v):.6f}' for v in p]}")
    print(f"  the model's gradient at a + p is {list(grad_m)}: a + p is its stationary point, and "
          f"its minimiser because H is positive definite (eigenvalues "
          f"{[f'{float(e):.1f}' for e in q.hessian.eigenvals()]})")
    assert all(v == 0 for v in grad_m)

    obj = codegen.compile(f, [x, y])
    a_np = np.array([float(v) for v in a])
    r1 = solvers.minimize(obj, a_np, method="newton", maxiter=1)
    x_sym = np.array([float(v) for v in xm])
    diff = np.max(np.abs(r1.x - x_sym))
    print(f"  the compiled solver's first iterate: {r1.x.round(6).tolist()}; "
          f"|difference from a + p| = {diff:.1e}")
    print("  (its line search tried the full step first and accepted it: f fell from "
          f"{float(q.value):.3f} to {r1.fun:.3f}; the model predicted "
          f"{float(q.expr.subs({x: xm[0], y: xm[1]})):.3f})")
    assert diff < 1e-12

    path = [a_np.copy()]
    r = solvers.minimize(obj, a_np, method="newton", callback=lambda xk: path.append(xk))
    errs = [np.linalg.norm(p_ - 1.0) for p_ in path]
    print(f"\n  all iterations to (1, 1): {r.nit} ({r.status.name}); the error of the last ones:")
    for k in range(len(errs) - 5, len(errs)):
        print(f"    iteration {k:>2}: |x - x*| = {errs[k]:.2e}")
    print("  near the minimum the error is roughly squared each step (digits double): quadratic "
          "convergence: the quadratic model's error is O(|p|^3), so its minimiser is that close.")
    assert r.success and errs[-1] < 1e-6
    return errs


def plot(f_line, curves, errs, outdir):
    plt = pyplot()
    if plt is None:
        return
    os.makedirs(outdir, exist_ok=True)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    t = np.linspace(-3, 3, 300)
    ax.plot(t, f_line(t), "k", lw=2.5, label="f along a + t d")
    for k, T in curves.items():
        ax.plot(t, np.broadcast_to(T(t), t.shape), label=f"T_{k}")
    ax.set(xlabel="t", ylim=(-3, 12), title="Taylor models of exp(x) cos(y) about (0, 0)")
    ax.legend(fontsize=8)
    bx.semilogy(np.maximum(errs, 1e-17), "o-")
    bx.set(xlabel="Newton iteration", ylabel="|x_k - x*|", title="Newton on Rosenbrock")
    save_figure(plt, fig, outdir, "taylor_newton.png")


def main(argv=None):
    ap = example_parser(__doc__)
    args = ap.parse_args(argv)
    f_line, curves = part1()
    errs = part2()
    if not args.no_plot:
        plot(f_line, curves, errs, args.outdir)


if __name__ == "__main__":
    main()
