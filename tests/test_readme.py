"""README runs as written: every ```python block in one namespace, every ```bash line as a shell
command in a fresh process (in a temporary directory, for those that write files).

The two install lines are not re-run from inside the suite (the second one *is* the suite): the
demo after the install is run, and the test command must be exactly the one .ci/run runs.
The benchmarks take minutes, so README lists them in a ```console block; here each script must
exist and answer --help.
"""
import pathlib
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
INSTALL_DEMO = "python -m pip install . && derive demo"
TEST_COMMAND = 'python -m pip install -e ".[test]" && python -m pytest -q -n 2 --dist loadgroup'
TIMEOUT = 600  # seconds; a cold kernel cache compiles the solver loops once (warm: seconds)
WORKERS = 2  # the suite's machines have 2 cores

# What each README command must print (regular expressions on stdout) or write (files).
EXPECT = {
    "grad": [r"gradient of x\*\*2\*y \+ sin\(y\) with respect to \(x, y\)", r"2⋅x⋅y"],
    "hessian": [r"\\left\[\\begin\{matrix\}1200 x\^\{2\} - 400 y \+ 2 & - 400 x"],
    "jacobian": [r"Jacobian with respect to \(x, y\)", r"cos\(y\)"],
    "taylor": [r"Taylor polynomial of order 3 of exp\(x\)\*cos\(y\)"],
    "kkt": [r"KKT points \(1\):", r"x = \{x: 1/2, y: 1/2\}  lam = \{lambda_1: -1\}  mu = \{mu_1: 0\}"],
    "critical": [r"\{x: -1, y: 0\}: saddle", r"\{x: 1, y: 0\}: minimum"],
    "explain": [r"dv\d/dw = x\*exp\(w\*x\)/\(exp\(w\*x\) \+ 1\)"],
    "compile": [r"wrote kernels\.py"],
    "solve": [r"success: True|success=True|CONVERGED", r"saved rosen\.png"],
    "svm": [r"SVC on breast_cancer", r"test_accuracy = 0\.9[3-9]"],
    "demo": [r"1\. derive", r"2\. codegen", r"3\. solvers", r"4\. SVM"],
}
FILES = {"compile": ["kernels.py"], "solve": ["rosen.png"]}


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _lines(language):
    """The command lines of README's ```<language> blocks, without trailing comments."""
    out = []
    for block in _blocks(language):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def _derive_executable():
    # The console script pip installed next to this interpreter, as a user's shell finds it.
    script = pathlib.Path(sys.executable).with_name("derive")
    return [str(script)] if script.exists() else [sys.executable, "-m", "derive_cli"]


def test_readme_python_blocks_run(capsys):
    blocks = _blocks("python")
    assert len(blocks) >= 4
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    # The blocks print their checks (np.allclose(...), success flags): a reader must never see
    # one fail, so no printed value may be False.
    printed = capsys.readouterr().out
    assert not re.search(r"(^|\s)False(\s|$)", printed), printed


def test_readme_commands_are_the_ci_commands():
    text = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in text and TEST_COMMAND in ci
    # .ci/run's last command is README's test command, exactly (after building its fresh venv).
    ci_commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert ci_commands[-1] == TEST_COMMAND
    assert INSTALL_DEMO in text


def test_every_readme_shell_line_is_one_this_file_runs():
    lines = _lines("bash")
    assert INSTALL_DEMO in lines and TEST_COMMAND in lines
    others = [ln for ln in lines if ln not in (INSTALL_DEMO, TEST_COMMAND)]
    assert others and all(ln.startswith("derive ") for ln in others), others
    commands = {shlex.split(ln)[1] for ln in others} | {"demo"}
    assert commands <= set(EXPECT), commands - set(EXPECT)


def _run(line, cwd):
    words = shlex.split(line)
    return subprocess.run(_derive_executable() + words[1:], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_readme_shell_lines_run(tmp_path):
    pytest.importorskip("sklearn")  # derive svm's data set; in the test extra
    lines = [ln for ln in _lines("bash") if ln.startswith("derive ")]
    lines.append(INSTALL_DEMO.split(" && ")[1])  # the demo the install line runs
    # Longest first, so two workers finish together; each line in its own directory.
    lines.sort(key=lambda ln: ln.split()[1] not in ("demo", "svm", "solve"))
    dirs = [tmp_path / f"line{i}" for i in range(len(lines))]
    for d in dirs:
        d.mkdir()
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(_run, lines, dirs))
    for line, cwd, proc in zip(lines, dirs, results):
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        command = shlex.split(line)[1]
        for pattern in EXPECT[command]:
            assert re.search(pattern, proc.stdout), f"{line}: no /{pattern}/ in\n{proc.stdout[-3000:]}"
        for name in FILES.get(command, ()):
            assert (cwd / name).stat().st_size > 0, f"{line} did not write {name}"


def test_readme_module_entry_points_run():
    # README names the module behind the console script ("also `python -m derive_cli`").
    text = README.read_text(encoding="utf-8")
    modules = set(re.findall(r"`python -m (\w+)`", text))
    assert modules == {"derive_cli"}, modules
    proc = subprocess.run([sys.executable, "-m", "derive_cli", "--version"], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("derive-toolkit "), proc.stderr


def test_readme_benchmarks_are_listed_and_start():
    lines = _lines("console")
    scripts = [shlex.split(ln)[1] for ln in lines if ln.startswith("python benchmarks/")]
    assert scripts and len(scripts) == len(lines), lines
    def start(script):
        return subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True,
                              text=True, timeout=TIMEOUT, cwd=ROOT)

    with ThreadPoolExecutor(WORKERS) as pool:
        for script, proc in zip(scripts, pool.map(start, scripts)):
            assert proc.returncode == 0, f"{script}: {proc.stderr}"
            assert "--quick" in proc.stdout, script
