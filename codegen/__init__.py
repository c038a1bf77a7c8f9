"""codegen: SymPy expressions in, cached Numba kernels out.

``compile(f, wrt, params=(), data=None, reduce="sum")`` returns a
:class:`CompiledObjective` with ``value``, ``grad``, ``value_and_grad``,
``hess``, ``hess_sparse`` and ``hessp``; ``compile_vector(F, wrt, params=())``
returns a :class:`CompiledVectorFunction` with ``value``, ``jacobian`` and
``jacobian_sparse``; ``export`` writes the kernels as a standalone module;
``clear_cache`` empties the on-disk cache (``$DERIVE_CACHE_DIR``).

The cache holds Python modules and Numba's pickled machine code, so it is trusted
like ``site-packages``: it lives in your own cache directory
(``~/.cache/derive-toolkit`` unless ``$DERIVE_CACHE_DIR`` or ``$XDG_CACHE_HOME``
say otherwise), is created with mode 0700, and a directory that another user owns
or can write is refused (:class:`CacheDirError`).  Never point it at a shared
directory.  Its checksums detect torn or corrupted writes, not tampering.  The
solver loops of :mod:`solvers` are cached in its ``solvers`` subdirectory.

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
import sys

import numpy as np  # noqa: F401  (doctest namespace)

from . import svm_kernels as kernels
from .cache import clear_cache
from .compiled import CompiledObjective, CompiledVectorFunction, compile, compile_vector
from .errors import (ArgumentError, CacheDirError, CodegenError, ConstantRangeError,
                     UnknownSymbolError, UnsupportedFunctionError)
from .export import export

# The SVM kernels live in svm_kernels.py ("kernel" elsewhere in codegen means a Numba
# function); codegen.kernels stays their public name for import and attribute access.
sys.modules[__name__ + ".kernels"] = kernels

__all__ = ["kernels", "compile", "compile_vector", "export", "clear_cache", "CompiledObjective",
           "CompiledVectorFunction", "CodegenError", "UnsupportedFunctionError",
           "UnknownSymbolError", "ArgumentError", "ConstantRangeError", "CacheDirError"]
