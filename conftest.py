"""Suite-wide setup (tests and doctests): one kernel cache shared by every test in the run.

Compiled kernels are keyed by content, so sharing one cache directory across the
session means each distinct objective is compiled by Numba once per run. Tests of
the cache itself use their own temporary directories.
"""
import os
import tempfile

if "DERIVE_CACHE_DIR" not in os.environ:
    os.environ["DERIVE_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "derive-toolkit-test-cache")
