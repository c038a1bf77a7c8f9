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
import tempfile

import numpy as np  # noqa: F401  (used by the doctest)

from .errors import ArgumentError

__all__ = ["export"]


def export(compiled, path):
    """Write ``compiled.source`` to ``path`` (atomically); the module imports only numpy/numba.

    Its kernels take the same arguments as ``compiled.jit``: ``value(x, p)``
    (``p`` the params array, empty when there are none), and for data sums
    ``value(x, p, rows, d0, d1, ...)``.
    """
    src = compiled.source.replace(
        "Do not edit: the file is a cache entry and is checksummed.",
        "Exported with codegen.export: needs only numpy and numba.", 1)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ArgumentError(f"export path {path!r} is a directory; give a file name such as "
                            f"{os.path.join(path, 'kernels.py')!r}")
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".py", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(src)
        os.replace(tmp, path)
    except BaseException:
        # Nothing half-written is left: the temporary file goes, the target is untouched.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
