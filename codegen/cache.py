"""On-disk cache of generated kernel modules.

Each entry is a real ``.py`` file in :func:`cache_dir` whose name carries a
content key, so Numba's ``cache=True`` can store machine code next to it (in its
``__pycache__``) and a second process loads that instead of compiling.  The key
hashes the input with :func:`fingerprint`: the library versions and every source
file of the ``derive`` and ``codegen`` packages, so editing or upgrading any of
them never loads a stale kernel.

Trust: the directory is trusted like ``site-packages``.  Its entries are Python
modules that are imported and Numba's index and data files are pickles, so
whoever can write the directory can run code in every process that uses it.
It therefore defaults to the user's own cache directory
(``$XDG_CACHE_HOME/derive-toolkit``, else ``~/.cache/derive-toolkit``), is
created with mode 0700, and a directory owned by another user or writable by
group or others is refused with :class:`~codegen.errors.CacheDirError` (so is
one that is not a directory or cannot be written).  The SHA-256 line at the top
of each entry detects a torn or corrupted write (the entry is rebuilt); it is
not a tamper check and cannot be one: anyone able to edit an entry can rewrite
its checksum too.

Files are written to a temporary name and moved into place with
``os.replace``, so concurrent writers of the same entry both succeed.  A Numba
index or data file that cannot be loaded (garbage, another Numba's format) is
deleted and the kernel compiled afresh.

>>> mod = load_module("def f(a):\\n    return 2 * a\\n", "doc_example")
>>> mod.f(21)
42
"""
import contextlib
import glob
import hashlib
import importlib.util
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
from pathlib import Path

from .errors import CacheDirError

__all__ = ["cache_dir", "load_module", "lookup", "store", "clear_cache", "fingerprint",
           "key_for", "checked_cache_dir", "write_atomic"]

_HEADER = "# derive-toolkit kernel module; sha256="
_loaded = {}  # (directory, key) -> module, so one process imports each entry once
_lock = threading.Lock()
_fingerprint = None
_PACKAGES = ("derive", "codegen")  # every source the generated code can depend on
_WHAT_TO_DO = ("set DERIVE_CACHE_DIR to a directory that only you can write "
               "(it is created with mode 0700 when missing)")


def cache_dir():
    """The cache directory: ``$DERIVE_CACHE_DIR``, else ``$XDG_CACHE_HOME`` or ``~/.cache``
    followed by ``derive-toolkit``.  Read at each call, so tests may change it."""
    d = os.environ.get("DERIVE_CACHE_DIR")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "derive-toolkit")
    return Path(d)


