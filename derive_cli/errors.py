"""Exit codes, the CLI's own input error, and how any exception ends as one line and a code."""
import os
import re
import sys
import traceback

import derive

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 128 + 2  # what a shell reports for a tool ended by SIGINT (Ctrl-C)
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a tool ended by SIGPIPE (`yes | head`)


class CLIError(Exception):
    """A problem with the user's input, reported as one line (exit code 2)."""


# Exceptions the packages document as "your input is wrong" (each names the argument at
# fault). derive's InputError covers FormulaError, NotSmoothError and NotRealError. codegen
# and solvers are imported only by the commands that need them (start-up time, see
# commands.py), so their types are looked up only if loaded: an exception of theirs cannot
# exist otherwise.
_INPUT_ERRORS = (CLIError, derive.InputError)
_LAZY_INPUT_ERRORS = (("codegen", "CodegenError"), ("solvers", "ObjectiveError"),
                      ("solvers", "OptionError"))


def is_input_error(exc):
    """Whether ``exc`` is a documented "bad input" error (exit 2), not a bug.

    >>> is_input_error(CLIError("--x0 is empty")), is_input_error(TypeError("NoneType"))
    (True, False)
    """
    if isinstance(exc, _INPUT_ERRORS):
        return True
    for module, name in _LAZY_INPUT_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def one_line(exc):
    """The message of ``exc`` on one line (its type name if it has none).

    >>> one_line(ValueError("no value\\n  for y")), one_line(KeyError())
    ('no value for y', 'KeyError')
    """
    return re.sub(r"\s*\n\s*", " ", str(exc)).strip() or type(exc).__name__


def report(exc, command):
    """Print ``exc`` as one line on stderr and return the exit code it maps to.

    Documented input errors -> 2; a time limit -> 1 (the computation failed); anything
    else (TypeError from a library call included) is a bug -> 3, with the traceback
    under DERIVE_DEBUG=1.
    """
    where = f"derive {command}".strip()
    if is_input_error(exc):
        print(f"{where}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, derive.DeadlineExceeded):  # a time limit the user can raise: the run failed
        print(f"{where}: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    if os.environ.get("DERIVE_DEBUG"):
        traceback.print_exception(exc)
    else:
        print(f"{where}: internal error: {type(exc).__name__}: {one_line(exc)} -- this is a bug in "
              f"derive-toolkit {derive.__version__}; please report it with the command line "
              "(DERIVE_DEBUG=1 shows the traceback)", file=sys.stderr)
    return EXIT_INTERNAL


def quiet_broken_pipe():
    """Silence stdout after the reader went away (`derive ... | head`); the exit code for it."""
    # Send what is still buffered to /dev/null so that the interpreter's final flush
    # does not complain either.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests, IDEs)
        pass
    return EXIT_BROKEN_PIPE
