"""codegen: SymPy expressions in, cached Numba kernels out.

``compile(f, wrt, params=(), data=None, reduce="sum", penalty=None)`` returns a
:class:`CompiledObjective` with ``value``, ``grad``, ``value_and_grad``,
``hess``, ``hess_sparse`` and ``hessp`` (a ``penalty`` in wrt and params is added
once to the summed or averaged data term); objectives on the same variables add up
(``obj_a + obj_b``) and scale (``c * obj``); ``obj.warmup()`` compiles every kernel
now and ``obj.timings`` (a :class:`BuildTimes`) says where the build time went,
Numba's per-kernel compile included; ``compile_vector(F, wrt, params=())``
returns a :class:`CompiledVectorFunction` with ``value``, ``jacobian`` and
``jacobian_sparse``; ``export`` writes the kernels as a standalone module;
``clear_cache`` empties the on-disk cache (``$DERIVE_CACHE_DIR``).

Matrix models: ``wrt``, ``params`` and ``data`` may hold SymPy ``MatrixSymbol`` s of symbolic
sizes; their kernels loop over the sizes (:mod:`codegen.matrix_compiled`), so one compiled module
serves every size and the build does not grow with it.  ``x`` is the concatenation of the wrt
entries, each flattened row-major; a (d, 1) data entry takes an (N, d) array, an (m, n) entry an
(N, m, n) array; params matrices are passed flattened.  Sizes are bound from the arrays at call
time (``obj.n`` is None when they are symbolic; ``obj.n_for(kargs, len(x))`` gives it).

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
import importlib
import importlib.abc
import importlib.util
import sys

import numpy as np  # noqa: F401  (doctest namespace)

from .cache import clear_cache
from .errors import (ArgumentError, CacheDirError, CodegenError, ConstantRangeError,
                     UnknownSymbolError, UnsupportedFunctionError)
from .export import export
from .timings import BuildTimes

# What loads SymPy (the compiler, the SVM kernels) is imported on first use, so that the
# SymPy-free parts (the cache, the errors) serve solvers without loading SymPy:
# ``import solvers`` stays light, and Python-callable objectives never load it.
_LAZY = {"compile": "compiled", "compile_vector": "compiled", "CompiledObjective": "compiled",
         "CompiledVectorFunction": "compiled", "kernels": "svm_kernels"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod = importlib.import_module(f"{__name__}.{module}")
    value = mod if name == "kernels" else getattr(mod, name)
    globals()[name] = value
    return value


class _KernelsAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``codegen.kernels`` is the public name of svm_kernels.py ("kernel" elsewhere in codegen
    means a Numba function): ``import codegen.kernels`` gives that same module object."""

    name = __name__ + ".kernels"

    def find_spec(self, fullname, path=None, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname == self.name else None

    def create_module(self, spec):
        return importlib.import_module(__name__ + ".svm_kernels")

    def exec_module(self, module):
        pass


if not any(isinstance(f, _KernelsAlias) for f in sys.meta_path):
    sys.meta_path.insert(0, _KernelsAlias())

__all__ = ["kernels", "compile", "compile_vector", "export", "clear_cache", "CompiledObjective",
           "CompiledVectorFunction", "BuildTimes", "CodegenError", "UnsupportedFunctionError",
           "UnknownSymbolError", "ArgumentError", "ConstantRangeError", "CacheDirError"]
