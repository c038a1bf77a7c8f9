"""The functions machine learning differentiates, as SymPy objects.

``sigmoid``, ``softplus``, ``relu`` and ``logsumexp`` are SymPy ``Function``
classes whose derivatives are stated in closed form (``fdiff``), so SymPy
differentiates them symbolically and prints them by name. ``codegen`` prints
each one as a numerically stable kernel. They rewrite to elementary
functions with ``.rewrite(sympy.exp)`` (``relu`` with ``.rewrite(sympy.Piecewise)``),
which is how ``sympy.lambdify`` and ``evalf`` see them.

>>> import sympy as sp
>>> z = sp.Symbol("z", real=True)
>>> sp.diff(sigmoid(z), z)
(1 - sigmoid(z))*sigmoid(z)
>>> sp.diff(softplus(z), z)
sigmoid(z)
"""
import numpy as np
import sympy as sp
from sympy import Function, S

from ._validate import InputError, as_expr


# ``_imp_`` is what ``sympy.lambdify`` calls for a Function it does not know;
# these NumPy versions are stable for large |z| so lambdify oracles stay finite.
def _np_sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _np_softplus(z):
    return np.logaddexp(0.0, z)


def _np_relu(z):
    return np.maximum(0.0, z)


def _np_logsumexp(*z):
    return np.logaddexp.reduce(np.broadcast_arrays(*z), axis=0)


class _Function(Function):
    """What every function here shares: text arguments are read as formulas, never run
    (``Function`` would sympify them), and evalf goes through the exp form."""

    def __new__(cls, *args, **options):
        args = [as_expr(a, f"{cls.__name__}() argument {i + 1}") if isinstance(a, str) else a
                for i, a in enumerate(args)]
        return super().__new__(cls, *args, **options)

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        if all(a.is_real for a in self.args):
            return True
        if len(self.args) == 1:
            return self.args[0].is_real
        return None


class _PositiveFunction(_Function):
    """A function of one argument that is positive wherever the argument is real."""

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True


class sigmoid(_PositiveFunction):
    """Logistic sigmoid 1 / (1 + exp(-z)); derivative sigmoid(z) (1 - sigmoid(z)).

    >>> import sympy as sp
    >>> sigmoid(0)
    1/2
    >>> sp.N(sigmoid(2).rewrite(sp.exp), 6)
    0.880797
    """

    nargs = 1
    _imp_ = staticmethod(_np_sigmoid)

    @classmethod
    def eval(cls, z):
        if z is S.Zero:
            return S.Half
        if z is S.Infinity:
            return S.One
        if z is S.NegativeInfinity:
            return S.Zero

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))


class softplus(_PositiveFunction):
    """log(1 + exp(z)); derivative sigmoid(z).

    >>> softplus(0)
    log(2)
    """

    nargs = 1
    _imp_ = staticmethod(_np_softplus)

    @classmethod
    def eval(cls, z):
        if z is S.Zero:
            return sp.log(2)

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sp.log(1 + sp.exp(z))

    _eval_rewrite_as_log = _eval_rewrite_as_exp


class relu(_Function):
    """max(0, z); derivative Heaviside(z, 0), i.e. the subgradient 0 is chosen at z = 0.

    >>> import sympy as sp
    >>> z = sp.Symbol("z", real=True)
    >>> sp.diff(relu(z), z)
    Heaviside(z, 0)
    >>> relu(-3), relu(2)
    (0, 2)
    """

    nargs = 1
    _imp_ = staticmethod(_np_relu)

    @classmethod
    def eval(cls, z):
        if z.is_number and z.is_real:
            return sp.Max(S.Zero, z)
        if z.is_nonnegative:
            return z
        if z.is_nonpositive:
            return S.Zero

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Piecewise(self, z, **kwargs):
        return sp.Piecewise((z, z > 0), (S.Zero, True))

    def _eval_rewrite_as_Max(self, z, **kwargs):
        return sp.Max(S.Zero, z)

    def _eval_evalf(self, prec):
        return sp.Max(S.Zero, self.args[0])._eval_evalf(prec)


