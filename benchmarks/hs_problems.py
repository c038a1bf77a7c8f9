"""Hock-Schittkowski test problems (constrained, at most 10 variables) encoded in SymPy.

Shared by ``tests/solvers/test_hs*.py`` and ``benchmarks/bench_constrained.py``; SymPy only.
Each :class:`HSProblem` holds the objective ``f``, equality constraints ``eq`` (``c(x) = 0``),
inequality constraints ``ineq`` in derive.kkt's convention ``c(x) <= 0`` (Hock and Schittkowski
write ``g(x) >= 0``: every ``g`` is negated here), SciPy-style ``bounds`` (one ``(lo, hi)``
pair per variable, None for no bound; None when the problem has no bounds), the standard
starting point ``x0``, the published optimal value ``f_star`` and, where published, ``x_star``.

Source of every definition, starting point and optimum (unless a problem's comment says
otherwise): K. Schittkowski's Fortran collection PROB.f90 ("An updated set of 306 test problems
for nonlinear programming with validated optimal solutions", 2010; the problem numbers are
those of W. Hock, K. Schittkowski, Test Examples for Nonlinear Programming Codes, Lecture
Notes in Economics and Mathematical Systems 187, Springer 1981), as kept in the public
repository jacobwilliams/schittkowski-test-problems (src/PROB.f90). Where the 2010 set
rescales a function of the 1981 book (HS15, HS27 objectives, HS71 constraints), the 1981 form
is used, as in CUTEst, and said in the problem's comment.

>>> p = get("hs71")
>>> p.n, p.m_eq, p.m_ineq, p.x0.tolist(), round(p.f_star, 6)
(4, 1, 1, [1.0, 5.0, 5.0, 1.0], 17.014017)
>>> p.kind, len(PROBLEMS) >= 30
('mixed', True)
"""
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

__all__ = ["HSProblem", "PROBLEMS", "get"]


@dataclass(frozen=True)
class HSProblem:
    name: str
    wrt: tuple
    f: sp.Expr
    eq: tuple            # c(x) = 0
    ineq: tuple          # c(x) <= 0
    bounds: tuple        # ((lo, hi), ...) with None for no bound, or None: no bounds at all
    x0: np.ndarray
    f_star: float
    x_star: np.ndarray   # None where no minimiser is published
    note: str = ""       # where the definition departs from PROB.f90, or what is hard about it

    @property
    def n(self):
        return len(self.wrt)

    @property
    def m_eq(self):
        return len(self.eq)

    @property
    def m_ineq(self):
        return len(self.ineq)

    @property
    def kind(self):
        """'bounds' (bound constraints only), 'eq', 'ineq' or 'mixed' (both eq and ineq)."""
        if self.eq and self.ineq:
            return "mixed"
        return "eq" if self.eq else "ineq" if self.ineq else "bounds"

    @cached_property
    def lo_hi(self):
        """Bounds as two float arrays with -inf / +inf for no bound."""
        lo, hi = np.full(self.n, -np.inf), np.full(self.n, np.inf)
        for i, (a, b) in enumerate(self.bounds or ()):
            lo[i] = -np.inf if a is None else a
            hi[i] = np.inf if b is None else b
        return lo, hi

    @cached_property
    def numeric(self):
        """(f, eq, ineq) as NumPy functions of x (SymPy's lambdify: for checks, not speed)."""
        def vec(exprs):
            fn = sp.lambdify([self.wrt], list(exprs), "numpy")
            return lambda x: np.asarray(fn(np.asarray(x, float)), float).reshape(-1)
        return sp.lambdify([self.wrt], self.f, "numpy"), vec(self.eq), vec(self.ineq)

    def violation(self, x):
        """Largest violation of the equalities, inequalities and bounds at x (0 when feasible)."""
        x = np.asarray(x, float)
        _, ce, ci = self.numeric
        lo, hi = self.lo_hi
        parts = [np.abs(ce(x)), np.maximum(ci(x), 0.0), np.maximum(lo - x, 0.0),
                 np.maximum(x - hi, 0.0)]
        return float(max((p.max() for p in parts if p.size), default=0.0))

    def solved(self, f, x, rtol=1e-6, ftol=1e-6):
        """The benchmark's criterion: |f - f*| <= rtol max(1, |f*|) and violation <= ftol."""
        return bool(np.isfinite(f) and abs(f - self.f_star) <= rtol * max(1.0, abs(self.f_star))
                    and self.violation(x) <= ftol)


def _xs(n):
    return sp.symbols(f"x1:{n + 1}", real=True)


def _r(text):
    """An exact rational from decimal text (the published constants, without binary rounding)."""
    return sp.Rational(text)


