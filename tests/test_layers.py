"""The layers import only downwards: derive -> codegen -> solvers -> derive_cli.

Read from the source with ``ast`` (every import statement, at the top or inside a function,
and ``importlib.import_module``/``__import__`` calls with a literal name), so an import
hidden in a function body counts as much as one at the top. Plus what a fresh interpreter
loads: ``import solvers`` no SymPy, ``import derive`` no Numba.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("derive", "codegen", "solvers", "derive_cli")
# The top-level packages each layer must not import (at the top or inside a function).
FORBIDDEN = {
    "derive": {"codegen", "solvers", "derive_cli", "numba"},
    "codegen": {"solvers", "derive_cli"},
    # solvers reach SymPy only through codegen's compiled objects
    "solvers": {"derive_cli", "sympy", "derive"},
    "derive_cli": set(),
}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path.name == "__init__.py"


def imported_modules(source, module, is_package=False):
    """(line, absolute module name) of every import in ``source``, the module named ``module``.

    >>> src = "import numpy as np\\ndef f():\\n    from ..codegen import compile\\n    from . import x"
    >>> imported_modules(src, "solvers.minimize")
    [(1, 'numpy'), (3, 'codegen'), (4, 'solvers')]
    >>> imported_modules("import importlib\\nimportlib.import_module('sympy.core')", "derive.x")
    [(1, 'importlib'), (2, 'sympy.core')]
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            found.append((node.lineno, name))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return sorted(found)


def _is_dynamic_import(func):
    return (isinstance(func, ast.Name) and func.id in ("__import__", "import_module")) or \
           (isinstance(func, ast.Attribute) and func.attr == "import_module")


SOURCES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_of_a_layer_above(path):
    module, is_package = _module_name(path)
    forbidden = FORBIDDEN[module.split(".")[0]]
    imports = imported_modules(path.read_text(encoding="utf-8"), module, is_package)
    wrong = [f"line {line}: {name}" for line, name in imports if name.split(".")[0] in forbidden]
    assert not wrong, f"{module} imports a layer above it (or one it must not use): {wrong}"


def test_every_package_is_checked():
    assert {_module_name(p)[0].split(".")[0] for p in SOURCES} == set(PACKAGES)
    assert all((ROOT / package / "__init__.py").exists() for package in PACKAGES)


def _loaded(statement):
    """The modules a fresh interpreter has loaded after ``statement``, with their top-level names."""
    script = f"{statement}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = set(proc.stdout.split())
    return names | {m.split(".")[0] for m in names}


def test_import_solvers_loads_no_sympy():
    loaded = _loaded("import solvers")
    assert "solvers" in loaded
    # The solver loops' cache lives in codegen's cache directory (codegen.cache, SymPy-free);
    # what compiles (and with it SymPy and derive) is loaded only when something is compiled.
    assert not loaded & {"sympy", "derive", "codegen.compiled", "codegen.svm_kernels"}, \
        f"import solvers loads {sorted(loaded & {'sympy', 'derive', 'codegen.compiled'})}; " \
        "python -X importtime -c 'import solvers' shows through which module"


def test_import_derive_loads_no_numba():
    loaded = _loaded("import derive")
    assert "derive" in loaded
    assert not loaded & {"numba", "codegen", "solvers", "derive_cli"}
