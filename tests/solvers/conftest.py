"""Shared fixtures for the solver tests: the SymPy test-problem set compiled once per session."""
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load_problems():
    spec = importlib.util.spec_from_file_location("derive_bench_problems",
                                                  ROOT / "benchmarks" / "problems.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


problems = _load_problems()


class _Compiled(dict):
    """name -> CompiledObjective, compiled on first use (codegen caches kernels on disk too)."""

    def __missing__(self, name):
        import codegen
        p = problems.get(name)
        obj = self[name] = codegen.compile(p.expr, p.wrt)
        return obj


_COMPILED = _Compiled()


@pytest.fixture(scope="session")
def compiled():
    return _COMPILED


@pytest.fixture(scope="session")
def rosen(compiled):
    return compiled["rosenbrock"]
