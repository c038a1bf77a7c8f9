"""Classic unconstrained test problems encoded in SymPy (Moré, Garbow & Hillstrom 1981).

Shared by ``tests/solvers`` and ``benchmarks/bench_solvers.py``; SymPy only (compile with
``codegen.compile(p.expr, p.wrt)``). Each problem carries the standard starting point and the
known minimum values (some problems have several local minima a solver may legitimately reach).

>>> p = get("rosenbrock")
>>> p.n, p.x0.tolist(), p.f_star
(2, [-1.2, 1.0], (0.0,))
"""
from dataclasses import dataclass

import numpy as np
import sympy as sp

__all__ = ["Problem", "PROBLEMS", "get", "extended_rosenbrock", "chained_rosenbrock"]


@dataclass(frozen=True)
class Problem:
    name: str
    expr: sp.Expr
    wrt: tuple
    x0: np.ndarray
    f_star: tuple  # known minimum values (global first)

    @property
    def n(self):
        return len(self.wrt)

    def solved(self, f, rtol=1e-6, atol=1e-8):
        """True when f is within tolerance of one of the known minimum values."""
        return bool(np.isfinite(f)) and any(abs(f - fs) <= atol + rtol * abs(fs) for fs in self.f_star)


def _xs(n):
    return sp.symbols(f"x1:{n + 1}", real=True)


def rosenbrock():
    x1, x2 = _xs(2)
    return Problem("rosenbrock", 100 * (x2 - x1**2)**2 + (1 - x1)**2, (x1, x2),
                   np.array([-1.2, 1.0]), (0.0,))


