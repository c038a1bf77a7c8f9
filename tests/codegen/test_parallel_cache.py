"""A multi-threaded data kernel loaded from Numba's cache in a fresh process runs.

Regression test of a segmentation fault (``segfault at 0 ip 0``): a data objective's parallel
kernel, e.g. ``value_parallel``, is a plain jit function calling the ``parallel=True`` row sum
``_psum_v``, whose code Numba links into it.  Numba launches its threading layer on a cache load
only when the loaded entry lists the parfor reload hook, and it forgets that hook on a library
it loaded from the cache (numba/numba#8578, #9950): ``value_parallel`` compiled in a process
that had loaded ``_psum_v`` from the cache (compiled before by ``value_partial_parallel``) was
saved without it, and the next process that loaded it called a null pointer.  Three fresh
processes replay that history on one cache directory: the partial sum (compiles ``_psum_v``),
the value (compiles ``value_parallel`` on the cached ``_psum_v``), the value again (loads it).
"""
import os
import subprocess
import sys
import textwrap

import numpy as np

from codegen.rowblocks import PARALLEL_MIN_ROWS

_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import sympy as sp
    import codegen
    w0, w1, a, b = sp.symbols("w0 w1 a b")
    obj = codegen.compile((w0 * a - w1 * b)**2, [w0, w1], data=[[a, b]], order=1)
    X = np.linspace(-1.0, 1.0, 2 * {rows}).reshape({rows}, 2)
    x = np.array([0.5, -1.5])
    if sys.argv[1] == "partial":
        print(repr(obj._data_partial("value", x, None, [X])))
    else:
        print(repr(obj.value(x, X)))
        # what the next process needs to launch Numba's threads: the entry's reload hooks
        cres = next(iter(obj.jit_parallel.value.overloads.values()))
        print(len(cres.reload_init))
    """)


def _run(script, cache, phase):
    env = dict(os.environ, DERIVE_CACHE_DIR=str(cache), DERIVE_QUIET="1")
    proc = subprocess.run([sys.executable, "-c", script, phase], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, (f"phase {phase!r} exited with {proc.returncode} "
                                  f"(-11: segmentation fault)\n{proc.stderr[-3000:]}")
    return proc.stdout.split()


def test_parallel_kernel_loaded_from_cache_in_a_fresh_process(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    rows = PARALLEL_MIN_ROWS  # the smallest data that takes the parallel kernels
    script = _SCRIPT.format(rows=rows)
    X = np.linspace(-1.0, 1.0, 2 * rows).reshape(rows, 2)
    want = float(np.sum((0.5 * X[:, 0] + 1.5 * X[:, 1])**2))
    (partial,) = _run(script, cache, "partial")
    compiled, hooks_compiled = _run(script, cache, "value")
    loaded, hooks_loaded = _run(script, cache, "value")
    assert np.isclose(float(partial), want, rtol=1e-12)
    assert float(loaded) == float(compiled)
    assert np.isclose(float(loaded), want, rtol=1e-12)
    # the entry saved by the second process keeps the hook that launches the threads
    assert int(hooks_compiled) >= 1 and int(hooks_loaded) >= 1
