"""Constrained optimisation with Lagrange multipliers and the KKT conditions, via ``derive.kkt``.

Convention (Nocedal & Wright): minimise f(x) s.t. g(x) = 0 and h(x) <= 0, with the Lagrangian
L = f + lam g + mu h. At a solution: grad L = 0 (stationarity), g = 0 and h <= 0 (primal
feasibility), mu >= 0 (dual feasibility), mu h = 0 (complementary slackness: an inactive
constraint has mu = 0).

1. the closest point of a line to the origin (an equality; lam is a sensitivity);
2. a box-constrained problem with one active and three inactive bounds;
3. L2 regularisation as a constraint: min loss(w) s.t. ||w||^2 <= t has the same solution as
   the penalised min loss(w) + mu ||w||^2, with mu the KKT multiplier (the penalty weight).

Run:  python examples/lagrange.py [--outdir DIR] [--no-plot]
"""

import numpy as np
import sympy as sp

import codegen
import derive
import solvers
from _script import contour_figure, example_parser, save_figure


def closest_point():
    x, y, c = sp.symbols("x y c")
    print("1. Closest point of the line x + 2y = c to the origin: min x^2 + y^2 s.t. x + 2y - c = 0")
    s = derive.kkt(x ** 2 + y ** 2, [x, y], eq=[x + 2 * y - c])
    print("  " + str(s).replace("\n", "\n  "))
    (p,) = s.solve()
    lam = p.lam[s.lagrangian.lam[0]]
    print(f"  solution: x = {p.x[x]}, y = {p.x[y]}, lambda = {lam}, f* = {p.value}")
    print(f"  at c = 5: the point (1, 2), distance sqrt(f*) = {sp.sqrt(p.value.subs(c, 5))} "
          f"= |c| / ||(1, 2)||")
    dfdc = sp.diff(p.value, c)
    print(f"  sensitivity: d f*/dc = {dfdc} = -lambda: the multiplier prices the constraint "
          f"(moving the line by dc changes the optimum by -lambda dc)\n")
    assert sp.simplify(dfdc + lam) == 0 and p.x[x].subs(c, 5) == 1 and p.x[y].subs(c, 5) == 2


def box():
    x, y = sp.symbols("x y")
    f = (x - 2) ** 2 + (y - sp.Rational(1, 2)) ** 2
    ineq = [-x, x - 1, -y, y - 1]  # 0 <= x <= 1, 0 <= y <= 1
    print("2. A box: min (x - 2)^2 + (y - 1/2)^2 s.t. 0 <= x <= 1, 0 <= y <= 1")
    s = derive.kkt(f, [x, y], ineq=ineq)
    pts = s.solve()
    print(f"  {len(pts)} KKT point (all 2^4 = 16 active sets were tried; f is convex, so it is "
          f"the minimum):")
    (p,) = pts
    print(f"  x = {p.x[x]}, y = {p.x[y]}, f = {p.value}")
    for h, m in zip(ineq, s.lagrangian.mu):
        state = "active  " if h.subs(p.x) == 0 else "inactive"
        print(f"    {str(h) + ' <= 0':<12} {state} mu = {p.mu[m]}")
    print("  the unconstrained minimum (2, 1/2) lies right of the box: the bound x <= 1 is active "
          "and its mu = 2 = -df/dx at (1, 1/2), the force pushing x out of the box; the other bounds "
          "do not touch the solution, so their mu = 0 (complementary slackness).\n")
    assert (p.x[x], p.x[y]) == (1, sp.Rational(1, 2)) and p.active == (1,)
    assert [p.mu[m] for m in s.lagrangian.mu] == [0, 2, 0, 0]


