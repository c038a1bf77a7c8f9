"""SVM kernel functions compiled from SymPy into Numba kernel-row routines.

Imported as ``codegen.kernels`` (the public name); this file is ``svm_kernels.py``
because "kernel" elsewhere in codegen means a compiled Numba function.

A kernel K(x, z) comes in one of two forms:

* an *inner-product kernel*: a SymPy expression in the three scalars <x,z>,
  <x,x>, <z,z> (``XZ``, ``XX``, ``ZZ`` below). Linear, polynomial, RBF and
  sigmoid kernels are of this form. Only the scalar part is generated from
  SymPy; the inner products are tight compiled loops and squared norms are
  precomputed once, so one build serves every dimension.
* a *pairwise kernel*: any SymPy expression in two vectors of component
  symbols ``x = (x0, ..., x_{d-1})`` and ``z`` (and parameters), compiled to a
  per-pair function for that dimension d.

Either way the result is a :class:`CompiledKernel` whose ``row`` attribute is a
Numba function with the fixed signature :data:`ROW_SIGNATURE`::

    row(X, sqn, params, i, idx, start, stop, out)
        for k in range(start, stop): out[k] = K(X[i], X[idx[k]])

(``idx`` maps the solver's positions to rows of X, so a solver may permute its
variables, as libsvm's shrinking does, without moving data.)

so the SMO solver (``solvers.smo``) calls it from nopython code as a
first-class function; one compiled solver serves every kernel and Numba's
on-disk cache stays valid across processes. :func:`precomputed_kernel` is the
same interface over a Gram matrix given as X (``row`` reads X[i, idx[k]]); it
serves precomputed and scikit-learn-style callable kernels without compiling
anything per kernel.

A kernel given as text (``inner_product_kernel("exp(-gamma*(xx - 2*xz + zz))")``)
is read by ``derive.parse_formula``, which builds SymPy objects from a whitelist
and never evaluates the text.

>>> import numpy as np
>>> k = standard_kernel("rbf")
>>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
>>> np.round(k.matrix(X, X, [0.5, 0.0]), 6)
array([[1.      , 0.606531],
       [0.606531, 1.      ]])
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from numba import njit, types

from .cache import load_module
from .errors import CodegenError
from .printer import prelude, print_expr

__all__ = [
    "CompiledKernel", "KernelError", "ROW_SIGNATURE", "XZ", "XX", "ZZ", "GAMMA", "COEF0",
    "STANDARD_KERNELS", "standard_kernel", "standard_kernel_expr", "inner_product_kernel",
    "pairwise_kernel", "kernel_from_callable", "as_kernel", "precomputed_kernel", "traced",
    "TracedKernel", "is_symbolic",
]

#: Scalars of an inner-product kernel: <x,z>, <x,x>, <z,z>.
XZ, XX, ZZ = sp.symbols("xz xx zz", real=True)
#: Parameters of the standard kernels, in the order of ``params`` arrays.
GAMMA, COEF0 = sp.symbols("gamma coef0", real=True)

#: Numba signature of every kernel-row function (see module docstring).
ROW_SIGNATURE = types.void(
    types.float64[:, ::1], types.float64[::1], types.float64[::1], types.int64,
    types.int64[::1], types.int64, types.int64, types.float32[::1])
_ROW_SIG_SRC = ("void(float64[:, ::1], float64[::1], float64[::1], int64, "
                "int64[::1], int64, int64, float32[::1])")

STANDARD_KERNELS = ("linear", "poly", "rbf", "sigmoid")

# Reassociation lets LLVM vectorise the dot-product loops; no 'afn', so exp and
# tanh keep full accuracy.
_FASTMATH = "{'reassoc', 'contract', 'nsz'}"


class KernelError(CodegenError, ValueError):
    """A kernel expression or argument that cannot be compiled (names the culprit)."""


def standard_kernel_expr(name, degree=3):
    """SymPy expression of a standard kernel in the scalars XZ, XX, ZZ.

    >>> standard_kernel_expr("rbf")
    exp(-gamma*(xx - 2*xz + zz))
    """
    if name == "linear":
        return XZ
    if name == "poly":
        if int(degree) != degree or degree < 0:
            raise KernelError(f"poly kernel: degree must be a non-negative integer, got {degree!r}")
        return (GAMMA * XZ + COEF0) ** int(degree)
    if name == "rbf":
        return sp.exp(-GAMMA * (XX + ZZ - 2 * XZ))
    if name == "sigmoid":
        return sp.tanh(GAMMA * XZ + COEF0)
    raise KernelError(f"unknown kernel {name!r}; choose one of {STANDARD_KERNELS}, "
                      "or pass a SymPy expression / CompiledKernel")


def standard_kernel(name, degree=3):
    """Compiled standard kernel; its ``params`` array is ``[gamma, coef0]``.

    >>> standard_kernel("poly", degree=2).expr
    (coef0 + gamma*xz)**2
    """
    return inner_product_kernel(standard_kernel_expr(name, degree), params=(GAMMA, COEF0),
                                name=name if name != "poly" else f"poly{int(degree)}")


class CompiledKernel:
    """A kernel compiled to Numba: ``row`` for solvers, ``matrix`` for prediction.

    Attributes: ``expr`` (SymPy), ``kind`` ("inner" or "pairwise"), ``params``
    (parameter symbols, the order of the ``params`` array), ``n_features`` (None
    for inner-product kernels, else the dimension d), ``source`` (generated
    Python/Numba code), ``param_values`` (defaults used by ``solvers.svm.SVC``),
    ``row`` (Numba function with :data:`ROW_SIGNATURE`).
    """

    def __init__(self, expr, kind, params, n_features, source, module, name, param_values=None,
                 variables=None):
        self.expr, self.kind, self.params = expr, kind, tuple(params)
        self._variables = variables
        self.n_features, self.source, self.name = n_features, source, name
        self._module = module
        self.row = module.row
        self.param_values = (None if param_values is None
                             else np.asarray(param_values, dtype=np.float64))

    def __repr__(self):
        return f"CompiledKernel({self.name}: {self.expr})"

    # Compiled code is immutable: copies (sklearn.base.clone deep-copies
    # parameters) share it.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        # pickles as its SymPy definition; unpickling rebuilds (or reloads from the
        # on-disk cache) the compiled module
        if self.kind == "precomputed":
            return (precomputed_kernel, ())
        pv = None if self.param_values is None else self.param_values.tolist()
        if self.kind == "inner":
            return (inner_product_kernel, (self.expr, self.params, pv, self.name))
        x, z = self._variables
        return (pairwise_kernel, (self.expr, x, z, self.params, pv, self.name))

    def _dense(self, A):
        A = np.ascontiguousarray(A, dtype=np.float64)
        # a read-only array is another Numba type: copy rather than compile again
        return A if A.flags.writeable else A.copy()

    def check_features(self, n_features):
        """Raise KernelError if a pairwise kernel was built for another dimension."""
        if self.n_features is not None and self.n_features != n_features:
            raise KernelError(f"kernel {self.name} was compiled for {self.n_features} features, "
                              f"data has {n_features}")

    def param_array(self, params=None):
        """``params`` (or the defaults ``param_values``) as a float64 array, length-checked."""
        p = self.param_values if params is None else params
        p = np.ascontiguousarray(np.zeros(0) if p is None else p, dtype=np.float64).ravel()
        if p.shape[0] < len(self.params):
            raise KernelError(f"kernel {self.name} needs {len(self.params)} parameter values "
                              f"{[str(s) for s in self.params]}, got {p.shape[0]}")
        return p

    def sq_norms(self, X):
        """Squared row norms <x,x> (the precomputed part of an inner-product kernel)."""
        return np.einsum("ij,ij->i", X, X)

    def matrix(self, A, B, params=None):
        """Dense float64 kernel block K[a, b] = K(A[a], B[b])."""
        if self.kind == "precomputed":
            raise KernelError("a precomputed kernel has no formula to evaluate: its matrix is "
                              "the Gram matrix the caller passes")
        A, B = self._dense(A), self._dense(B)
        self.check_features(A.shape[1])
        p = self.param_array(params)
        out = np.empty((A.shape[0], B.shape[0]))
        if self.kind == "inner":
            # the inner products through BLAS, the scalar part compiled from SymPy
            self._module.apply(A @ B.T, self.sq_norms(A), self.sq_norms(B), p, out)
        else:
            self._module.pair_matrix(A, B, p, out)
        return out

    def diag(self, X, params=None):
        """K(x_i, x_i) for every row of X (the diagonal of X for a precomputed kernel)."""
        X = self._dense(X)
        if self.kind == "precomputed":
            return np.ascontiguousarray(np.diagonal(X), dtype=np.float64)
        p = self.param_array(params)
        out = np.empty(X.shape[0])
        if self.kind == "inner":
            sq = self.sq_norms(X)
            self._module.apply_diag(sq, p, out)
        else:
            self._module.pair_diag(X, p, out)
        return out


# ---------------------------------------------------------------- printing ----

def _print_body(expr, names, indent="    "):
    """CSE'd lines computing ``expr`` into a local ``_r``."""
    reps, (red,) = sp.cse(expr, symbols=sp.numbered_symbols("_c"))
    names = dict(names)
    lines = []
    for k, (s, e) in enumerate(reps):
        rhs = print_expr(e, names)
        names[s] = f"_c{k}"
        lines.append(f"{indent}_c{k} = {rhs}")
    lines.append(f"{indent}_r = {print_expr(red, names)}")
    return "\n".join(lines)