class logsumexp(_Function):
    """log(sum_i exp(z_i)) of any number of arguments; d/dz_k = exp(z_k - logsumexp(z)).

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", real=True)
    >>> sp.diff(logsumexp(a, b), a)
    exp(a - logsumexp(a, b))
    """

    _imp_ = staticmethod(_np_logsumexp)

    @classmethod
    def eval(cls, *args):
        if len(args) == 0:
            raise InputError("logsumexp needs at least one argument")
        if len(args) == 1:
            return args[0]

    def fdiff(self, argindex=1):
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sp.log(sp.Add(*[sp.exp(a) for a in args]))


# --- activations and losses built from the classes above -----------------

tanh = sp.tanh


def _as_list(v, name):
    """A sequence, vector Matrix or array as a flat list of expressions (text read as formulas)."""
    if isinstance(v, sp.MatrixBase):
        return list(v)
    if isinstance(v, (list, tuple)):
        items = v
    elif hasattr(v, "tolist") and hasattr(v, "shape"):  # numpy arrays
        items = v.ravel().tolist()
    else:
        raise InputError(f"{name} must be a sequence or vector Matrix, got {type(v).__name__}")
    return [as_expr(e, f"{name}[{i}]") for i, e in enumerate(items)]


def leaky_relu(z, alpha=0.01):
    """z for z > 0, alpha*z otherwise; written alpha*z + (1 - alpha)*relu(z).

    A float ``alpha`` is made an exact rational (0.01 -> 1/100) so derivatives stay exact.

    >>> import sympy as sp
    >>> z = sp.Symbol("z", real=True)
    >>> leaky_relu(z)
    z/100 + 99*relu(z)/100
    >>> sp.diff(leaky_relu(z, alpha=0.2), z)
    4*Heaviside(z, 0)/5 + 1/5
    """
    if isinstance(alpha, float):
        if not np.isfinite(alpha):
            raise InputError(f"leaky_relu: alpha must be finite, got {alpha!r}")
        alpha = sp.Rational(repr(alpha))
    alpha, z = as_expr(alpha, "alpha"), as_expr(z, "z")
    return alpha * z + (1 - alpha) * relu(z)


def softmax(z):
    """Softmax of a vector as a column Matrix: exp(z_i - logsumexp(z)).

    Written with ``logsumexp`` so no exp(z_i) is formed on its own (stable in codegen).

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", real=True)
    >>> softmax([a, b])
    Matrix([
    [exp(a - logsumexp(a, b))],
    [exp(b - logsumexp(a, b))]])
    """
    zs = _as_list(z, "z")
    lse = logsumexp(*zs)
    return sp.Matrix([sp.exp(zi - lse) for zi in zs])


def log_softmax(z):
    """log(softmax(z)) as a column Matrix: z_i - logsumexp(z).

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", real=True)
    >>> log_softmax([a, b]).T
    Matrix([[a - logsumexp(a, b), b - logsumexp(a, b)]])
    """
    zs = _as_list(z, "z")
    lse = logsumexp(*zs)
    return sp.Matrix([zi - lse for zi in zs])


def mse(pred, target):
    """Mean squared error: (pred - target)**2 for scalars, the mean over entries for vectors.

    >>> import sympy as sp
    >>> p, t = sp.symbols("p t")
    >>> mse(p, t)
    (p - t)**2
    >>> mse(sp.Matrix([1, 2]), sp.Matrix([0, 0]))
    5/2
    """
    scalar = not isinstance(pred, (list, tuple, sp.MatrixBase)) and not hasattr(pred, "shape")
    if scalar:
        return (as_expr(pred, "pred") - as_expr(target, "target")) ** 2
    ps, ts = _as_list(pred, "pred"), _as_list(target, "target")
    if len(ps) != len(ts):
        raise InputError(f"mse: pred has {len(ps)} entries but target has {len(ts)}")
    return sp.Add(*[(p - t) ** 2 for p, t in zip(ps, ts)]) / len(ps)