_ROSEN = lambda x1, x2: 100 * (x2 - x1**2)**2 + (1 - x1)**2  # noqa: E731
PROBLEMS = []


def _add(num, xs, f, *, eq=(), ge=(), bounds=None, x0, f_star, x_star=None, note=""):
    """Register HS<num>; ``ge`` are the book's inequalities g(x) >= 0 (stored negated)."""
    p = HSProblem(f"hs{num}", tuple(xs), sp.sympify(f), tuple(sp.sympify(e) for e in eq),
                  tuple(-sp.sympify(g) for g in ge),
                  None if bounds is None else tuple(bounds), np.asarray(x0, float),
                  float(f_star), None if x_star is None else np.asarray(x_star, float), note)
    PROBLEMS.append(p)
    return p


def get(name):
    """The problem called ``name`` ("hs71"; "HS71" and "71" work too)."""
    key = str(name).lower()
    key = key if key.startswith("hs") else "hs" + key
    for p in PROBLEMS:
        if p.name == key:
            return p
    raise KeyError(f"no Hock-Schittkowski problem {name!r}; known: {[p.name for p in PROBLEMS]}")


# ---- bound constraints only ---------------------------------------------------------------
x1, x2 = _xs(2)
_add(1, (x1, x2), _ROSEN(x1, x2), bounds=[(None, None), (-1.5, None)], x0=[-2, 1],
     f_star=0, x_star=[1, 1])

_w1 = math.sqrt(598 / 1200)
_x2s = 2 * _w1 * math.cos(math.acos(2.5e-3 / _w1**3) / 3)
_add(2, (x1, x2), _ROSEN(x1, x2), bounds=[(None, None), (1.5, None)], x0=[-2, 1],
     f_star=100 * (1.5 - _x2s**2)**2 + (1 - _x2s)**2, x_star=[_x2s, 1.5],
     note="x0 violates x2 >= 1.5; from it SLSQP, trust-constr and IPOPT reach the local "
          "minimum f = 4.9412293 at (-1.2210, 1.5)")

_add(3, (x1, x2), x2 + _r("1e-5") * (x2 - x1)**2, bounds=[(None, None), (0, None)],
     x0=[10, 1], f_star=0, x_star=[0, 0])

_add(4, (x1, x2), (x1 + 1)**3 / 3 + x2, bounds=[(1, None), (0, None)], x0=[1.125, 0.125],
     f_star=sp.Rational(8, 3), x_star=[1, 0])

_add(5, (x1, x2), sp.sin(x1 + x2) + (x1 - x2)**2 - _r("1.5") * x1 + _r("2.5") * x2 + 1,
     bounds=[(-1.5, 4), (-3, 3)], x0=[0, 0], f_star=-math.sqrt(3) / 2 - math.pi / 3,
     x_star=[0.5 - math.pi / 3, -0.5 - math.pi / 3])

x1, x2, x3, x4 = _xs(4)
_add(38, (x1, x2, x3, x4),
     100 * (x2 - x1**2)**2 + (1 - x1)**2 + 90 * (x4 - x3**2)**2 + (1 - x3)**2
     + _r("10.1") * ((x2 - 1)**2 + (x4 - 1)**2) + _r("19.8") * (x2 - 1) * (x4 - 1),
     bounds=[(-10, 10)] * 4, x0=[-3, -1, -3, -1], f_star=0, x_star=[1, 1, 1, 1])

x1, x2, x3, x4, x5 = _xs5 = _xs(5)
_add(45, _xs5, 2 - x1 * x2 * x3 * x4 * x5 / 120, bounds=[(0, i) for i in range(1, 6)],
     x0=[2] * 5, f_star=1, x_star=[1, 2, 3, 4, 5], note="x0 violates x1 <= 1")

_x10 = _xs(10)
_add(110, _x10,
     sum(sp.log(v - 2)**2 + sp.log(10 - v)**2 for v in _x10) - sp.Mul(*_x10)**_r("0.2"),
     bounds=[(2.001, 9.999)] * 10, x0=[9] * 10, f_star=-45.7784697153,
     x_star=[9.35025654733] * 10)

# ---- equality constraints (some with bounds) ----------------------------------------------
x1, x2 = _xs(2)
_add(6, (x1, x2), (1 - x1)**2, eq=[10 * (x2 - x1**2)], x0=[-1.2, 1], f_star=0, x_star=[1, 1])

_add(7, (x1, x2), sp.log(1 + x1**2) - x2, eq=[(1 + x1**2)**2 + x2**2 - 4], x0=[2, 2],
     f_star=-math.sqrt(3), x_star=[0, math.sqrt(3)])

