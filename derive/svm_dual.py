"""The support vector machine dual, derived from the primal through the Lagrangian and KKT.

Primal (soft margin, Cortes & Vapnik 1995): minimize 1/2 ||w||^2 + C sum_i xi_i
s.t. y_i (w . x_i + b) >= 1 - xi_i and xi_i >= 0; hard margin drops xi (C = None).
"""
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ._validate import InputError, as_expr, as_scalar
from .kkt import kkt


@dataclass(frozen=True)
class SVMDual:
    """The derivation and the dual problem: maximize ``objective`` over ``alpha`` s.t. ``constraints``."""

    X: sp.Matrix
    y: sp.Matrix
    C: object
    kernel: object
    primal: sp.Expr
    primal_constraints: list
    variables: tuple
    lagrangian: object
    kkt: object
    w: sp.Matrix
    alpha: tuple
    constraints: list
    objective: sp.Expr
    gram: sp.Matrix
    steps: tuple

    @property
    def soft(self):
        return self.C is not None

    def __str__(self):
        n, d = self.X.shape
        kind = f"soft margin, C = {self.C}" if self.soft else "hard margin"
        lines = [f"SVM dual ({kind}) for {n} points in R^{d}"]
        lines.append("primal:  minimize " + str(self.primal))
        lines += [f"    {'s.t.' if i == 0 else '    '} {c}" for i, c in enumerate(self.primal_constraints)]
        lines.append(f"Lagrangian:  {self.lagrangian.expr}")
        lines.append("stationarity of the Lagrangian:")
        lines += [f"  {s}" for s in self.steps]
        K = "K(x_i, x_j)" if self.kernel is not None else "x_i . x_j"
        lines.append(f"dual:  maximize  sum_i alpha_i - 1/2 sum_ij alpha_i alpha_j y_i y_j {K}")
        lines.append(f"    = {self.objective}")
        lines += [f"    {'s.t.' if i == 0 else '    '} {c}" for i, c in enumerate(self.constraints)]
        return "\n".join(lines)

    def _repr_latex_(self):
        cons = ",\\ ".join(sp.latex(c) for c in self.constraints)
        return f"$\\max_\\alpha\\ {sp.latex(self.objective)}\\quad \\text{{s.t. }} {cons}$"