def _check_private(path, what="kernel cache directory"):
    """Raise CacheDirError unless ``path`` (existing) is a directory of ours that only we can
    write."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CacheDirError(f"cannot use the {what} {str(path)!r} ({exc.strerror}); "
                            f"{_WHAT_TO_DO}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise CacheDirError(f"the {what} {str(path)!r} is not a directory; {_WHAT_TO_DO}")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise CacheDirError(
            f"the {what} {str(path)!r} is owned by another user (uid {st.st_uid}); its files "
            f"are imported as code, so it must be yours: {_WHAT_TO_DO}")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheDirError(
            f"the {what} {str(path)!r} is writable by other users (mode "
            f"{stat.S_IMODE(st.st_mode):o}); its files are imported as code, so only you may "
            f"write it: run chmod 700 on it, or {_WHAT_TO_DO}")


def checked_cache_dir(create=True):
    """:func:`cache_dir`, created (mode 0700) when missing and ``create``, after checking that it
    is a directory owned by this user and writable by no one else; None when it does not exist
    and not ``create``.  Raises :class:`~codegen.errors.CacheDirError` otherwise."""
    d = cache_dir()
    if not os.path.lexists(d):
        if not create:
            return None
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise CacheDirError(f"cannot create the kernel cache directory {str(d)!r} "
                                f"({exc.strerror}); {_WHAT_TO_DO}") from None
    _check_private(d)
    pyc = d / "__pycache__"  # Numba's index and data files (pickles)
    if os.path.lexists(pyc):
        _check_private(pyc, "Numba cache directory")
    return d


def _sources():
    """The source files fingerprinted: every ``.py`` file of the derive and codegen packages."""
    out = []
    for name in _PACKAGES:
        spec = importlib.util.find_spec(name)
        for loc in (spec.submodule_search_locations or []) if spec else []:
            out.extend(sorted(Path(loc).glob("*.py")))
    return out


def fingerprint():
    """Hash of the library versions and of every source file of ``derive`` and ``codegen``.

    Part of every cache key, so upgrading SymPy/Numba/NumPy or editing any module the
    generated code depends on (codegen's generator, derive.ml's derivative rules ...)
    invalidates old entries instead of loading stale kernels.  Computed once per process
    (~25 small files: about a millisecond).
    """
    global _fingerprint
    if _fingerprint is None:
        import numba
        import numpy
        import sympy
        h = hashlib.sha256()
        h.update(f"{sys.version_info[:2]}|{sympy.__version__}|{numba.__version__}|"
                 f"{numpy.__version__}".encode())
        for p in _sources():
            h.update(f"{p.parent.name}/{p.name}".encode())
            h.update(p.read_bytes())
        _fingerprint = h.hexdigest()
    return _fingerprint


def key_for(*parts):
    """Cache key (hex) of the given text parts plus :func:`fingerprint`."""
    h = hashlib.sha256(fingerprint().encode())
    for part in parts:
        h.update(b"\x00")
        h.update(part if isinstance(part, bytes) else str(part).encode())
    return h.hexdigest()[:32]


def _safe_hint(name_hint):
    hint = re.sub(r"[^A-Za-z0-9_]", "_", str(name_hint))[:40] or "kernels"
    return hint if not hint[0].isdigit() else "m_" + hint


def _path(directory, key, name_hint):
    return directory / f"{_safe_hint(name_hint)}_{key}.py"


def _checksum(body):
    return hashlib.sha256(body.encode()).hexdigest()


def _valid(path):
    """True when the file exists and its checksum line matches its body (a torn or corrupted
    write fails this; a deliberate edit need not)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    first, sep, body = text.partition("\n")
    return bool(sep) and first.startswith(_HEADER) and first[len(_HEADER):] == _checksum(body)


def _check_entry(path):
    """Refuse an entry that someone else could have written (the directory is ours)."""
    st = os.stat(path)
    if (hasattr(os, "geteuid") and st.st_uid != os.geteuid()) or \
            st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheDirError(f"the kernel cache entry {str(path)!r} is owned by another user or "
                            "writable by other users; delete it (codegen.clear_cache()) or "
                            f"{_WHAT_TO_DO}")