_a8 = math.sqrt((25 + math.sqrt(301)) / 2)
_add(8, (x1, x2), sp.Integer(-1), eq=[x1**2 + x2**2 - 25, x1 * x2 - 9], x0=[2, 1], f_star=-1,
     x_star=[_a8, 9 / _a8], note="constant objective: a feasibility problem")

_add(9, (x1, x2), sp.sin(sp.pi * x1 / 12) * sp.cos(sp.pi * x2 / 16), eq=[4 * x1 - 3 * x2],
     x0=[0, 0], f_star=-0.5, x_star=[-3, -4], note="minimisers (12k - 3, 16k - 4), k integer")

x1, x2, x3 = _xs(3)
_add(26, (x1, x2, x3), (x1 - x2)**2 + (x2 - x3)**4, eq=[x1 * (1 + x2**2) + x3**4 - 3],
     x0=[-2.6, 2, 2], f_star=0, x_star=[1, 1, 1])

_add(27, (x1, x2, x3), _r("0.01") * (x1 - 1)**2 + (x2 - x1**2)**2, eq=[x1 + x3**2 + 1],
     x0=[2, 2, 2], f_star=0.04, x_star=[-1, 1, 0],
     note="objective of the 1981 book (PROB.f90 multiplies it by 100: f* = 4)")

_add(28, (x1, x2, x3), (x1 + x2)**2 + (x2 + x3)**2, eq=[x1 + 2 * x2 + 3 * x3 - 1],
     x0=[-4, 1, 1], f_star=0, x_star=[0.5, -0.5, 0.5])

_add(60, (x1, x2, x3), (x1 - 1)**2 + (x1 - x2)**2 + (x2 - x3)**4,
     eq=[x1 * (1 + x2**2) + x3**4 - 4 - 3 * sp.sqrt(2)], bounds=[(-10, 10)] * 3, x0=[2, 2, 2],
     f_star=0.0325682002513, x_star=[1.10485902423, 1.19667419413, 1.53526225739])

_add(61, (x1, x2, x3), 4 * x1**2 + 2 * x2**2 + 2 * x3**2 - 33 * x1 + 16 * x2 - 24 * x3,
     eq=[3 * x1 - 2 * x2**2 - 7, 4 * x1 - x3**2 - 11], x0=[0, 0, 0], f_star=-143.646142201,
     x_star=[5.32677015744, -2.11899863998, 3.21046423906])

x1, x2, x3, x4 = _xs4 = _xs(4)
_add(39, _xs4, -x1, eq=[x2 - x1**3 - x3**2, x1**2 - x2 - x4**2], x0=[2] * 4, f_star=-1,
     x_star=[1, 1, 0, 0])

_add(40, _xs4, -x1 * x2 * x3 * x4, eq=[x1**3 + x2**2 - 1, x1**2 * x4 - x3, x4**2 - x2],
     x0=[0.8] * 4, f_star=-0.25,
     x_star=[2**(-1 / 3), 2**-0.5, 2**(-11 / 12), 2**-0.25])

_add(41, _xs4, 2 - x1 * x2 * x3, eq=[x1 + 2 * x2 + 2 * x3 - x4],
     bounds=[(0, 1), (0, 1), (0, 1), (0, 2)], x0=[1] * 4, f_star=sp.Rational(52, 27),
     x_star=[2 / 3, 1 / 3, 1 / 3, 2],
     note="x0 of PROB.f90 (the 1981 book starts at (2, 2, 2, 2), outside the bounds)")

_add(42, _xs4, (x1 - 1)**2 + (x2 - 2)**2 + (x3 - 3)**2 + (x4 - 4)**2,
     eq=[x1 - 2, x3**2 + x4**2 - 2], x0=[1] * 4, f_star=28 - 10 * math.sqrt(2),
     x_star=[2, 2, math.sqrt(0.72), math.sqrt(1.28)])

x1, x2, x3, x4, x5 = _xs5
_add(46, _xs5, (x1 - x2)**2 + (x3 - 1)**2 + (x4 - 1)**4 + (x5 - 1)**6,
     eq=[x1**2 * x4 + sp.sin(x4 - x5) - 1, x2 + x3**4 * x4**2 - 2],
     x0=[math.sqrt(2) / 2, 1.75, 0.5, 2, 2], f_star=0, x_star=[1] * 5)

_add(47, _xs5, (x1 - x2)**2 + (x2 - x3)**2 + (x3 - x4)**4 + (x4 - x5)**4,
     eq=[x1 + x2**2 + x3**3 - 3, x2 - x3**2 + x4 - 1, x1 * x5 - 1],
     x0=[2, math.sqrt(2), -1, 2 - math.sqrt(2), 0.5], f_star=0, x_star=[1] * 5)