# --------------------------------------------------------------- building ----

_HEADER = '''"""Generated by codegen.kernels: {what}. Do not edit."""
{prelude}
from numba import njit

_FM = {fastmath}
'''

_INNER_TEMPLATE = _HEADER + '''

@njit(cache=True, fastmath=_FM, error_model='numpy')
def scalar(xz, xx, zz, p):
{body}
    return _r


@njit("{sig}", cache=True, fastmath=_FM, error_model='numpy')
def row(X, sqn, p, i, idx, start, stop, out):
    d = X.shape[1]
    xx = sqn[i]
    for k in range(start, stop):
        j = idx[k]
        s = 0.0
        for t in range(d):
            s += X[i, t] * X[j, t]
        out[k] = scalar(s, xx, sqn[j], p)


@njit(cache=True, fastmath=_FM, error_model='numpy')
def apply(XZ, sqa, sqb, p, out):
    for a in range(XZ.shape[0]):
        for b in range(XZ.shape[1]):
            out[a, b] = scalar(XZ[a, b], sqa[a], sqb[b], p)


@njit(cache=True, fastmath=_FM, error_model='numpy')
def apply_diag(sq, p, out):
    for a in range(sq.shape[0]):
        out[a] = scalar(sq[a], sq[a], sq[a], p)
'''