def _log(p):
    """log(p), using log(exp(u)) = u for the softmax entries (u real) so no log(exp()) is left."""
    if isinstance(p, sp.exp):
        return p.args[0]
    return sp.log(p)


def binary_cross_entropy(a, y):
    """-(y log a + (1 - y) log(1 - a)) for a probability ``a`` and a label ``y`` in [0, 1].

    With a = sigmoid(z) the terms stay log(sigmoid(z)) and log(1 - sigmoid(z)),
    which codegen prints stably; the derivative in z is sigmoid(z) - y.

    >>> import sympy as sp
    >>> z, y = sp.symbols("z y", real=True)
    >>> sp.expand(sp.diff(binary_cross_entropy(sigmoid(z), y), z))
    -y + sigmoid(z)
    """
    a, y = as_expr(a, "a"), as_expr(y, "y")
    return -(y * _log(a) + (1 - y) * _log(1 - a))


def cross_entropy(p, y, from_logits=False):
    """Categorical cross-entropy -sum_i y_i log p_i of probabilities ``p`` and targets ``y``.

    ``p`` holds probabilities (e.g. ``softmax(z)``); with ``from_logits=True`` it holds
    logits z and log_softmax(z) is used. Either way d/dz = softmax(z) * sum(y) - y,
    i.e. s - y for a target distribution (sum(y) = 1).

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", real=True)
    >>> cross_entropy([a, b], [1, 0], from_logits=True)
    -a + logsumexp(a, b)
    >>> cross_entropy(softmax([a, b]), [1, 0])
    -a + logsumexp(a, b)
    """
    ps, ys = _as_list(p, "p"), _as_list(y, "y")
    if len(ps) != len(ys):
        raise InputError(f"cross_entropy: p has {len(ps)} entries but y has {len(ys)}")
    logs = list(log_softmax(ps)) if from_logits else [_log(pi) for pi in ps]
    return -sp.Add(*[yi * li for yi, li in zip(ys, logs)])


def hinge(score, y):
    """Hinge loss max(0, 1 - y*score) for a label y in {-1, +1}.

    >>> import sympy as sp
    >>> s, y = sp.symbols("s y", real=True)
    >>> hinge(s, y)
    Max(0, -s*y + 1)
    >>> hinge(3, 1), hinge(0.5, 1)
    (0, 0.500000000000000)
    """
    return sp.Max(S.Zero, 1 - as_expr(y, "y") * as_expr(score, "score"))


def huber(r, delta=1):
    """Huber loss of a residual r: r**2/2 for |r| <= delta, delta*(|r| - delta/2) beyond.

    Quadratic near 0 and linear in the tails (robust regression); convex, with a continuous
    first derivative (clip(r, -delta, delta)) and a second derivative that jumps at |r| = delta.
    A float ``delta`` is made an exact rational (1.35 -> 27/20); it must be positive.

    >>> import sympy as sp
    >>> r = sp.Symbol("r", real=True)
    >>> huber(r, 2)
    Piecewise((r**2/2, Abs(r) <= 2), (2*Abs(r) - 2, True))
    >>> huber(3, 2), huber(-1, 2)
    (4, 1/2)
    """
    if isinstance(delta, float):
        if not np.isfinite(delta):
            raise InputError(f"huber: delta must be finite, got {delta!r}")
        delta = sp.Rational(repr(delta))
    delta, r = as_expr(delta, "delta"), as_expr(r, "r")
    if delta.is_positive is False or (delta.is_number and not delta.is_positive):
        raise InputError(f"huber: delta must be positive, got {delta}")
    return sp.Piecewise((r**2 / 2, sp.Abs(r) <= delta), (delta * (sp.Abs(r) - delta / 2), True))


__all__ = [
    "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "logsumexp", "softmax", "log_softmax",
    "mse", "binary_cross_entropy", "cross_entropy", "hinge", "huber",
]