_add(48, _xs5, (x1 - 1)**2 + (x2 - x3)**2 + (x4 - x5)**2,
     eq=[x1 + x2 + x3 + x4 + x5 - 5, x3 - 2 * (x4 + x5) + 3], x0=[3, 5, -3, 2, -2],
     f_star=0, x_star=[1] * 5)

_add(49, _xs5, (x1 - x2)**2 + (x3 - 1)**2 + (x4 - 1)**4 + (x5 - 1)**6,
     eq=[x1 + x2 + x3 + 4 * x4 - 7, x3 + 5 * x5 - 6], x0=[10, 7, 2, -3, 0.8], f_star=0,
     x_star=[1] * 5)

_add(50, _xs5, (x1 - x2)**2 + (x2 - x3)**2 + (x3 - x4)**4 + (x4 - x5)**4,
     eq=[x1 + 2 * x2 + 3 * x3 - 6, x2 + 2 * x3 + 3 * x4 - 6, x3 + 2 * x4 + 3 * x5 - 6],
     x0=[35, -31, 11, 5, -5], f_star=0, x_star=[1] * 5)

_add(51, _xs5, (x1 - x2)**2 + (x2 + x3 - 2)**2 + (x4 - 1)**2 + (x5 - 1)**2,
     eq=[x1 + 3 * x2 - 4, x3 + x4 - 2 * x5, x2 - x5], x0=[2.5, 0.5, 2, -1, 0.5], f_star=0,
     x_star=[1] * 5)

_add(52, _xs5, (4 * x1 - x2)**2 + (x2 + x3 - 2)**2 + (x4 - 1)**2 + (x5 - 1)**2,
     eq=[x1 + 3 * x2, x3 + x4 - 2 * x5, x2 - x5], x0=[2] * 5, f_star=sp.Rational(1859, 349),
     x_star=np.array([-33, 11, 180, -158, 11]) / 349)

_add(53, _xs5, (x1 - x2)**2 + (x2 + x3 - 2)**2 + (x4 - 1)**2 + (x5 - 1)**2,
     eq=[x1 + 3 * x2, x3 + x4 - 2 * x5, x2 - x5], bounds=[(-10, 10)] * 5, x0=[2] * 5,
     f_star=sp.Rational(176, 43), x_star=np.array([-33, 11, 27, -5, 11]) / 43)

_add(77, _xs5, (x1 - 1)**2 + (x1 - x2)**2 + (x3 - 1)**2 + (x4 - 1)**4 + (x5 - 1)**6,
     eq=[x1**2 * x4 + sp.sin(x4 - x5) - 2 * sp.sqrt(2), x2 + x3**4 * x4**2 - 8 - sp.sqrt(2)],
     x0=[2] * 5, f_star=0.241505128786,
     x_star=[1.16617219726, 1.18211138813, 1.38025704044, 1.50603627961, 0.610920257517])

_eq78 = [x1**2 + x2**2 + x3**2 + x4**2 + x5**2 - 10, x2 * x3 - 5 * x4 * x5, x1**3 + x2**3 + 1]
_add(78, _xs5, x1 * x2 * x3 * x4 * x5, eq=_eq78, x0=[-2, 1.5, 2, -1, -1],
     f_star=-2.91970040911,
     x_star=[-1.71714234230, 1.59570826805, 1.82724803488, -0.763642946600, -0.763643482853])

_add(79, _xs5, (x1 - 1)**2 + (x1 - x2)**2 + (x2 - x3)**2 + (x3 - x4)**4 + (x4 - x5)**4,
     eq=[x1 + x2**2 + x3**3 - 2 - 3 * sp.sqrt(2), x2 - x3**2 + x4 + 2 - 2 * sp.sqrt(2),
         x1 * x5 - 2],
     x0=[2] * 5, f_star=0.0787768208538,
     x_star=[1.19112745626, 1.36260316492, 1.47281793150, 1.63501661894, 1.67908143619])

_add(80, _xs5, sp.exp(x1 * x2 * x3 * x4 * x5), eq=_eq78,
     bounds=[(-2.3, 2.3)] * 2 + [(-3.2, 3.2)] * 3, x0=[-2, 2, 2, -1, -1],
     f_star=0.0539498477624,
     x_star=[-1.71714294417, 1.59570896503, 1.82724691654, -0.763641279311, -0.763645016315])

