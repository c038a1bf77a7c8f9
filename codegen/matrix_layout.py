"""Where the entries of a matrix model live in the kernels' arrays, and how sizes are bound.

``x`` is the concatenation of the wrt entries, each flattened row-major; ``p`` likewise for the
params; a data item is one array per data row: a scalar Symbol an (N,) array, a MatrixSymbol of
shape (d, 1) an (N, d) array, of shape (m, n) an (N, m, n) array, a sequence of Symbols an
(N, k) array.  Each size symbol is bound from the first data array dimension that is that
symbol, else solved from ``len(p)`` or ``len(x)`` when exactly one unknown size is left there
(linear in it); a size none of these determines is a :class:`CodegenError` naming it.

>>> import sympy as sp
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
>>> lay = Layout([w], [sp.Symbol("lam")], [x, sp.Symbol("y")])
>>> lay.bind(np.zeros(1), [np.zeros((5, 3)), np.zeros(5)])
{d: 3}
>>> lay.n_of({d: 3})
3
"""
import numpy as np
import sympy as sp

from .errors import ArgumentError, CodegenError

__all__ = ["Layout", "shape_of", "is_matrix"]


def is_matrix(s):
    return isinstance(s, sp.MatrixSymbol)


def shape_of(s):
    """(rows, cols) of a MatrixSymbol, (1, 1) of a Symbol."""
    return tuple(sp.sympify(a) for a in s.shape) if is_matrix(s) else (sp.S.One, sp.S.One)


def _size(s):
    r, c = shape_of(s)
    return r * c


def _check_dim(dim, what):
    dim = sp.sympify(dim)
    for s in dim.free_symbols:
        if not (s.is_integer and s.is_Symbol):
            raise CodegenError(f"the size {s} of {what} must be an integer Symbol "
                               f"(sp.Symbol({str(s)!r}, integer=True, positive=True))")
    if dim.is_Integer and dim < 1:
        raise CodegenError(f"{what} has a dimension {dim} < 1")