def write_atomic(path, text, mode=None):
    """Write ``text`` to ``path`` through a temporary file in its directory and ``os.replace``.

    Readers see the old file or the new one, never a part; on any error the temporary file
    is removed, the target is untouched and the error propagates. The file keeps the
    temporary file's mode 0600 unless ``mode`` is given (a user's export: 0666 less the umask).

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> write_atomic(os.path.join(d, "k.py"), "A = 1"); os.listdir(d)
    ['k.py']
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write(path, source):
    try:
        write_atomic(path, f"{_HEADER}{_checksum(source)}\n{source}")
    except OSError as exc:
        raise CacheDirError(f"cannot write the kernel cache directory {str(path.parent)!r} "
                            f"({exc.strerror}); {_WHAT_TO_DO}") from None


_repairing = None


def _repairing_cache_class():
    """A Numba FunctionCache that deletes an entry it cannot load and lets Numba recompile,
    and keeps the reload hooks of an entry it loads (:func:`_keep_reload_init`).

    Numba writes its files atomically, so a load failure means garbage (a damaged disk, a file
    from elsewhere): without this every later process fails until the cache is cleared.
    """
    global _repairing
    if _repairing is None:
        from numba.core.caching import FunctionCache

        class RepairingCache(FunctionCache):
            def _drop_entries(self):
                cf = self._cache_file
                base = glob.escape(cf._index_name[:-len(".nbi")])
                for p in glob.glob(os.path.join(glob.escape(cf._cache_path), base + ".*.nbc")) \
                        + [cf._index_path]:
                    try:
                        os.unlink(p)
                    except OSError:
                        pass

            def load_overload(self, sig, target_context):
                try:
                    cres = super().load_overload(sig, target_context)
                except Exception:
                    self._drop_entries()
                    return None  # Numba compiles, then saves a fresh entry
                if cres is not None and cres.reload_init:
                    _keep_reload_init(cres)
                return cres

            def save_overload(self, sig, data):
                try:
                    super().save_overload(sig, data)
                except Exception:  # an unreadable index left behind: drop it and retry once
                    self._drop_entries()
                    try:
                        super().save_overload(sig, data)
                    except Exception:
                        pass  # not cached; the compiled kernel is still used

        _repairing = RepairingCache
    return _repairing


def _keep_reload_init(cres):
    """Give the code library of an overload loaded from the cache its reload hooks again.

    Numba runs a cached entry's hooks when it loads it (for a ``parallel=True`` function: launch
    the threading layer) but leaves the unpickled library without them, and a function compiled
    later that calls this one links that library and inherits its hooks from it: so a data
    kernel compiled in a process that had loaded its parallel row sum from the cache was saved
    without the hook, and the next process that loaded it called the never-launched threading
    layer through a null pointer (a segmentation fault; numba/numba#8578 and #9950).
    """
    lib = getattr(cres, "library", None)
    hooks = getattr(lib, "_reload_init", None)
    if isinstance(hooks, set):  # else Numba's private attribute changed: nothing to restore
        hooks.update(cres.reload_init)


def _repair_on_load(mod):
    """Give every cached Numba dispatcher of ``mod`` the repairing cache."""
    try:
        from numba.core.caching import FunctionCache
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - a module generated with jit=False needs no Numba
        return
    cls = None
    for v in vars(mod).values():
        if isinstance(v, Dispatcher) and type(getattr(v, "_cache", None)) is FunctionCache:
            cls = cls or _repairing_cache_class()
            v._cache.__class__ = cls  # same state, repairing methods


def _import(path, key):
    modname = f"_derive_kernels_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    mod.__cache_key__ = key
    if getattr(mod, "_JIT", True):
        _repair_on_load(mod)
    return mod


def lookup(key, name_hint="kernels"):
    """The cached module of ``key``, or None if absent or corrupt (a corrupt file is removed).

    Raises :class:`~codegen.errors.CacheDirError` when the directory is not safe to import
    from (see the module docstring)."""
    memo = (str(cache_dir()), key)
    with _lock:
        if memo in _loaded:
            return _loaded[memo]
        d = checked_cache_dir(create=False)
        if d is None:
            return None
        path = _path(d, key, name_hint)
        if not path.exists():
            return None
        if not _valid(path):
            try:
                path.unlink()
            except OSError:
                pass
            return None
        _check_entry(path)
        mod = _import(path, key)
        _loaded[memo] = mod
        return mod


def store(key, source, name_hint="kernels"):
    """Write ``source`` as the entry of ``key`` (atomically) and import it."""
    memo = (str(cache_dir()), key)
    with _lock:
        path = _path(checked_cache_dir(), key, name_hint)
        if not _valid(path):
            _write(path, source)
        _check_entry(path)
        mod = _import(path, key)
        _loaded[memo] = mod
        return mod


def load_module(source, name_hint="kernels"):
    """Import ``source`` through a content-keyed file in the cache dir.

    The key is the hash of ``source`` (plus :func:`fingerprint`), so the same
    source maps to the same file in every process and ``numba.njit(cache=True)``
    functions in it load their machine code from disk after the first run.
    """
    key = key_for("source", source)
    mod = lookup(key, name_hint)
    return mod if mod is not None else store(key, source, name_hint)


def clear_cache():
    """Delete every entry (and Numba's cached machine code) from :func:`cache_dir`."""
    d = cache_dir()
    with _lock:
        for k in [k for k in _loaded if k[0] == str(d)]:
            del _loaded[k]
        if not d.exists():
            return
        pat = re.compile(r"^[A-Za-z0-9_]+_[0-9a-f]{32}\.py$")
        for p in d.iterdir():
            if p.is_file() and (pat.match(p.name) or p.name.startswith(".tmp_")):
                try:
                    p.unlink()
                except OSError:
                    pass
        shutil.rmtree(d / "__pycache__", ignore_errors=True)