_x7 = x1, x2, x3, x4, x5, x6, x7 = _xs(7)
_s4 = math.asin(math.sqrt(1 / 4.2))
_add(56, _x7, -x1 * x2 * x3,
     eq=[x1 - _r("4.2") * sp.sin(x4)**2, x2 - _r("4.2") * sp.sin(x5)**2,
         x3 - _r("4.2") * sp.sin(x6)**2, x1 + 2 * x2 + 2 * x3 - _r("7.2") * sp.sin(x7)**2],
     x0=[1, 1, 1, _s4, _s4, _s4, math.asin(math.sqrt(5 / 7.2))], f_star=-3.456,
     x_star=[2.4, 1.2, 1.2, math.asin(math.sqrt(4 / 7)), math.asin(math.sqrt(2 / 7)),
             math.asin(math.sqrt(2 / 7)), math.pi / 2])

# ---- inequality constraints (some with equalities too: kind "mixed") -----------------------
x1, x2 = _xs(2)
_add(10, (x1, x2), x1 - x2, ge=[-3 * x1**2 + 2 * x1 * x2 - x2**2 + 1], x0=[-10, 10],
     f_star=-1, x_star=[0, 1])

_aex = 7.5 * math.sqrt(6)
_aw = (math.sqrt(_aex**2 + 1) + _aex)**(1 / 3)
_x11 = [(_aw - 1 / _aw) / math.sqrt(6), (_aw**2 - 2 + 1 / _aw**2) / 6]
_add(11, (x1, x2), (x1 - 5)**2 + x2**2 - 25, ge=[-x1**2 + x2], x0=[4.9, 0.1],
     f_star=(_x11[0] - 5)**2 + _x11[1]**2 - 25, x_star=_x11)

_add(12, (x1, x2), x1**2 / 2 + x2**2 - x1 * x2 - 7 * x1 - 7 * x2, ge=[25 - 4 * x1**2 - x2**2],
     x0=[0, 0], f_star=-30, x_star=[2, 3])

_add(13, (x1, x2), (x1 - 2)**2 + x2**2, ge=[(1 - x1)**3 - x2], bounds=[(0, None)] * 2,
     x0=[0, 0], f_star=1, x_star=[1, 0],
     note="no KKT point at the minimiser (constraint qualification fails); x0 of PROB.f90 "
          "(the 1981 book starts at (-2, -2), outside the bounds)")

_add(14, (x1, x2), (x1 - 2)**2 + (x2 - 1)**2, eq=[x1 - 2 * x2 + 1],
     ge=[1 - x1**2 / 4 - x2**2], x0=[2, 2], f_star=9 - 23 * math.sqrt(7) / 8,
     x_star=[(math.sqrt(7) - 1) / 2, (math.sqrt(7) + 1) / 4])

_add(15, (x1, x2), _ROSEN(x1, x2), ge=[x1 * x2 - 1, x1 + x2**2],
     bounds=[(None, 0.5), (None, None)], x0=[-2, 1], f_star=306.5, x_star=[0.5, 2],
     note="objective of the 1981 book (PROB.f90 divides it by 100: f* = 3.065)")

_add(16, (x1, x2), _ROSEN(x1, x2), ge=[x1 + x2**2, x1**2 + x2],
     bounds=[(-0.5, 0.5), (None, 1)], x0=[-2, 1], f_star=0.25, x_star=[0.5, 0.25],
     note="x0 violates x1 >= -0.5; from the projected x0 a local minimum f = 23.1447 lies at "
          "the corner (-0.5, sqrt(0.5))")

_add(17, (x1, x2), _ROSEN(x1, x2), ge=[x2**2 - x1, x1**2 - x2],
     bounds=[(-2, 0.5), (None, 1)], x0=[-2, 1], f_star=1, x_star=[0, 0])

_add(18, (x1, x2), x1**2 / 100 + x2**2, ge=[x1 * x2 - 25, x1**2 + x2**2 - 25],
     bounds=[(2, 50), (0, 50)], x0=[2, 2], f_star=5, x_star=[math.sqrt(250), math.sqrt(2.5)])

_s19 = math.sqrt(17.280975)
_add(19, (x1, x2), (x1 - 10)**3 + (x2 - 20)**3,
     ge=[(x1 - 5)**2 + (x2 - 5)**2 - 100, _r("82.81") - (x1 - 6)**2 - (x2 - 5)**2],
     bounds=[(13, 100), (0, 100)], x0=[20.1, 5.84], f_star=4.095**3 - (15 + _s19)**3,
     x_star=[14.095, 5 - _s19])

_add(20, (x1, x2), _ROSEN(x1, x2), ge=[x1 + x2**2, x1**2 + x2, x1**2 + x2**2 - 1],
     bounds=[(-0.5, 0.5), (None, None)], x0=[0.1, 1], f_star=81.5 - 25 * math.sqrt(3),
     x_star=[0.5, math.sqrt(3) / 2], note="x0 of PROB.f90 (the 1981 book starts at (-2, 1))")

