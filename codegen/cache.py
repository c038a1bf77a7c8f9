"""On-disk cache of generated kernel modules.

Each entry is a real ``.py`` file in :func:`cache_dir` whose name carries a
content key, so Numba's ``cache=True`` can store machine code next to it and a
second process loads that instead of compiling.  The first line of each file is
a SHA-256 checksum of the rest: a truncated or edited entry is detected and
rewritten.  Files are written to a temporary name and moved into place with
``os.replace``, so concurrent writers of the same entry both succeed.

>>> mod = load_module("def f(a):\\n    return 2 * a\\n", "doc_example")
>>> mod.f(21)
42
"""
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["cache_dir", "load_module", "lookup", "store", "clear_cache", "fingerprint",
           "key_for"]

_HEADER = "# derive-toolkit kernel module; sha256="
_loaded = {}  # (directory, key) -> module, so one process imports each entry once
_lock = threading.Lock()
_fingerprint = None


def cache_dir():
    """The cache directory: ``$DERIVE_CACHE_DIR``, else ``$XDG_CACHE_HOME`` or ``~/.cache``
    followed by ``derive-toolkit``.  Read at each call, so tests may change it."""
    d = os.environ.get("DERIVE_CACHE_DIR")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "derive-toolkit")
    return Path(d)


def fingerprint():
    """Hash of the library versions and of codegen's own source files.

    Part of every cache key, so upgrading SymPy/Numba/NumPy or editing the
    generator invalidates old entries instead of loading stale kernels.
    """
    global _fingerprint
    if _fingerprint is None:
        import numba
        import numpy
        import sympy
        try:
            from derive import __version__ as dv
        except Exception:  # pragma: no cover - derive is part of the project
            dv = "?"
        h = hashlib.sha256()
        h.update(f"{sys.version_info[:2]}|{sympy.__version__}|{numba.__version__}|"
                 f"{numpy.__version__}|{dv}".encode())
        here = Path(__file__).parent
        for p in sorted(here.glob("*.py")):
            if p.name == "kernels.py":  # not part of the objective generator
                continue
            h.update(p.name.encode())
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


def _path(key, name_hint):
    return cache_dir() / f"{_safe_hint(name_hint)}_{key}.py"


def _checksum(body):
    return hashlib.sha256(body.encode()).hexdigest()


def _valid(path):
    """True when the file exists and its checksum line matches its body."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    first, sep, body = text.partition("\n")
    return bool(sep) and first.startswith(_HEADER) and first[len(_HEADER):] == _checksum(body)


def _write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"{_HEADER}{_checksum(source)}\n{source}"
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".py", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
    return mod


def lookup(key, name_hint="kernels"):
    """The cached module of ``key``, or None if absent or corrupt (a corrupt file is removed)."""
    memo = (str(cache_dir()), key)
    with _lock:
        if memo in _loaded:
            return _loaded[memo]
        path = _path(key, name_hint)
        if not path.exists():
            return None
        if not _valid(path):
            try:
                path.unlink()
            except OSError:
                pass
            return None
        mod = _import(path, key)
        _loaded[memo] = mod
        return mod


def store(key, source, name_hint="kernels"):
    """Write ``source`` as the entry of ``key`` (atomically) and import it."""
    memo = (str(cache_dir()), key)
    with _lock:
        path = _path(key, name_hint)
        if not _valid(path):
            _write(path, source)
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