_PAIR_TEMPLATE = _HEADER + '''

@njit(cache=True, fastmath=_FM, error_model='numpy')
def pair(x, z, p):
{body}
    return _r


@njit("{sig}", cache=True, fastmath=_FM, error_model='numpy')
def row(X, sqn, p, i, idx, start, stop, out):
    xi = X[i]
    for k in range(start, stop):
        out[k] = pair(xi, X[idx[k]], p)


@njit(cache=True, fastmath=_FM, error_model='numpy')
def pair_matrix(A, B, p, out):
    for a in range(A.shape[0]):
        for b in range(B.shape[0]):
            out[a, b] = pair(A[a], B[b], p)


@njit(cache=True, fastmath=_FM, error_model='numpy')
def pair_diag(X, p, out):
    for a in range(X.shape[0]):
        out[a] = pair(X[a], X[a], p)
'''


def _as_expr(expr, symbols, what):
    """A kernel given as SymPy, a number, or text read by ``derive.parse_formula`` (never
    evaluated); ``symbols`` maps the names the text may use to the kernel's symbols."""
    if isinstance(expr, str):
        from derive import FormulaError, parse_formula  # noqa: PLC0415  (derive is SymPy only)
        try:
            return parse_formula(expr, what=what, symbols={str(s): s for s in symbols}, relations=False)
        except FormulaError as exc:
            raise KernelError(str(exc)) from exc
    try:
        return sp.sympify(expr, strict=True)
    except sp.SympifyError as exc:
        raise KernelError(f"{what} must be a SymPy expression, a number or formula text, got "
                          f"{type(expr).__name__}") from exc


def _check_params(params):
    params = tuple(params)
    for s in params:
        if not isinstance(s, sp.Symbol):
            raise KernelError(f"kernel parameter {s!r} is not a SymPy Symbol")
    if len(set(params)) != len(params):
        raise KernelError(f"duplicate kernel parameters in {params}")
    return params


def _refuse_unknown(expr, names, what, allowed):
    extra = expr.free_symbols - set(names)
    if extra:
        raise KernelError(f"{what} {expr}: symbols {sorted(map(str, extra))} are {allowed}")


def _load(template, what, expr, names):
    """(source, module) of a kernel module from ``template`` with ``expr``'s body."""
    source = template.format(what=what, fastmath=_FASTMATH, prelude=prelude(),
                             body=_print_body(expr, names), sig=_ROW_SIG_SRC)
    return source, load_module(source, name_hint="svmkernel")