def _data(X, y, n, d):
    if X is None:
        X = sp.Matrix(n, d, lambda i, j: sp.Symbol(f"x_{i + 1}{j + 1}" if d < 10 and n < 10 else f"x_{i + 1}_{j + 1}", real=True))
    elif not isinstance(X, sp.MatrixBase):
        arr = np.asarray(X, dtype=object)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise InputError(f"X must be an n x d array of points, got {arr.ndim} dimensions")
        # entries are read as data (a string is a formula, never code), not by sympy.Matrix's sympify
        X = sp.Matrix([[as_expr(v, f"X[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(arr)])
    n, d = X.shape
    if y is None:
        y = sp.Matrix([sp.Symbol(f"y_{i + 1}", real=True) for i in range(n)])
    else:
        ys = list(y) if isinstance(y, sp.MatrixBase) else list(np.asarray(y, dtype=object).ravel())
        y = sp.Matrix([as_expr(v, f"y[{i}]") for i, v in enumerate(ys)])
        if len(y) != n:
            raise InputError(f"y has {len(y)} labels but X has {n} rows")
        bad = [i for i, v in enumerate(y) if v.is_number and v not in (1, -1)]
        if bad:
            raise InputError(f"labels must be +1 or -1; y[{bad[0]}] = {y[bad[0]]}")
    return X, y


def _kernel_matrix(kernel, X):
    n = X.shape[0]
    rows = [X.row(i).T for i in range(n)]
    if kernel is None:
        return sp.Matrix(n, n, lambda i, j: (rows[i].T * rows[j])[0, 0])
    if isinstance(kernel, sp.Lambda):
        sig = kernel.signature if hasattr(kernel, "signature") else kernel.variables
        if len(sig) != 2:
            raise InputError(f"kernel Lambda must take two arguments K(x, z), got {len(sig)}")
        tupled = isinstance(sig[0], sp.Tuple) or isinstance(sig[0], tuple)
        arg = (lambda v: tuple(v)) if tupled else (lambda v: v[0])
        return sp.Matrix(n, n, lambda i, j: kernel(arg(rows[i]), arg(rows[j])))
    if callable(kernel):
        return sp.Matrix(n, n, lambda i, j: as_scalar(kernel(rows[i], rows[j]), f"kernel(x_{i + 1}, x_{j + 1})"))
    raise InputError(f"kernel must be None, a callable K(u, v) of two column vectors, or a sympy Lambda; got {kernel!r}")


def svm_dual(X=None, y=None, C=None, kernel=None, n=3, d=2):
    """Derive the SVM dual: soft margin for a given ``C``, hard margin for ``C=None``.

    ``X`` (n x d) and ``y`` (labels +-1) may be numeric arrays or left out, in which
    case symbols x_ij and y_i are made for ``n`` points in R^``d``. ``kernel`` K(u, v)
    (a callable of two column vectors, or a sympy Lambda) replaces the dot product.

    >>> import sympy as sp
    >>> s = svm_dual(n=2, d=1, C=sp.Symbol("C", positive=True))
    >>> s.w
    Matrix([[alpha_1*x_11*y_1 + alpha_2*x_21*y_2]])
    >>> s.constraints
    [Eq(alpha_1*y_1 + alpha_2*y_2, 0), alpha_1 >= 0, alpha_2 >= 0, alpha_1 <= C, alpha_2 <= C]
    >>> svm_dual([[0.0], [2.0]], [-1, 1]).objective
    alpha_1 - 2.0*alpha_2**2 + alpha_2
    """
    X, y = _data(X, y, n, d)
    n, d = X.shape
    if C is not None:
        C = as_expr(C, "C")
        if C.is_number and not C.is_positive:
            raise InputError(f"C must be positive, got {C}")
    w = sp.Matrix([sp.Symbol(f"w_{k + 1}", real=True) for k in range(d)])
    b = sp.Symbol("b", real=True)
    alpha = tuple(sp.Symbol(f"alpha_{i + 1}", real=True) for i in range(n))
    soft = C is not None
    xi = tuple(sp.Symbol(f"xi_{i + 1}", real=True) for i in range(n)) if soft else ()
    r = tuple(sp.Symbol(f"r_{i + 1}", real=True) for i in range(n)) if soft else ()

    margin = [y[i] * ((w.T * X.row(i).T)[0, 0] + b) for i in range(n)]
    primal = sp.Rational(1, 2) * sum(wk**2 for wk in w) + (C * sp.Add(*xi) if soft else 0)
    ineq = [1 - (xi[i] if soft else 0) - margin[i] for i in range(n)] + [-t for t in xi]
    primal_constraints = [sp.Ge(margin[i], 1 - (xi[i] if soft else 0)) for i in range(n)]
    primal_constraints += [sp.Ge(t, 0) for t in xi]
    variables = tuple(w) + (b,) + xi
    system = kkt(primal, variables, ineq=ineq, mu=alpha + r)
    L = system.lagrangian
    stat = {v: eq.lhs - eq.rhs if isinstance(eq, sp.Eq) else sp.S.Zero
            for v, eq in zip(variables, system.stationarity)}

    w_sol = sp.solve([stat[wk] for wk in w], list(w), dict=True)[0]
    w_vec = sp.Matrix([w_sol[wk] for wk in w])
    balance = sp.expand(-stat[b])  # dL/db = -sum alpha_i y_i
    r_sol = {r[i]: sp.solve(stat[xi[i]], r[i])[0] for i in range(n)} if soft else {}
    steps = [f"dL/dw = 0  =>  w = sum_i alpha_i y_i x_i = {list(w_vec)}",
             f"dL/db = 0  =>  {balance} = 0"]
    if soft:
        steps.append("dL/dxi_i = 0  =>  r_i = C - alpha_i, and r_i >= 0 gives alpha_i <= C")

    # substitute the stationarity conditions into L: b and xi drop out, leaving the dual
    Ls = sp.expand(L.expr.xreplace(w_sol).xreplace(r_sol))
    if sp.expand(sp.diff(Ls, b) + balance) != 0 or any(sp.expand(sp.diff(Ls, t)) != 0 for t in xi):
        raise RuntimeError("internal: b or xi did not drop out of the Lagrangian")
    dual_linear = sp.expand(Ls.subs(b, 0))
    lin = _kernel_matrix(None, X)
    yv = list(y)
    textbook = sp.Add(*alpha) - sp.Rational(1, 2) * sp.Add(*[
        alpha[i] * alpha[j] * yv[i] * yv[j] * lin[i, j] for i in range(n) for j in range(n)])
    if sp.expand(textbook - dual_linear) != 0:
        raise RuntimeError("internal: the substituted Lagrangian differs from the textbook dual")
    K = _kernel_matrix(kernel, X)
    # the textbook form, kept factored by the Gram entries; labels are +-1, so y_i**2 = 1
    objective = sp.Add(*alpha) - sp.Rational(1, 2) * sp.Add(*[
        alpha[i] * alpha[j] * yv[i] * yv[j] * K[i, j] for i in range(n) for j in range(n)])
    objective = objective.xreplace({v**2: 1 for v in yv if isinstance(v, sp.Symbol)})
    if kernel is not None:
        steps.append("kernel trick: x_i . x_j -> K(x_i, x_j) in the dual")
    constraints = [sp.Eq(balance, 0)] + [sp.Ge(a, 0) for a in alpha]
    if soft:
        constraints += [sp.Le(a, C) for a in alpha]
    return SVMDual(
        X=X, y=y, C=C, kernel=kernel, primal=primal, primal_constraints=primal_constraints,
        variables=variables, lagrangian=L, kkt=system, w=w_vec, alpha=alpha,
        constraints=constraints, objective=objective, gram=K, steps=tuple(steps),
    )
