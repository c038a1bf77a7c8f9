"""solvers.cache: clearing stale Numba cache entries must be safe in every setting."""
import os
import subprocess
import sys
import time

import pytest

from solvers import cache


def _stale_dir(tmp_path):
    d = tmp_path / "cache"
    d.mkdir()
    (d / cache._STAMP).write_text("an older digest")
    return d


def _entry(d, name, age):
    p = d / name
    p.write_bytes(b"x")
    t = time.time() - age
    os.utime(p, (t, t))
    return p


def test_stale_entries_are_cleared_and_stamped(tmp_path):
    d = _stale_dir(tmp_path)
    old = _entry(d, "lbfgs._lbfgs_loop-33.py311.nbi", age=3600)
    other = _entry(d, "svm._fit-10.py311.nbi", age=3600)  # not a module the stamp covers
    assert cache.refresh(dirs=[str(d)])
    assert not old.exists() and other.exists()
    assert (d / cache._STAMP).read_text() == cache._digest()
    assert not cache.refresh(dirs=[str(d)])  # stamped: nothing more to do
    assert not list(d.glob("*.tmp"))


def test_fresh_entries_of_a_concurrent_process_survive(tmp_path):
    # another process saw the new sources, stamped the directory and wrote this entry while we
    # were still holding the stale stamp: it must not be deleted
    d = _stale_dir(tmp_path)
    fresh = _entry(d, "bfgs._bfgs_loop-45.py311.nbc", age=0)
    stale = _entry(d, "bfgs._bfgs_loop-45.py311.nbi", age=3600)
    cache.refresh(dirs=[str(d)])
    assert fresh.exists() and not stale.exists()


def test_read_only_cache_never_raises(tmp_path, monkeypatch):
    d = _stale_dir(tmp_path)
    old = _entry(d, "newton._newton_loop-85.py311.nbi", age=3600)

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.os, "remove", denied)
    monkeypatch.setattr(cache.os, "replace", denied)
    monkeypatch.setattr(cache.os, "makedirs", denied)
    cache.refresh(dirs=[str(d), str(tmp_path / "missing")])
    cache.refresh()
    assert old.exists() and (d / cache._STAMP).read_text() == "an older digest"


def test_unreadable_sources_never_raise(tmp_path, monkeypatch):
    def missing():
        raise FileNotFoundError("bfgs.py")

    monkeypatch.setattr(cache, "_digest", missing)
    d = _stale_dir(tmp_path)
    old = _entry(d, "bfgs._bfgs_loop-45.py311.nbi", age=3600)
    assert cache.refresh(dirs=[str(d)]) is False
    assert old.exists()


def test_numba_cache_dir_is_checked_too(monkeypatch, tmp_path):
    from numba.core import config
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))
    dirs = cache._cache_dirs()
    assert dirs[0] == os.path.join(cache._HERE, "__pycache__")
    assert any(p.startswith(str(tmp_path)) for p in dirs[1:])


def test_concurrent_refreshes_agree(tmp_path):
    d = _stale_dir(tmp_path)
    old = [_entry(d, f"lbfgs._lbfgs_loop-{i}.py311.nbc", age=3600) for i in range(200)]
    code = f"import solvers.cache as c; c.refresh(dirs=[{str(d)!r}])"
    root = os.path.dirname(cache._HERE)
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=root, stderr=subprocess.PIPE)
             for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    assert not any(p.exists() for p in old)
    assert (d / cache._STAMP).read_text() == cache._digest()
    assert not list(d.glob("*.tmp"))