def inner_product_kernel(expr, params=(), param_values=None, name="inner"):
    """Compile a kernel given as a SymPy expression in XZ=<x,z>, XX=<x,x>, ZZ=<z,z>.

    ``expr`` may also be text in ``xz, xx, zz`` and the parameters' names.

    >>> import sympy as sp
    >>> k = inner_product_kernel((XZ + 1) ** 2, name="quad")
    >>> k.matrix([[1.0, 2.0]], [[3.0, 1.0]])
    array([[36.]])
    """
    params = _check_params(params)
    expr = _as_expr(expr, (XZ, XX, ZZ) + params, "inner-product kernel")
    names = {XZ: "xz", XX: "xx", ZZ: "zz"}
    names.update({s: f"p[{k}]" for k, s in enumerate(params)})
    _refuse_unknown(expr, names, "inner-product kernel", "not XZ/XX/ZZ nor declared params")
    source, module = _load(_INNER_TEMPLATE, f"inner-product kernel {name}: K = {expr}", expr,
                           names)
    return CompiledKernel(expr, "inner", params, None, source, module, name, param_values)


def pairwise_kernel(expr, x, z, params=(), param_values=None, name="pairwise"):
    """Compile any SymPy kernel K(x, z) in explicit component symbols x, z.

    >>> import sympy as sp
    >>> x = sp.symbols("x0:2"); z = sp.symbols("z0:2")
    >>> k = pairwise_kernel((1 + x[0]*z[0] + x[1]*z[1])**2, x, z)
    >>> k.matrix([[1.0, 2.0]], [[3.0, 1.0]])
    array([[36.]])
    """
    expr = _as_expr(expr, tuple(s for s in tuple(x) + tuple(z) + tuple(params)
                                if isinstance(s, sp.Symbol)), "pairwise kernel")
    if isinstance(expr, sp.MatrixBase):
        if expr.shape != (1, 1):
            raise KernelError(f"kernel must be scalar, got a {expr.shape} matrix")
        expr = expr[0, 0]
    x, z, params = tuple(x), tuple(z), _check_params(params)
    if len(x) != len(z) or not x:
        raise KernelError(f"kernel variables x and z must be non-empty and of equal length, "
                          f"got {len(x)} and {len(z)}")
    for s in x + z:
        if not isinstance(s, sp.Symbol):
            raise KernelError(f"kernel variable {s!r} is not a SymPy Symbol")
    if len(set(x + z + params)) != len(x + z + params):
        raise KernelError("kernel variables x, z and params must be distinct symbols")
    names = {s: f"x[{k}]" for k, s in enumerate(x)}
    names.update({s: f"z[{k}]" for k, s in enumerate(z)})
    names.update({s: f"p[{k}]" for k, s in enumerate(params)})
    _refuse_unknown(expr, names, "kernel", "neither components of x, z nor declared params")
    source, module = _load(_PAIR_TEMPLATE, f"pairwise kernel {name} in {len(x)} dimensions",
                           expr, names)
    return CompiledKernel(expr, "pairwise", params, len(x), source, module, name, param_values,
                          variables=(x, z))


def kernel_from_callable(fn, n_features, name=None):
    """Trace a Python callable ``fn(x, z)`` with SymPy column vectors and compile it.

    ``x`` and ``z`` are ``sympy.Matrix`` columns, so ``x.dot(z)``, ``x - z`` and
    ``sympy.exp`` work; NumPy ufuncs do not.

    >>> import sympy as sp
    >>> k = kernel_from_callable(lambda x, z: (x.dot(z) + 1) ** 2, 2)
    >>> k.matrix([[1.0, 2.0]], [[3.0, 1.0]])
    array([[36.]])
    """
    x = sp.Matrix(sp.symbols(f"x0:{n_features}", real=True))
    z = sp.Matrix(sp.symbols(f"z0:{n_features}", real=True))
    try:
        expr = fn(x, z)
    except Exception as exc:  # the user's code fails on symbols: say so
        raise KernelError(f"kernel callable {fn!r} could not be traced with SymPy vectors "
                          f"({type(exc).__name__}: {exc}); write it with SymPy functions "
                          "(sympy.exp, x.dot(z), ...)") from exc
    return pairwise_kernel(expr, list(x), list(z), name=name or getattr(fn, "__name__", "callable"))


