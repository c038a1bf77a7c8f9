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


class sigmoid(Function):
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

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True


class softplus(Function):
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

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True


class relu(Function):
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

    def _eval_is_real(self):
        return self.args[0].is_real


class logsumexp(Function):
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
            raise TypeError("logsumexp needs at least one argument")
        if len(args) == 1:
            return args[0]

    def fdiff(self, argindex=1):
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sp.log(sp.Add(*[sp.exp(a) for a in args]))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        if all(a.is_real for a in self.args):
            return True