_add(21, (x1, x2), x1**2 / 100 + x2**2 - 100, ge=[10 * x1 - x2 - 10],
     bounds=[(2, 50), (-50, 50)], x0=[2, -1], f_star=-99.96, x_star=[2, 0],
     note="x0 of PROB.f90 (the 1981 book starts at (-1, -1))")

_add(22, (x1, x2), (x1 - 2)**2 + (x2 - 1)**2, ge=[2 - x1 - x2, x2 - x1**2], x0=[2, 2],
     f_star=1, x_star=[1, 1])

_add(23, (x1, x2), x1**2 + x2**2,
     ge=[x1 + x2 - 1, x1**2 + x2**2 - 1, 9 * x1**2 + x2**2 - 9, x1**2 - x2, x2**2 - x1],
     bounds=[(-50, 50)] * 2, x0=[3, 1], f_star=2, x_star=[1, 1])

_s3 = sp.sqrt(3)
_add(24, (x1, x2), ((x1 - 3)**2 - 9) * x2**3 / (27 * _s3),
     ge=[x1 / _s3 - x2, x1 + _s3 * x2, 6 - x1 - _s3 * x2], bounds=[(0, None)] * 2,
     x0=[1, 0.5], f_star=-1, x_star=[3, math.sqrt(3)])

x1, x2, x3 = _xs(3)
_add(29, (x1, x2, x3), -x1 * x2 * x3, ge=[48 - x1**2 - 2 * x2**2 - 4 * x3**2], x0=[1, 1, 1],
     f_star=-16 * math.sqrt(2), x_star=[4, 2 * math.sqrt(2), 2])

_add(30, (x1, x2, x3), x1**2 + x2**2 + x3**2, ge=[x1**2 + x2**2 - 1],
     bounds=[(1, 10), (-10, 10), (-10, 10)], x0=[1, 1, 1], f_star=1, x_star=[1, 0, 0])

_add(31, (x1, x2, x3), 9 * x1**2 + x2**2 + 9 * x3**2, ge=[x1 * x2 - 1],
     bounds=[(-10, 10), (1, 10), (-10, 1)], x0=[1, 1, 1], f_star=6,
     x_star=[1 / math.sqrt(3), math.sqrt(3), 0])

_add(32, (x1, x2, x3), (x1 + 3 * x2 + x3)**2 + 4 * (x1 - x2)**2, eq=[1 - x1 - x2 - x3],
     ge=[6 * x2 + 4 * x3 - x1**3 - 3], bounds=[(0, None)] * 3, x0=[0.1, 0.7, 0.2], f_star=1,
     x_star=[0, 0, 1])

_add(33, (x1, x2, x3), (x1 - 1) * (x1 - 2) * (x1 - 3) + x3,
     ge=[x3**2 - x1**2 - x2**2, x1**2 + x2**2 + x3**2 - 4],
     bounds=[(0, None), (0, None), (0, 5)], x0=[0, 0, 3], f_star=math.sqrt(2) - 6,
     x_star=[0, math.sqrt(2), math.sqrt(2)])

_add(34, (x1, x2, x3), -x1, ge=[x2 - sp.exp(x1), x3 - sp.exp(x2)],
     bounds=[(0, 100), (0, 100), (0, 10)], x0=[0, 1.05, 2.9], f_star=-math.log(math.log(10)),
     x_star=[math.log(math.log(10)), math.log(10), 10])

_add(35, (x1, x2, x3),
     9 - 8 * x1 - 6 * x2 - 4 * x3 + 2 * x1**2 + 2 * x2**2 + x3**2 + 2 * x1 * x2 + 2 * x1 * x3,
     ge=[3 - x1 - x2 - 2 * x3], bounds=[(0, None)] * 3, x0=[0.5] * 3, f_star=sp.Rational(1, 9),
     x_star=[4 / 3, 7 / 9, 4 / 9])

_add(36, (x1, x2, x3), -x1 * x2 * x3, ge=[72 - x1 - 2 * x2 - 2 * x3],
     bounds=[(0, 20), (0, 11), (0, 42)], x0=[10] * 3, f_star=-3300, x_star=[20, 11, 15])

_add(37, (x1, x2, x3), -x1 * x2 * x3, ge=[72 - x1 - 2 * x2 - 2 * x3, x1 + 2 * x2 + 2 * x3],
     bounds=[(0, 42)] * 3, x0=[10] * 3, f_star=-3456, x_star=[24, 12, 12])