def as_kernel(spec, n_features):
    """Compile a user kernel: a SymPy expression in ``XZ, XX, ZZ`` (parameters
    ``GAMMA, COEF0``), an ``(expr, x_symbols, z_symbols)`` tuple, or a callable
    ``k(x, z)`` traced with SymPy vectors. A ``CompiledKernel`` is returned as is.

    This is the one place where a kernel given as SymPy becomes compiled code, so
    callers (``solvers.svm.SVC``) need no SymPy of their own.

    >>> k = as_kernel(sp.exp(-GAMMA * (XX - 2 * XZ + ZZ)), 2)
    >>> k.params
    (gamma,)
    """
    if isinstance(spec, CompiledKernel):
        return spec
    if isinstance(spec, sp.Basic):
        scalars = {XZ, XX, ZZ, GAMMA, COEF0}
        if not spec.free_symbols <= scalars:
            raise KernelError(
                f"kernel expression {spec} has symbols "
                f"{sorted(map(str, spec.free_symbols - scalars))}; a bare SymPy kernel may use "
                "only XZ, XX, ZZ, GAMMA, COEF0 from codegen.kernels; pass "
                "(expr, x_symbols, z_symbols) for a kernel in components")
        params = tuple(s for s in (GAMMA, COEF0) if s in spec.free_symbols)
        return inner_product_kernel(spec, params=params, name="sympy")
    if isinstance(spec, tuple) and len(spec) == 3:
        expr, x, z = spec
        expr = _as_expr(expr, tuple(s for s in tuple(x) + tuple(z) if isinstance(s, sp.Symbol))
                        + (GAMMA, COEF0), "pairwise kernel")
        params = tuple(s for s in (GAMMA, COEF0) if s in expr.free_symbols)
        return pairwise_kernel(expr, x, z, params=params, name="sympy")
    if isinstance(spec, TracedKernel):
        return kernel_from_callable(spec.fn, n_features, name=spec.name)
    if callable(spec):
        return kernel_from_callable(spec, n_features)
    raise KernelError(f"kernel must be a name, CompiledKernel, SymPy expression, "
                      f"(expr, x, z) tuple or callable, got {type(spec).__name__}")


class TracedKernel:
    """A Python function ``fn(x, z)`` of SymPy column vectors, to be traced and compiled
    once the data's dimension is known (see :func:`traced`). Deliberately not callable,
    so that ``solvers.svm.SVC`` tells it from a scikit-learn kernel ``k(X, Y)``."""

    def __init__(self, fn, name=None):
        if not callable(fn):
            raise KernelError(f"traced() needs a function fn(x, z), got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "traced")

    def __repr__(self):
        return f"traced({self.name})"


def traced(fn, name=None):
    """Mark ``fn(x, z)`` as a SymPy kernel: ``SVC(kernel=traced(fn))`` traces it with SymPy
    vectors of the data's dimension and compiles it (a plain callable given to ``SVC`` is a
    scikit-learn kernel ``k(X, Y) -> Gram matrix`` instead).

    >>> k = as_kernel(traced(lambda x, z: (x.dot(z) + 1) ** 2), 2)
    >>> k.matrix([[1.0, 2.0]], [[3.0, 1.0]])
    array([[36.]])
    """
    return TracedKernel(fn, name)


def is_symbolic(spec):
    """True for the kernel specs this module compiles from SymPy (``as_kernel`` takes them
    besides plain callables): a CompiledKernel, a SymPy expression, an (expr, x, z) tuple,
    or a ``traced`` function.

    >>> is_symbolic(XZ + 1), is_symbolic(traced(lambda x, z: x.dot(z))), is_symbolic(len)
    (True, True, False)
    """
    return (isinstance(spec, (CompiledKernel, TracedKernel, sp.Basic))
            or (isinstance(spec, tuple) and len(spec) == 3))


def _gram_row(G, sqn, p, i, idx, start, stop, out):
    for k in range(start, stop):
        out[k] = G[i, idx[k]]


class _GramModule:
    """The compiled parts of a precomputed kernel: only the row function."""

    def __init__(self, row):
        self.row = row


_PRECOMPUTED = []


def precomputed_kernel():
    """The kernel whose data X is the Gram matrix itself: ``row`` reads X[i, idx[k]].

    Compiled once (and cached on disk) for every precomputed or scikit-learn-style callable
    kernel: those reach the solver as Gram matrices, so a new kernel costs no compile.

    >>> import numpy as np
    >>> k = precomputed_kernel()
    >>> out = np.zeros(2, np.float32)
    >>> k.row(np.array([[4.0, 1.0], [1.0, 9.0]]), np.zeros(2), np.zeros(0), 1,
    ...       np.array([1, 0]), 0, 2, out)
    >>> out.tolist(), k.diag(np.array([[4.0, 1.0], [1.0, 9.0]])).tolist()
    ([9.0, 1.0], [4.0, 9.0])
    """
    if not _PRECOMPUTED:
        row = njit(ROW_SIGNATURE, cache=True)(_gram_row)
        _PRECOMPUTED.append(CompiledKernel(None, "precomputed", (), None, None,
                                           _GramModule(row), "precomputed"))
    return _PRECOMPUTED[0]