def ridge():
    w1, w2, mu = sp.symbols("w1 w2 mu")
    A = np.array([[1.0, 1.0], [1.0, -1.0], [2.0, 1.0]])
    b = np.array([4.0, 0.0, 2.0])
    loss = sum((int(ai[0]) * w1 + int(ai[1]) * w2 - int(bi)) ** 2 for ai, bi in zip(A, b))
    w_ols = np.linalg.lstsq(A, b, rcond=None)[0]
    print("3. L2 regularisation as a constraint: min loss(w) s.t. ||w||^2 <= t, with")
    print(f"   loss(w) = {sp.expand(loss)}  (least squares on 3 data points)")
    print(f"   unconstrained minimum w_ols = {w_ols.round(4).tolist()}, ||w_ols||^2 = "
          f"{w_ols @ w_ols:.4f}")
    # the penalised problem, compiled once with the penalty weight as a parameter
    pen = codegen.compile(loss + mu * (w1 ** 2 + w2 ** 2), [w1, w2], params=[mu])
    print(f"   {'t':>5} {'w (KKT)':>24} {'mu (KKT)':>10} {'w (penalised, Newton)':>24} "
          f"{'|diff|':>8}")
    path = []
    for t in [1, 3]:  # one active budget, one inactive (each numerical KKT solve takes seconds)
        s = derive.kkt(loss, [w1, w2], ineq=[w1 ** 2 + w2 ** 2 - t])
        # a quartic in mu: sympy.solve gets 1 s, then derive falls back to Newton (exact=False)
        (p,) = [q for q in s.solve(symbolic_timeout=1.0, timeout=120) if q.conditions == ()]
        w_kkt = np.array([float(p.x[w1]), float(p.x[w2])])
        m = float(p.mu[s.lagrangian.mu[0]])
        r = solvers.minimize(pen, np.zeros(2), method="newton", args=np.array([m]))
        diff = np.max(np.abs(r.x - w_kkt))
        path.append((float(t), w_kkt, m))
        w_txt = f"({w_kkt[0]:.4f}, {w_kkt[1]:.4f})"
        r_txt = f"({r.x[0]:.4f}, {r.x[1]:.4f})"
        how = "exact" if p.exact else "numerical"
        print(f"   {str(t):>5} {w_txt:>24} {m:>10.4f} {r_txt:>24} {diff:>8.1e}  KKT point {how}")
        assert diff < 1e-8 and r.success
    print("   each constrained solution is the penalised solution with penalty weight mu = the "
          "multiplier;\n   a tighter budget t needs a larger mu, and once t >= ||w_ols||^2 the "
          "constraint is inactive (mu = 0, w = w_ols).")
    print("   (the active case is a quartic in mu: SymPy's closed form would be unreadable, so "
          "derive.kkt\n   solves that active set numerically and says so with exact=False)")
    assert path[-1][2] == 0.0 and path[0][2] > 0.0
    # the other way round: sweep the penalty weight (cheap: one compiled Newton solve each);
    # the budget each penalty implies is t = ||w(mu)||^2, and it shrinks as mu grows
    sweep = []
    for m in np.geomspace(1e-2, 1e2, 25):
        r = solvers.minimize(pen, np.zeros(2), method="newton", args=np.array([m]))
        sweep.append((float(r.x @ r.x), r.x, m))
    print(f"   sweeping the penalty instead: mu = {sweep[0][2]:g} -> t = {sweep[0][0]:.4f}, "
          f"mu = {sweep[12][2]:g} -> t = {sweep[12][0]:.4f}, mu = {sweep[-1][2]:g} -> "
          f"t = {sweep[-1][0]:.2e}\n")
    ts = [p[0] for p in sweep]
    assert all(a > b_ for a, b_ in zip(ts, ts[1:]))
    return loss, (w1, w2), path, sweep, w_ols


def plot(loss, ws, path, sweep, w_ols, outdir):
    figure = contour_figure(loss, ws, (-2.2, 2.5), (-2.2, 2.2), 20, outdir, (11, 4.8))
    if figure is None:
        return
    plt, fig, ax, bx = figure
    th = np.linspace(0, 2 * np.pi, 200)
    for t, w, m in path:
        ax.plot(np.sqrt(t) * np.cos(th), np.sqrt(t) * np.sin(th), "0.6", lw=0.8)
        ax.plot(*w, "o", label=f"t = {t:g}: mu = {m:.2f}")
    ws_ = np.array([p[1] for p in sweep])
    ax.plot(ws_[:, 0], ws_[:, 1], "k.-", lw=0.8, ms=3, label="penalised solutions, mu 0.01..100")
    ax.plot(*w_ols, "k*", ms=12, label="w_ols")
    ax.set(aspect="equal", xlabel="w1", ylabel="w2", title="min loss s.t. ||w||^2 <= t")
    ax.legend(fontsize=7, loc="lower left")
    bx.semilogy([p[0] for p in sweep], [p[2] for p in sweep], "k.-", lw=0.8,
                label="penalised: t = ||w(mu)||^2")
    bx.semilogy([p[0] for p in path[:-1]], [p[2] for p in path[:-1]], "o", ms=8,
                label="constrained: mu from KKT")
    bx.legend(fontsize=8)
    bx.set(xlabel="budget t", ylabel="multiplier mu = penalty weight",
           title="the same path, two parametrisations")
    save_figure(plt, fig, outdir, "lagrange.png")


def main(argv=None):
    ap = example_parser(__doc__)
    args = ap.parse_args(argv)
    closest_point()
    box()
    loss, ws, path, sweep, w_ols = ridge()
    if not args.no_plot:
        plot(loss, ws, path, sweep, w_ols, args.outdir)


if __name__ == "__main__":
    main()
