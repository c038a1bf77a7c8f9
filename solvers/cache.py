"""Keep Numba's on-disk cache of the solver loops consistent with their sources.

Numba keys a cached function on its own file only: a loop compiled with an older
``linesearch.py`` inlined would still be loaded after the line search changed. This module
stamps each cache directory Numba may use for this package with a hash of every solver source
and clears the solver entries when the hash differs (runs once, on import, before any solver
module is loaded).

It never raises: a read-only install, a missing source or a concurrent import only mean the
cache is left as it is. Only entries older than the moment the stale stamp was read are deleted,
so a process importing at the same time never loses the fresh entries another one has just
written (Numba writes each entry to a temporary name and renames it, so none is seen half-written).
"""
import glob
import hashlib
import os
import time
import uuid

__all__ = ["refresh"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_MODULES = ("bfgs", "gradient", "lbfgs", "linesearch", "newton", "objective", "schedules",
            "termination", "trust_region")
_STAMP = "numba-sources.sha256"
# File-system timestamps can be coarser than the clock: keep anything this close to "now".
_MTIME_SLACK = 2.0


def _digest():
    h = hashlib.sha256()
    for name in _MODULES:
        with open(os.path.join(_HERE, name + ".py"), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def _cache_dirs():
    """The directories Numba may cache this package's functions in: ``__pycache__`` next to the
    sources, or, when that is not writable or ``NUMBA_CACHE_DIR`` is set, Numba's own."""
    dirs = [os.path.join(_HERE, "__pycache__")]
    try:
        from numba.core import config
        from numba.core.caching import _CacheLocator
        from numba.misc.appdirs import AppDirs

        sub = _CacheLocator.get_suitable_cache_subpath(os.path.join(_HERE, "bfgs.py"))
        if config.CACHE_DIR:
            dirs.append(os.path.join(config.CACHE_DIR, sub))
        dirs.append(os.path.join(AppDirs(appname="numba", appauthor=False).user_cache_dir, sub))
    except Exception:  # a Numba without these internals: the in-tree cache is still handled
        pass
    return dirs


def _refresh_dir(cache, digest, create):
    """Clear stale solver entries in ``cache``; True when something was cleared."""
    stamp = os.path.join(cache, _STAMP)
    t0 = time.time()  # before reading the stamp: entries written after it are fresh
    try:
        with open(stamp) as fh:
            if fh.read().strip() == digest:
                return False
    except OSError:
        pass
    if not os.path.isdir(cache):
        if not create:
            return False
        try:
            os.makedirs(cache, exist_ok=True)
        except OSError:
            return False
    cleared = False
    complete = True
    for name in _MODULES:
        for path in glob.glob(os.path.join(cache, name + ".*.nb[ic]")):
            try:
                if os.stat(path).st_mtime >= t0 - _MTIME_SLACK:
                    continue  # written by a process that already saw the new sources
                os.remove(path)
                cleared = True
            except FileNotFoundError:  # another process cleared it first
                pass
            except OSError:  # read-only: Numba will not use this directory anyway
                complete = False
    if complete:
        tmp = f"{stamp}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "w") as fh:
                fh.write(digest)
            os.replace(tmp, stamp)
        except OSError:
            try:
                os.remove(tmp)
            except OSError:
                pass
    return cleared


def refresh(dirs=None):
    """Delete stale cached solver loops; returns True when something was cleared.

    dirs: the cache directories to check (default: every one Numba may use for this package).
    """
    try:
        digest = _digest()
    except OSError:  # sources not readable (e.g. a sourceless install): nothing to compare
        return False
    cleared = False
    for i, cache in enumerate(_cache_dirs() if dirs is None else dirs):
        try:
            cleared |= _refresh_dir(cache, digest, create=(dirs is None and i == 0))
        except Exception:  # never let cache housekeeping break the import
            pass
    return cleared


refresh()
