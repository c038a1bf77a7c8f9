"""Where Numba caches the solver loops, and keeping that cache consistent with their sources.

Location: the compiled loops of this package are cached in the ``solvers`` subdirectory of
codegen's kernel cache (``$DERIVE_CACHE_DIR``, else ``~/.cache/derive-toolkit``), not in the
package's ``__pycache__``: a per-user directory created with mode 0700 and refused when another
user owns or can write it (Numba's cache files are pickles, so whoever can write them can run
code; see :mod:`codegen.cache`). A Numba cache locator placed first in Numba's list sends the
functions defined in this package there. When that directory cannot be used, a warning says so
and Numba's own locations are used as before.

Consistency: Numba keys a cached function on its own file only: a loop compiled with an older
``linesearch.py`` inlined would still be loaded after the line search changed. This module
stamps each cache directory Numba may use for this package with a hash of every source file of
the package and clears the solver entries when the hash differs (runs once, on import, before
any solver module is loaded). The stamp is written when the directory is created, so a second
process finds it and keeps the first one's entries. Index and data files that cannot be
loaded (garbage) are deleted at the same time, and Numba compiles those loops afresh.

Housekeeping never raises: a read-only install, a missing source or a concurrent import only
mean the cache is left as it is. Only entries older than the moment the stale stamp was read are
deleted, so a process importing at the same time never loses the fresh entries another one has
just written (Numba writes each entry to a temporary name and renames it, so none is seen
half-written).
"""
import glob
import hashlib
import os
import pickle
import time
import warnings

