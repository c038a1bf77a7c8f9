"""codegen: SymPy expressions in, cached Numba kernels out.

``compile(f, wrt, params=(), data=None, reduce="sum")`` returns a
:class:`CompiledObjective` with ``value``, ``grad``, ``value_and_grad``,
``hess``, ``hess_sparse`` and ``hessp``; ``compile_vector(F, wrt, params=())``
returns a :class:`CompiledVectorFunction` with ``value``, ``jacobian`` and
``jacobian_sparse``; ``export`` writes the kernels as a standalone module;
``clear_cache`` empties the on-disk cache (``$DERIVE_CACHE_DIR``).

Raw kernels for other Numba code live in ``obj.jit``: each takes
``(x, *kargs)`` (``hessp`` takes ``(x, v, *kargs)``) with
``kargs = obj.pack_args(*args, rows=None)``, i.e. ``(p,)`` without data and
``(p, rows, d0, d1, ...)`` with data (``p`` float64 params, possibly empty;
``rows`` int64 row indices; ``d_k`` float64 arrays of N rows).

>>> import sympy as sp, codegen
>>> a, b = sp.symbols("a b")
>>> obj = codegen.compile(sp.exp(a) * b**2, [a, b])
>>> obj.grad([0.0, 3.0]).tolist()
[9.0, 6.0]
>>> obj.jit.value_and_grad(np.array([0.0, 3.0]), *obj.pack_args())[0]
9.0
"""
import numpy as np  # noqa: F401  (doctest namespace)

from . import kernels
from .cache import clear_cache
from .errors import ArgumentError, CodegenError, UnknownSymbolError, UnsupportedFunctionError
from .export import export
from .objective import CompiledObjective, CompiledVectorFunction, compile, compile_vector

__all__ = ["kernels", "compile", "compile_vector", "export", "clear_cache", "CompiledObjective",
           "CompiledVectorFunction", "CodegenError", "UnsupportedFunctionError",
           "UnknownSymbolError", "ArgumentError"]