_add(63, (x1, x2, x3), 1000 - x1**2 - 2 * x2**2 - x3**2 - x1 * x2 - x1 * x3,
     eq=[8 * x1 + 14 * x2 + 7 * x3 - 56, x1**2 + x2**2 + x3**2 - 25], bounds=[(0, None)] * 3,
     x0=[2] * 3, f_star=961.715172127,
     x_star=[3.51211841492, 0.216988174172, 3.55217403459])

_add(64, (x1, x2, x3),
     5 * x1 + 50000 / x1 + 20 * x2 + 72000 / x2 + 10 * x3 + 144000 / x3,
     ge=[1 - 4 / x1 - 32 / x2 - 120 / x3], bounds=[(1e-5, None)] * 3, x0=[1] * 3,
     f_star=6299.84242821, x_star=[108.734717597, 85.1261394257, 204.324707858],
     note="x0 far outside the feasible set, poles at x = 0")

_add(65, (x1, x2, x3), (x1 - x2)**2 + (x1 + x2 - 10)**2 / 9 + (x3 - 5)**2,
     ge=[48 - x1**2 - x2**2 - x3**2], bounds=[(-4.5, 4.5), (-4.5, 4.5), (-5, 5)],
     x0=[-5, 5, 0], f_star=0.953528856757,
     x_star=[3.65046182158, 3.65046168940, 4.62041750754], note="x0 violates the bounds")

_add(66, (x1, x2, x3), _r("0.2") * x3 - _r("0.8") * x1, ge=[x2 - sp.exp(x1), x3 - sp.exp(x2)],
     bounds=[(0, 100), (0, 100), (0, 10)], x0=[0, 1.05, 2.9], f_star=0.518163274159,
     x_star=[0.184126487951, 1.20216787321, 3.32732232258])

x1, x2, x3, x4 = _xs4
_add(43, _xs4, x1**2 + x2**2 + 2 * x3**2 + x4**2 - 5 * x1 - 5 * x2 - 21 * x3 + 7 * x4,
     ge=[8 - x1**2 - x2**2 - x3**2 - x4**2 - x1 + x2 - x3 + x4,
         10 - x1**2 - 2 * x2**2 - x3**2 - 2 * x4**2 + x1 + x4,
         5 - 2 * x1**2 - x2**2 - x3**2 - 2 * x1 + x2 + x4],
     x0=[0] * 4, f_star=-44, x_star=[0, 1, 2, -1])

_add(44, _xs4, x1 - x2 - x3 - x1 * x3 + x1 * x4 + x2 * x3 - x2 * x4,
     ge=[8 - x1 - 2 * x2, 12 - 4 * x1 - x2, 12 - 3 * x1 - 4 * x2, 8 - 2 * x3 - x4,
         8 - x3 - 2 * x4, 5 - x3 - x4],
     bounds=[(0, None)] * 4, x0=[0] * 4, f_star=-15, x_star=[0, 3, 0, 4],
     note="indefinite quadratic with several local minima")

_add(71, _xs4, x1 * x4 * (x1 + x2 + x3) + x3, eq=[x1**2 + x2**2 + x3**2 + x4**2 - 40],
     ge=[x1 * x2 * x3 * x4 - 25], bounds=[(1, 5)] * 4, x0=[1, 5, 5, 1], f_star=17.0140172895,
     x_star=[1, 4.74299937545, 3.82115032617, 1.37940824585],
     note="constraints of the 1981 book (PROB.f90 divides them by 25 and 40)")

_add(72, _xs4, 1 + x1 + x2 + x3 + x4,
     ge=[_r("0.0401") - 4 / x1 - _r("2.25") / x2 - 1 / x3 - _r("0.25") / x4,
         _r("0.010085") - _r("0.16") / x1 - _r("0.36") / x2 - _r("0.64") / x3
         - _r("0.64") / x4],
     bounds=[(0.001, 1e5 * (5 - i)) for i in range(1, 5)], x0=[1] * 4, f_star=727.679376021,
     x_star=[193.407050141, 179.547504555, 185.018587841, 168.706233485],
     note="x0 far outside the feasible set")

_add(73, _xs4, _r("24.55") * x1 + _r("26.75") * x2 + 39 * x3 + _r("40.5") * x4,
     eq=[x1 + x2 + x3 + x4 - 1],
     ge=[_r("2.3") * x1 + _r("5.6") * x2 + _r("11.1") * x3 + _r("1.3") * x4 - 5,
         12 * x1 + _r("11.9") * x2 + _r("41.8") * x3 + _r("52.1") * x4 - 21
         - _r("1.645") * sp.sqrt(_r("0.28") * x1**2 + _r("0.19") * x2**2
                                 + _r("20.5") * x3**2 + _r("0.62") * x4**2)],
     bounds=[(0, None)] * 4, x0=[1] * 4, f_star=29.8943781573,
     x_star=[0.635521568605, 0, 0.312701880754, 0.0517765506011])

