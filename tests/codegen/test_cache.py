"""The on-disk cache: warm start in a new process, corrupt entries, concurrent writers."""
import json
import os
import subprocess
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import codegen
from codegen import cache

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import json, sys, time
    import sympy as sp
    import sympy.core.function as scf
    n = 6
    x = sp.symbols(f"x0:{n}")
    f = sum(100 * (x[i + 1] - x[i]**2)**2 + (1 - x[i])**2 for i in range(n - 1)) + sp.sin(x[0])
    calls = {"diff": 0}
    orig = scf.Derivative.__new__
    def spy(cls, *a, **k):
        calls["diff"] += 1
        return orig(cls, *a, **k)
    scf.Derivative.__new__ = spy
    import codegen
    obj = codegen.compile(f, x)
    H = obj.hess(__import__("numpy").linspace(-1, 1, n))
    print(json.dumps({
        "built": bool(obj.build_times), "diff_calls": calls["diff"],
        "hits": sum(obj.jit.hess.stats.cache_hits.values()),
        "misses": sum(obj.jit.hess.stats.cache_misses.values()),
        "file": obj.module.__file__, "h00": float(H[0, 0])}))
""")


def _run(env, script=SCRIPT):
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["DERIVE_CACHE_DIR"] = str(tmp_path / "cache")
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def test_second_process_reuses_module_and_machine_code(env):
    first = _run(env)
    assert first["built"] and first["diff_calls"] > 0 and first["misses"] >= 1
    second = _run(env)
    assert second["file"] == first["file"]
    assert not second["built"], "second process re-derived the objective"
    assert second["diff_calls"] == 0, "second process ran SymPy differentiation"
    assert second["hits"] >= 1 and second["misses"] == 0, "Numba recompiled instead of loading"
    assert second["h00"] == first["h00"]


def test_concurrent_compiles_both_succeed(env):
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0]["h00"] == results[1]["h00"]
    assert results[0]["file"] == results[1]["file"]
    assert not list(Path(env["DERIVE_CACHE_DIR"]).glob(".tmp_*"))


def test_corrupt_entry_is_detected_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    a, b = sp.symbols("a b")
    f = sp.exp(a) * b**2
    obj = codegen.compile(f, [a, b], jit=False)
    path = Path(obj.module.__file__)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # truncated, as by a crash mid-write
    cache._loaded.clear()  # forget this process's import, as a new process would
    obj2 = codegen.compile(f, [a, b], jit=False)
    assert obj2.build_times, "corrupt entry was not rebuilt"
    assert path.read_text() == text
    assert obj2.grad([0.0, 3.0]).tolist() == [9.0, 6.0]
    cache._loaded.clear()
    obj3 = codegen.compile(f, [a, b], jit=False)
    assert not obj3.build_times  # the rebuilt entry is valid


def test_cache_key_separates_options_and_clear_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    a = sp.Symbol("a")
    o1 = codegen.compile(a**2, [a], jit=False)
    o2 = codegen.compile(a**2, [a], jit=False, order=1)
    ar = sp.Symbol("a", real=True)
    o3 = codegen.compile(ar**2, [ar], jit=False)
    assert len({o1.key, o2.key, o3.key}) == 3
    assert list(tmp_path.glob("objective_*.py"))
    codegen.clear_cache()
    assert not list(tmp_path.glob("objective_*.py"))
    assert codegen.compile(a**2, [a], jit=False).build_times  # rebuilt after clearing


def test_load_module_contract(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    from codegen.printer import prelude, print_expr
    s = sp.Symbol("s")
    src = prelude(jit=False) + f"\ndef k(v):\n    return {print_expr(sp.exp(-s**2), {s: 'v'})}\n"
    m1 = cache.load_module(src, "kernels")
    m2 = cache.load_module(src, "kernels")
    assert m1 is m2 and m1.k(0.0) == 1.0
    assert Path(m1.__file__).parent == tmp_path


def test_export_standalone_module(tmp_path, rosen2):
    obj = rosen2[0]
    path = tmp_path / "rosen_kernels.py"
    codegen.export(obj, path)
    code = path.read_text()
    imports = {ln.split()[1].split(".")[0] for ln in code.splitlines()
               if ln.strip().startswith(("import ", "from "))}
    assert imports <= {"math", "numpy", "numba"}, imports
    script = (f"import importlib.util, numpy as np\n"
              f"spec = importlib.util.spec_from_file_location('rk', {str(path)!r})\n"
              f"m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
              f"print(m.hess(np.array([1.0, 1.0]), np.zeros(0)).tolist())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip()) == [[802.0, -400.0], [-400.0, 200.0]]


# --- issue 9, items 6 and 9: what the cache promises ------------------------------------------

SMALL = textwrap.dedent("""
    import json
    import sympy as sp
    import codegen
    a = sp.Symbol("a")
    obj = codegen.compile(sp.sin(a) + a**2, [a], order=1)
    v = obj.value(__import__("numpy").array([0.5]))
    st = obj.jit.value.stats
    print(json.dumps({"built": bool(obj.build_times), "hits": sum(st.cache_hits.values()),
                      "misses": sum(st.cache_misses.values()), "v": v}))