def extended_rosenbrock(n=10):
    """MGH #21: n/2 independent Rosenbrock pairs."""
    x = _xs(n)
    f = sp.Add(*[100 * (x[2 * i + 1] - x[2 * i]**2)**2 + (1 - x[2 * i])**2 for i in range(n // 2)])
    x0 = np.tile([-1.2, 1.0], n // 2)
    return Problem(f"extended_rosenbrock_{n}", f, x, x0, (0.0,))


def chained_rosenbrock(n=10):
    """SciPy's ``rosen``: sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 (a second minimum near x1=-1)."""
    x = _xs(n)
    f = sp.Add(*[100 * (x[i + 1] - x[i]**2)**2 + (1 - x[i])**2 for i in range(n - 1)])
    x0 = np.tile([-1.2, 1.0], n // 2)
    return Problem(f"chained_rosenbrock_{n}", f, x, x0, (0.0, 3.98657911))


def powell_singular():
    x1, x2, x3, x4 = x = _xs(4)
    f = (x1 + 10 * x2)**2 + 5 * (x3 - x4)**2 + (x2 - 2 * x3)**4 + 10 * (x1 - x4)**4
    return Problem("powell_singular", f, x, np.array([3.0, -1.0, 0.0, 1.0]), (0.0,))


def beale():
    x1, x2 = x = _xs(2)
    y = [sp.Rational(3, 2), sp.Rational(9, 4), sp.Rational(21, 8)]
    f = sum((y[i] - x1 * (1 - x2**(i + 1)))**2 for i in range(3))
    return Problem("beale", f, x, np.array([1.0, 1.0]), (0.0,))


def wood():
    x1, x2, x3, x4 = x = _xs(4)
    f = (100 * (x1**2 - x2)**2 + (x1 - 1)**2 + (x3 - 1)**2 + 90 * (x3**2 - x4)**2
         + sp.Rational(101, 10) * ((x2 - 1)**2 + (x4 - 1)**2)
         + sp.Rational(198, 10) * (x2 - 1) * (x4 - 1))
    return Problem("wood", f, x, np.array([-3.0, -1.0, -3.0, -1.0]), (0.0,))


def helical_valley():
    x1, x2, x3 = x = _xs(3)
    theta = sp.atan2(x2, x1) / (2 * sp.pi)
    f = 100 * ((x3 - 10 * theta)**2 + (sp.sqrt(x1**2 + x2**2) - 1)**2) + x3**2
    return Problem("helical_valley", f, x, np.array([-1.0, 0.0, 0.0]), (0.0,))


def freudenstein_roth():
    x1, x2 = x = _xs(2)
    f = ((-13 + x1 + ((5 - x2) * x2 - 2) * x2)**2
         + (-29 + x1 + ((x2 + 1) * x2 - 14) * x2)**2)
    return Problem("freudenstein_roth", f, x, np.array([0.5, -2.0]), (0.0, 48.9842536792))


def brown_badly_scaled():
    x1, x2 = x = _xs(2)
    f = (x1 - sp.Integer(10)**6)**2 + (x2 - 2 * sp.Integer(10)**-6)**2 + (x1 * x2 - 2)**2
    return Problem("brown_badly_scaled", f, x, np.array([1.0, 1.0]), (0.0,))


def box_3d():
    x1, x2, x3 = x = _xs(3)
    f = 0
    for i in range(1, 11):
        t = sp.Rational(i, 10)
        f += (sp.exp(-t * x1) - sp.exp(-t * x2) - x3 * (sp.exp(-t) - sp.exp(-10 * t)))**2
    return Problem("box_3d", f, x, np.array([0.0, 10.0, 20.0]), (0.0,))


def jennrich_sampson():
    x1, x2 = x = _xs(2)
    f = sum((2 + 2 * i - (sp.exp(i * x1) + sp.exp(i * x2)))**2 for i in range(1, 11))
    return Problem("jennrich_sampson", f, x, np.array([0.3, 0.4]), (124.362182355,))


def gaussian():
    x1, x2, x3 = x = _xs(3)
    y = ["0.0009", "0.0044", "0.0175", "0.0540", "0.1295", "0.2420", "0.3521", "0.3989",
         "0.3521", "0.2420", "0.1295", "0.0540", "0.0175", "0.0044", "0.0009"]
    f = 0
    for i in range(1, 16):
        t = sp.Rational(8 - i, 2)
        f += (x1 * sp.exp(-x2 * (t - x3)**2 / 2) - sp.Rational(y[i - 1]))**2
    return Problem("gaussian", f, x, np.array([0.4, 1.0, 0.0]), (1.12793276962e-8,))


def trigonometric(n=10):
    x = _xs(n)
    s = sum(sp.cos(v) for v in x)
    f = sum((n - s + (i + 1) * (1 - sp.cos(x[i])) - sp.sin(x[i]))**2 for i in range(n))
    return Problem(f"trigonometric_{n}", f, x, np.full(n, 1.0 / n), (0.0, 2.79506e-5))


def penalty_1(n=4):
    x = _xs(n)
    a = sp.Rational(1, 100000)
    f = sum(a * (v - 1)**2 for v in x) + (sum(v**2 for v in x) - sp.Rational(1, 4))**2
    return Problem(f"penalty_1_{n}", f, x, np.arange(1.0, n + 1), (2.24997824e-5,))


def variably_dimensioned(n=10):
    x = _xs(n)
    s = sum((j + 1) * (x[j] - 1) for j in range(n))
    f = sum((v - 1)**2 for v in x) + s**2 + s**4
    return Problem(f"variably_dimensioned_{n}", f, x, 1.0 - np.arange(1, n + 1) / n, (0.0,))


def bard():
    x1, x2, x3 = x = _xs(3)
    y = ["0.14", "0.18", "0.22", "0.25", "0.29", "0.32", "0.35", "0.39", "0.37", "0.58",
         "0.73", "0.96", "1.34", "2.10", "4.39"]
    f = 0
    for i in range(1, 16):
        u, v = i, 16 - i
        w = min(u, v)
        f += (sp.Rational(y[i - 1]) - (x1 + u / (v * x2 + w * x3)))**2
    return Problem("bard", f, x, np.array([1.0, 1.0, 1.0]), (8.21487730e-3, 17.4286))


def kowalik_osborne():
    x1, x2, x3, x4 = x = _xs(4)
    y = ["0.1957", "0.1947", "0.1735", "0.1600", "0.0844", "0.0627", "0.0456", "0.0342",
         "0.0323", "0.0235", "0.0246"]
    u = ["4", "2", "1", "0.5", "0.25", "0.167", "0.125", "0.1", "0.0833", "0.0714", "0.0625"]
    f = 0
    for yi, ui in zip(y, u):
        ui = sp.Rational(ui)
        f += (sp.Rational(yi) - x1 * (ui**2 + ui * x2) / (ui**2 + ui * x3 + x4))**2
    return Problem("kowalik_osborne", f, x, np.array([0.25, 0.39, 0.415, 0.39]),
                   (3.07505603849e-4, 1.02734e-3))


_BUILDERS = [rosenbrock, extended_rosenbrock, chained_rosenbrock, powell_singular, beale, wood,
             helical_valley, freudenstein_roth, brown_badly_scaled, box_3d, jennrich_sampson,
             gaussian, trigonometric, penalty_1, variably_dimensioned, bard, kowalik_osborne]

PROBLEMS = [b() for b in _BUILDERS]


def get(name):
    """The problem called ``name``, or the only one whose name starts with it."""
    matches = [p for p in PROBLEMS if p.name == name] or \
        [p for p in PROBLEMS if p.name.startswith(name + "_")]
    if len(matches) != 1:
        raise KeyError(f"no unique test problem {name!r}; known: {[p.name for p in PROBLEMS]}")
    return matches[0]