_add(76, _xs4,
     x1**2 + x3**2 + (x2**2 + x4**2) / 2 - x1 * x3 + x3 * x4 - x1 - 3 * x2 + x3 - x4,
     ge=[5 - x1 - 2 * x2 - x3 - x4, 4 - 3 * x1 - x2 - 2 * x3 + x4, x2 + 4 * x3 - _r("1.5")],
     bounds=[(0, None)] * 4, x0=[0.5] * 4, f_star=-4.68181818182,
     x_star=[0.272727272717, 2.09090909094, 0, 0.545454545496])

x1, x2, x3, x4, x5 = _xs5
_add(83, _xs5,
     _r("5.3578547") * x3**2 + _r("0.8356891") * x1 * x5 + _r("37.293239") * x1
     - _r("40792.141"),
     ge=[(_v1 := _r("85.334407") + _r("0.0056858") * x2 * x5 + _r("0.0006262") * x1 * x4
          - _r("0.0022053") * x3 * x5),
         (_v2 := _r("80.51249") + _r("0.0071317") * x2 * x5 + _r("0.0029955") * x1 * x2
          + _r("0.0021813") * x3**2 - 90),
         (_v3 := _r("9.300961") + _r("0.0047026") * x3 * x5 + _r("0.0012547") * x1 * x3
          + _r("0.0019085") * x3 * x4 - 20),
         92 - _v1, 20 - _v2, 5 - _v3],
     bounds=[(78, 102), (33, 45), (27, 45), (27, 45), (27, 45)], x0=[78, 33, 27, 27, 27],
     f_star=-30665.5386717, x_star=[78, 33, 29.9952560253, 45, 36.7758129081])

x1, x2, x3, x4, x5, x6, x7 = _x7
_add(100, _x7,
     (x1 - 10)**2 + 5 * (x2 - 12)**2 + x3**4 + 3 * (x4 - 11)**2 + 10 * x5**6 + 7 * x6**2
     + x7**4 - 4 * x6 * x7 - 10 * x6 - 8 * x7,
     ge=[127 - 2 * x1**2 - 3 * x2**4 - x3 - 4 * x4**2 - 5 * x5,
         282 - 7 * x1 - 3 * x2 - 10 * x3**2 - x4 + x5,
         196 - 23 * x1 - x2**2 - 6 * x6**2 + 8 * x7,
         -4 * x1**2 - x2**2 + 3 * x1 * x2 - 2 * x3**2 - 5 * x6 + 11 * x7],
     x0=[1, 2, 0, 4, 0, 1, 1], f_star=680.630057275,
     x_star=[2.33049937431, 1.95137237315, -0.477541392625, 4.36572623462, -0.624486970475,
             1.03813101881, 1.59422671137])

x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = _x10
_add(113, _x10,
     x1**2 + x2**2 + x1 * x2 - 14 * x1 - 16 * x2 + (x3 - 10)**2 + 4 * (x4 - 5)**2
     + (x5 - 3)**2 + 2 * (x6 - 1)**2 + 5 * x7**2 + 7 * (x8 - 11)**2 + 2 * (x9 - 10)**2
     + (x10 - 7)**2 + 45,
     ge=[105 - 4 * x1 - 5 * x2 + 3 * x7 - 9 * x8,
         -10 * x1 + 8 * x2 + 17 * x7 - 2 * x8,
         8 * x1 - 2 * x2 - 5 * x9 + 2 * x10 + 12,
         -3 * (x1 - 2)**2 - 4 * (x2 - 3)**2 - 2 * x3**2 + 7 * x4 + 120,
         -5 * x1**2 - 8 * x2 - (x3 - 6)**2 + 2 * x4 + 40,
         -(x1 - 8)**2 / 2 - 2 * (x2 - 4)**2 - 3 * x5**2 + x6 + 30,
         -x1**2 - 2 * (x2 - 2)**2 + 2 * x1 * x2 - 14 * x5 + 6 * x6,
         3 * x1 - 6 * x2 - 12 * (x9 - 8)**2 + 7 * x10],
     x0=[2, 3, 5, 5, 1, 2, 7, 3, 6, 10], f_star=24.3062090641,
     x_star=[2.17199637118, 2.36368297378, 8.77392573847, 5.09598448797, 0.990654764992,
             1.43057397893, 1.32164420805, 9.82872580801, 8.28009167017, 8.37592666387])

PROBLEMS.sort(key=lambda p: int(p.name[2:]))