__all__ = ["refresh", "loop_cache_dir"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_STAMP = "numba-sources.sha256"
_SUBDIR = "solvers"
# File-system timestamps can be coarser than the clock: keep anything this close to "now".
_MTIME_SLACK = 2.0
_loop_dir = {}  # codegen cache dir -> the loops' directory (None: unusable), once per process


def _sources():
    """Every source file of the package: any of them may be compiled into a loop."""
    return sorted(glob.glob(os.path.join(glob.escape(_HERE), "*.py")))


def _modules():
    return [os.path.splitext(os.path.basename(p))[0] for p in _sources()]


def _digest():
    h = hashlib.sha256()
    for path in _sources():
        h.update(os.path.basename(path).encode())
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def loop_cache_dir():
    """The directory the solver loops are cached in (created, mode 0700), or None when the
    kernel cache directory cannot be used (a warning says why)."""
    from codegen import cache as kcache
    from codegen.errors import CacheDirError

    key = str(kcache.cache_dir())
    if key not in _loop_dir:
        try:
            d = os.path.join(kcache.checked_cache_dir(), _SUBDIR)
            os.makedirs(d, mode=0o700, exist_ok=True)
            kcache._check_private(d, "solver loop cache directory")
            _loop_dir[key] = d
        except (CacheDirError, OSError) as exc:
            warnings.warn(f"solver loops are cached where Numba puts them by default: {exc}",
                          RuntimeWarning, stacklevel=2)
            _loop_dir[key] = None
    return _loop_dir[key]


def _install_locator():
    """Put a locator for this package's functions first in Numba's list; True on success."""
    from numba.core import caching

    base = getattr(caching, "_CacheLocator", None)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    mixin = getattr(caching, "_SourceFileBackedLocatorMixin", None)
    if base is None or impl is None or mixin is None:
        return False
    if any(getattr(c, "_derive_solvers", False) for c in impl._locator_classes):
        return True

    class SolverLoopLocator(mixin, base):
        """Numba cache locator of the functions defined in the solvers package."""

        _derive_solvers = True

        def __init__(self, py_func, py_file, cache_path):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = cache_path

        def get_cache_path(self):
            return self._cache_path

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _HERE:
                return None
            d = loop_cache_dir()
            if d is None:
                return None
            self = cls(py_func, py_file, d)
            try:
                self.ensure_cache_path()  # as Numba's own locators: unwritable -> the next one
            except OSError:
                return None
            return self

    impl._locator_classes.insert(0, SolverLoopLocator)
    return True


def _legacy_dirs():
    """Where Numba put this package's loops before (``__pycache__`` next to the sources,
    ``NUMBA_CACHE_DIR``, Numba's user-wide directory): still used when the locator is not."""
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


def _cache_dirs():
    """Every directory Numba may cache this package's functions in; the one in use first."""
    d = None
    try:
        if _install_locator():
            d = loop_cache_dir()
    except Exception:  # never let cache housekeeping break the import
        d = None
    return ([d] if d else []) + _legacy_dirs()


def _entries(cache, own):
    """This package's Numba files in ``cache`` (``own``: the directory holds nothing else)."""
    if own:
        return glob.glob(os.path.join(glob.escape(cache), "*.nb[ic]"))
    out = []
    for name in _modules():
        out += glob.glob(os.path.join(glob.escape(cache), glob.escape(name) + ".*.nb[ic]"))
    return out


def _loadable(path):
    """False for a Numba index (.nbi) or data (.nbc) file that Numba could not unpickle.

    An index is read in full as Numba reads it (it is small); a data file only has its pickle
    frame checked (protocol header, STOP opcode at the end): reading every loop's machine
    code at each import would cost more than the repair is worth.
    """
    try:
        with open(path, "rb") as fh:
            if path.endswith(".nbi"):
                pickle.load(fh)  # Numba's version string
                stamp_overloads = pickle.loads(fh.read())
                return isinstance(stamp_overloads, tuple) and len(stamp_overloads) == 2
            head = fh.read(2)
            fh.seek(-1, os.SEEK_END)
            return head[:1] == b"\x80" and fh.read(1) == b"."
    except FileNotFoundError:
        return True  # removed by a concurrent process: nothing to repair
    except Exception:
        return False


def _remove_garbage(cache, own):
    for path in _entries(cache, own):
        if not _loadable(path):
            stem = path[:-len(".nbi")] if path.endswith(".nbi") else path.rsplit(".", 2)[0]
            # the index and every data file of that function
            for p in glob.glob(glob.escape(stem) + ".nbi") + glob.glob(glob.escape(stem) + ".*.nbc"):
                try:
                    os.remove(p)
                except OSError:
                    pass


def _write_stamp(stamp, digest):
    from codegen.cache import write_atomic  # the one atomic write (no temporary file is left)

    try:
        write_atomic(stamp, digest)
    except OSError:  # read-only: the stamp stays as it was
        pass


def _refresh_dir(cache, digest, create, own=False):
    """Clear stale solver entries in ``cache``; True when something was cleared.

    create: make the directory (and stamp it) when it does not exist yet, so that the entries
    a first process writes there are not taken for stale by the next one.
    """
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
            os.makedirs(cache, mode=0o700, exist_ok=True)
        except OSError:
            return False
    cleared = False
    complete = True
    for path in _entries(cache, own):
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
        _write_stamp(stamp, digest)
    return cleared


def refresh(dirs=None):
    """Delete stale or unloadable cached solver loops; returns True when a stale one was cleared.

    dirs: the cache directories to check (default: every one Numba may use for this package;
    the one in use is created and stamped when missing).
    """
    try:
        digest = _digest()
    except OSError:  # sources not readable (e.g. a sourceless install): nothing to compare
        return False
    cleared = False
    all_dirs = _cache_dirs() if dirs is None else dirs
    for i, cache in enumerate(all_dirs):
        try:
            first = dirs is None and i == 0
            own = first and os.path.basename(cache) == _SUBDIR
            cleared |= _refresh_dir(cache, digest, create=first, own=own)
            if first:
                _remove_garbage(cache, own)
        except Exception:  # never let cache housekeeping break the import
            pass
    return cleared


refresh()