class Layout:
    """Array layout of the declared ``wrt``, ``params`` and ``data`` (items: a Symbol, a
    MatrixSymbol, or a tuple of Symbols)."""

    def __init__(self, wrt, params, data):
        self.wrt, self.params = tuple(wrt), tuple(params)
        self.data = tuple(tuple(d) if isinstance(d, (tuple, list)) else d for d in data)
        for s in self.wrt + self.params + tuple(d for d in self.data if is_matrix(d)):
            for dim in s.shape if is_matrix(s) else ():
                _check_dim(dim, f"{s}")
        self.x_offsets, self.n_expr = self._offsets(self.wrt)
        self.p_offsets, self.p_expr = self._offsets(self.params)
        sizes = set()
        for s in self.wrt + self.params + tuple(d for d in self.data if is_matrix(d)):
            for dim in shape_of(s):
                sizes |= dim.free_symbols
        self.sizes = tuple(sorted(sizes, key=str))
        self.source = self._sources()

    @staticmethod
    def _offsets(items):
        offs, total = [], sp.S.Zero
        for s in items:
            offs.append(total)
            total = total + _size(s)
        return tuple(offs), total

    def ndim(self, k):
        """Dimensions of data array k."""
        d = self.data[k]
        if isinstance(d, tuple):
            return 2
        if not is_matrix(d):
            return 1
        return 2 if shape_of(d)[1] == 1 else 3

    def data_dims(self, k):
        """The expected shape of data array k after its row axis (sympy expressions)."""
        d = self.data[k]
        if isinstance(d, tuple):
            return (sp.Integer(len(d)),)
        if not is_matrix(d):
            return ()
        r, c = shape_of(d)
        return (r,) if c == 1 else (r, c)

    def _sources(self):
        src = {}
        for k in range(len(self.data)):
            for axis, dim in enumerate(self.data_dims(k), start=1):
                if dim.is_Symbol and dim not in src:
                    src[dim] = ("data", k, axis)
        self.order = [s for s in self.sizes if s in src]  # binding order in the kernels
        nonlinear = {}
        progress = True
        while progress:
            progress = False
            for which, total in (("p", self.p_expr), ("x", self.n_expr)):
                left = [s for s in total.free_symbols if s not in src]
                if len(left) != 1:
                    continue
                s = left[0]
                poly = sp.Poly(total, s)
                if poly.degree() != 1:
                    nonlinear[s] = (which, total)
                    continue
                a, b = poly.all_coeffs()
                src[s] = (which, a, b)
                self.order.append(s)
                progress = True
        for s, (which, total) in nonlinear.items():
            if s not in src:
                raise CodegenError(
                    f"the size {s} can only be inferred from len({which}), where it "
                    f"appears non-linearly ({total}); add a data array or a params entry of "
                    f"size {s}")
        missing = [s for s in self.sizes if s not in src]
        if missing:
            raise CodegenError(
                f"the size {missing[0]} cannot be inferred from the arguments: no data array has "
                f"a dimension {missing[0]}, and len(params) or len(x) leave more than one size "
                f"unknown ({', '.join(map(str, missing))}); give it a concrete value or add a data "
                "array of that size")
        return src

    # -- Python side: bind and check, naming what is wrong -------------------------------------

    def bind(self, p, arrays, nx=None):
        """Sizes from the params array ``p``, the data ``arrays`` and the length ``nx`` of x
        (None: not known yet); raises :class:`ArgumentError` naming a size that disagrees.
        Memoised on the shapes (the binding depends on nothing else)."""
        key = (None if p is None else p.shape[0], tuple(a.shape for a in arrays), nx)
        memo = self.__dict__.setdefault("_memo", {})
        got = memo.get(key)
        if got is None:
            got = self._bind(p, arrays, nx)
            if len(memo) > 64:
                memo.clear()
            memo[key] = got
        return dict(got)

    def _bind(self, p, arrays, nx):
        vals = {}
        for s in self.sizes:
            src = self.source[s]
            if src[0] == "data":
                vals[s] = arrays[src[1]].shape[src[2]]
        lengths = {"p": None if p is None else p.shape[0], "x": nx}
        for s in self.order:
            src = self.source[s]
            if src[0] != "data":
                which, length, total = src[0], lengths[src[0]], \
                    self.p_expr if src[0] == "p" else self.n_expr
                if length is None or not (src[1].free_symbols | src[2].free_symbols) <= set(vals):
                    continue
                a, b = (int(e.xreplace(vals)) for e in src[1:])
                q, r = divmod(length - b, a)
                if r or q < 1:
                    raise ArgumentError(
                        f"len({'params' if which == 'p' else 'x'}) = {length} does not fit the "
                        f"sizes: it must be {total} with {s} a positive integer"
                        + "".join(f", {t} = {v}" for t, v in vals.items()))
                vals[s] = q
        self._check(vals, p, arrays, nx)
        return vals

    def _check(self, vals, p, arrays, nx):
        def shown():
            return ", ".join(f"{s} = {v}" for s, v in vals.items())
        for k, a in enumerate(arrays):
            for axis, dim in enumerate(self.data_dims(k), start=1):
                if not dim.free_symbols <= set(vals):
                    continue
                want = int(dim.xreplace(vals))
                if a.shape[axis] != want:
                    name = dim if dim.is_Symbol else f"{dim} = {want}"
                    raise ArgumentError(
                        f"data[{k}] ({ascii(str(self._dname(k)))}) has shape {a.shape}: axis "
                        f"{axis} must be the size {name}, which is {want} from the other "
                        f"arrays ({shown()})")
        for which, length, total in (("params", None if p is None else p.shape[0], self.p_expr),
                                     ("x", nx, self.n_expr)):
            if length is None or not total.free_symbols <= set(vals):
                continue
            want = int(total.xreplace(vals))
            if length != want:
                raise ArgumentError(f"{which} has length {length}, but the sizes ({shown()}) "
                                    f"make it {total} = {want}")

    def _dname(self, k):
        d = self.data[k]
        return ", ".join(map(str, d)) if isinstance(d, tuple) else str(d)

    def n_of(self, vals):
        """The number of variables at the sizes ``vals``, None when one is not bound."""
        if not self.n_expr.free_symbols <= set(vals):
            return None
        return int(self.n_expr.xreplace(vals))

    def expected(self):
        """The trailing arguments in words, for messages."""
        parts = [f"params (length {self.p_expr})"] if self.params else []
        for k in range(len(self.data)):
            dims = ", ".join(["N"] + [str(d) for d in self.data_dims(k)])
            parts.append(f"data[{k}] (shape ({dims}{',' if self.ndim(k) == 1 else ''}))")
        return ", ".join(parts) or "nothing"

    # -- kernel side: the lines binding the sizes (safety checks, generic messages) ---------

    def size_names(self):
        return {s: f"s{i}" for i, s in enumerate(self.sizes)}

    def kernel_lines(self, printer, data=True, v=False, nrows_check=True):
        """Source lines (indent 4) binding ``s0, s1, ...`` and the offsets ``_xo*``, ``_po*``
        from the arguments, raising ValueError when they disagree (a wrong call of a raw jit
        kernel must not read out of bounds)."""
        pr = printer.doprint
        L, checks = [], []
        names = self.size_names()
        for s in self.order:
            src = self.source[s]
            if src[0] == "data":
                L.append(f"    {names[s]} = d{src[1]}.shape[{src[2]}]")
            else:
                arr = "p" if src[0] == "p" else "x"
                L.append(f"    {names[s]} = ({arr}.shape[0] - ({pr(src[2])})) // ({pr(src[1])})")
                checks.append(f"{names[s]} < 1")
        if data:
            for k in range(len(self.data)):
                if k and nrows_check:
                    checks.append(f"d{k}.shape[0] != d0.shape[0]")
                for axis, dim in enumerate(self.data_dims(k), start=1):
                    checks.append(f"d{k}.shape[{axis}] != {pr(dim)}")
        checks.append(f"p.shape[0] != {pr(self.p_expr)}")
        checks.append(f"x.shape[0] != {pr(self.n_expr)}")
        if v:
            checks.append(f"v.shape[0] != {pr(self.n_expr)}")
        L.append("    if " + " or ".join(f"({c})" for c in checks) + ":")
        L.append("        raise ValueError('the argument shapes do not agree with the sizes of "
                 "the model; call the objective methods for a message naming the size')")
        L += [f"    _xo{k} = {pr(o)}" for k, o in enumerate(self.x_offsets)]
        L += [f"    _po{k} = {pr(o)}" for k, o in enumerate(self.p_offsets)]
        L.append(f"    _n = {pr(self.n_expr)}")
        return L