""")


def test_fingerprint_covers_every_source_of_derive_and_codegen():
    names = {(p.parent.name, p.name) for p in cache._sources()}
    for pkg in ("derive", "codegen"):
        for p in (ROOT / pkg).glob("*.py"):
            assert (pkg, p.name) in names, p
    assert ("derive", "ml.py") in names and ("codegen", "svm_kernels.py") in names


def test_editing_derive_ml_changes_the_fingerprint(monkeypatch):
    before = cache.fingerprint()
    ml = (ROOT / "derive" / "ml.py").resolve()
    real = Path.read_bytes

    def edited(self):
        data = real(self)
        return data + b"\n# edited\n" if self.resolve() == ml else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    monkeypatch.setattr(cache, "_fingerprint", None)
    assert cache.fingerprint() != before


def test_new_cache_dir_is_private(tmp_path, monkeypatch):
    d = tmp_path / "new" / "cache"
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(d))
    a = sp.Symbol("a")
    codegen.compile(a**2, [a], jit=False)
    assert (d.stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_cache_dir_writable_by_others_is_refused(tmp_path, monkeypatch, mode):
    d = tmp_path / "shared"
    d.mkdir()
    a = sp.Symbol("a")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(d))
    codegen.compile(a**2 + 1, [a], jit=False)  # an entry that would be imported
    cache._loaded.clear()
    d.chmod(mode)
    with pytest.raises(codegen.CacheDirError, match="writable by other users") as ei:
        codegen.compile(a**2 + 1, [a], jit=False)
    assert str(d) in str(ei.value)


def test_cache_dir_owned_by_another_user_is_refused(tmp_path, monkeypatch):
    d = tmp_path / "theirs"
    d.mkdir(mode=0o700)
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(d))
    monkeypatch.setattr(cache.os, "geteuid", lambda: os.stat(d).st_uid + 1)
    a = sp.Symbol("a")
    with pytest.raises(codegen.CacheDirError, match="owned by another user"):
        codegen.compile(a**2 + 2, [a], jit=False)


def test_cache_dir_that_is_a_file_gives_one_clear_error(tmp_path, monkeypatch):
    f = tmp_path / "afile"
    f.write_text("")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(f))
    a = sp.Symbol("a")
    with pytest.raises(codegen.CacheDirError, match="not a directory") as ei:
        codegen.compile(a**2 + 3, [a], jit=False)
    assert str(f) in str(ei.value) and "DERIVE_CACHE_DIR" in str(ei.value)
    assert isinstance(ei.value, ValueError)


def test_read_only_cache_dir_gives_one_clear_error(tmp_path, monkeypatch):
    d = tmp_path / "ro"
    d.mkdir(mode=0o500)
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(d))

    def denied(*a, **k):  # as root, chmod alone does not stop a write
        raise PermissionError(13, "Permission denied", str(d))

    monkeypatch.setattr(cache.tempfile, "mkstemp", denied)
    a = sp.Symbol("a")
    with pytest.raises(codegen.CacheDirError, match="cannot write") as ei:
        codegen.compile(a**2 + 4, [a], jit=False)
    assert str(d) in str(ei.value)


def test_garbage_numba_index_files_are_rebuilt(env):
    first = _run(env, SMALL)
    assert first["misses"] >= 1
    pyc = Path(env["DERIVE_CACHE_DIR"]) / "__pycache__"
    files = list(pyc.glob("*.nbi")) + list(pyc.glob("*.nbc"))
    assert files
    for p in files:
        p.write_bytes(b"\x80\x05garbage, not a pickle")
    second = _run(env, SMALL)  # failed with UnpicklingError in every later run
    assert second["v"] == first["v"] and second["misses"] >= 1
    third = _run(env, SMALL)  # and the rebuilt entries are used again
    assert third["hits"] >= 1 and third["misses"] == 0 and third["v"] == first["v"]


def test_export_to_a_directory_is_refused_and_leaves_nothing(tmp_path, rosen2):
    with pytest.raises(codegen.ArgumentError, match="directory") as ei:
        codegen.export(rosen2[0], tmp_path)
    assert str(tmp_path) in str(ei.value)
    assert list(tmp_path.iterdir()) == []


def test_export_write_error_leaves_no_temp_file(tmp_path, rosen2, monkeypatch):
    ex = sys.modules["codegen.export"]  # the attribute codegen.export is the function

    def fail(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ex.os, "replace", fail)
    with pytest.raises(OSError):
        codegen.export(rosen2[0], tmp_path / "k.py")
    assert list(tmp_path.iterdir()) == []


def test_export_file_has_the_users_default_mode(tmp_path, rosen2):
    # An export is the user's file, not a private cache entry: 0666 less the umask, not 0600.
    old = os.umask(0o022)
    try:
        path = tmp_path / "k.py"
        codegen.export(rosen2[0], path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
