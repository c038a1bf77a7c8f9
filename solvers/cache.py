"""Keep Numba's on-disk cache of the solver loops consistent with their sources.

Numba keys a cached function on its own file only: a loop compiled with an older
``linesearch.py`` inlined would still be loaded after the line search changed. This module
stamps the cache with a hash of every solver source and clears the solver entries when the
hash differs (runs once, on import, before any solver module is loaded).
"""
import glob
import hashlib
import os

__all__ = ["refresh"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_MODULES = ("bfgs", "gradient", "lbfgs", "linesearch", "newton", "objective", "schedules",
            "termination", "trust_region")


def _digest():
    h = hashlib.sha256()
    for name in _MODULES:
        with open(os.path.join(_HERE, name + ".py"), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def refresh():
    """Delete stale cached solver loops; returns True when something was cleared."""
    cache = os.path.join(_HERE, "__pycache__")
    stamp = os.path.join(cache, "numba-sources.sha256")
    try:
        digest = _digest()
        with open(stamp) as fh:
            if fh.read().strip() == digest:
                return False
    except OSError:
        pass
    try:
        for name in _MODULES:
            for path in glob.glob(os.path.join(cache, name + ".*.nb[ic]")):
                os.remove(path)
        os.makedirs(cache, exist_ok=True)
        tmp = f"{stamp}.{os.getpid()}"
        with open(tmp, "w") as fh:
            fh.write(digest)
        os.replace(tmp, stamp)
    except OSError:  # read-only install or a concurrent refresh: Numba still works, uncached
        pass
    return True


refresh()
