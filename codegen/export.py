"""Write a compiled objective's kernels as a standalone module (NumPy + Numba only).

>>> import sympy as sp, tempfile, os, importlib.util
>>> from codegen import compile
>>> a = sp.Symbol("a")
>>> path = os.path.join(tempfile.mkdtemp(), "square.py")
>>> export(compile(a**2, [a]), path)
>>> spec = importlib.util.spec_from_file_location("square", path)
>>> mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
>>> float(mod.grad(np.array([3.0]), np.zeros(0))[0])
6.0
"""
import os

import numpy as np  # noqa: F401  (used by the doctest)

from .cache import write_atomic
from .errors import ArgumentError
from .interface import exported

__all__ = ["export"]


def export(compiled, path):
    """Write ``compiled.source`` to ``path`` (atomically); the module imports only numpy/numba.

    Its kernels take the same arguments as ``compiled.jit``: ``value(x, p)``
    (``p`` the params array, empty when there are none), and for data sums
    ``value(x, p, rows, d0, d1, ...)``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ArgumentError(f"export path {path!r} is a directory; give a file name such as "
                            f"{os.path.join(path, 'kernels.py')!r}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Nothing half-written is left on error: the temporary file goes, the target is untouched.
    write_atomic(os.path.abspath(path), exported(compiled.source), mode=0o666 & ~_umask())


def _umask():
    # os.umask can only be read by setting it: set it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
