"""solvers.loop_cache: clearing stale Numba cache entries must be safe in every setting."""
import os
import pickle
import subprocess
import sys
import time

import pytest

from solvers import loop_cache as cache


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
    other = _entry(d, "elsewhere._fit-10.py311.nbi", age=3600)  # not a module of the package
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
    dirs = cache._legacy_dirs()
    assert dirs[0] == os.path.join(cache._HERE, "__pycache__")
    assert any(p.startswith(str(tmp_path)) for p in dirs[1:])


def test_concurrent_refreshes_agree(tmp_path):
    d = _stale_dir(tmp_path)
    old = [_entry(d, f"lbfgs._lbfgs_loop-{i}.py311.nbc", age=3600) for i in range(200)]
    code = f"import solvers.loop_cache as c; c.refresh(dirs=[{str(d)!r}])"
    root = os.path.dirname(cache._HERE)
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=root, stderr=subprocess.PIPE)
             for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    assert not any(p.exists() for p in old)
    assert (d / cache._STAMP).read_text() == cache._digest()
    assert not list(d.glob("*.tmp"))


# --- issue 9 (and 14's first item): the loops live in the user's cache dir, warm from run 2 ---

import json  # noqa: E402
import pathlib  # noqa: E402

ROOT = pathlib.Path(cache._HERE).parent

SCRIPT = """
import json, sys
import numpy as np
import sympy as sp
import codegen, solvers
from numba.core.dispatcher import Dispatcher
a, b = sp.symbols("a b")
obj = codegen.compile((a - 1)**2 + 3 * (b + 2)**2 + a**2 * b**2 / 10, [a, b], order=1)
res = solvers.minimize(obj, np.array([0.5, 0.5]), method="gd")  # the cheapest loop to compile
disps = list(solvers.numba_shims._SPECIALIZED.values())
for name, mod in list(sys.modules.items()):
    if name.startswith("solvers."):
        disps += [v for v in vars(mod).values() if isinstance(v, Dispatcher)]
hits = sum(sum(d.stats.cache_hits.values()) for d in disps)
misses = sum(sum(d.stats.cache_misses.values()) for d in disps)
paths = sorted({d._cache.cache_path for d in disps if hasattr(d._cache, "cache_path")})
print(json.dumps({"hits": hits, "misses": misses, "paths": paths, "x": res.x.tolist()}))
"""


def _run(env):
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_three_fresh_processes_from_an_empty_cache(tmp_path):
    d = tmp_path / "cache"
    env = dict(os.environ, DERIVE_CACHE_DIR=str(d),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NUMBA_CACHE_DIR", None)
    intree = pathlib.Path(cache._HERE) / "__pycache__"
    before = {p: p.stat().st_mtime for p in intree.glob("*.nb[ic]")}
    runs = [_run(env) for _ in range(3)]
    loops = d / "solvers"
    assert runs[0]["misses"] > 0
    for r in runs[1:]:  # the second process is already warm: every loop loaded, none compiled
        assert r["misses"] == 0 and r["hits"] > 0, r
        assert r["x"] == runs[0]["x"]
    assert runs[0]["paths"] == [str(loops)], runs[0]["paths"]
    assert (loops / cache._STAMP).read_text() == cache._digest()
    assert (loops.stat().st_mode & 0o777) == 0o700
    after = {p: p.stat().st_mtime for p in intree.glob("*.nb[ic]")}
    assert after == before, "solver loops were written into the package's source tree"


def test_garbage_loop_files_are_removed_at_import(tmp_path):
    d = tmp_path / "solvers"
    d.mkdir()
    (d / cache._STAMP).write_text(cache._digest())
    bad = _entry(d, "lbfgs._two_loop-13.py311.nbi", age=3600)
    bad_data = _entry(d, "lbfgs._two_loop-13.py311.1.nbc", age=3600)
    good = d / "bfgs._update-25.py311.nbi"
    with open(good, "wb") as fh:
        pickle.dump("0.0", fh)
        fh.write(pickle.dumps(("stamp", {})))
    cache._remove_garbage(str(d), own=True)
    assert not bad.exists() and not bad_data.exists() and good.exists()


def test_fingerprint_covers_every_solver_source():
    names = {os.path.basename(p) for p in cache._sources()}
    assert names == {p.name for p in pathlib.Path(cache._HERE).glob("*.py")}
    assert {"svm.py", "smo.py", "minimize.py", "loop.py"} <= names
