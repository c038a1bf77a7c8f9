"""Time limits that hold in any thread: a :class:`Deadline` checked in our own loops,
and SymPy calls run in a worker process that is killed when their time is up.

Why a process: ``sympy.solve``, ``simplify`` and ``factor`` cannot be stopped
cooperatively, and SIGALRM works only in the main thread (and not during long C
calls). A worker is a plain ``python -c`` child that imports ``derive`` and runs
one derive function at a time on pickled SymPy arguments; killing it is always
safe. Workers are reused (importing SymPy takes about a second) and restarted
after a kill; one is started only when a call needs it. The child is started
with ``subprocess``, not ``multiprocessing``, so a user's script is never
re-imported in it.

>>> d = Deadline(5.0, "critical_points")
>>> 0 < d.remaining() <= 5.0
True
>>> run_limited(_echo, (3,), seconds=30)
3
"""
import atexit
import math
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from queue import Empty, Queue

from ._validate import InputError


class DeadlineExceeded(TimeoutError):
    """A derive call ran past the time limit its caller gave (``timeout=``).

    ``what`` names the call and ``seconds`` the limit.
    """

    def __init__(self, what, seconds):
        super().__init__(
            f"{what} did not finish within its time limit of {seconds:g} s; "
            "pass a larger timeout= (or timeout=None for no limit)"
        )
        self.what = what
        self.seconds = seconds

    def __reduce__(self):
        return type(self), (self.what, self.seconds)


def check_seconds(seconds, name, zero_ok=False):
    """Raise :class:`~derive.InputError` unless ``seconds`` is None or a number > 0 (>= 0 with ``zero_ok``).

    >>> check_seconds(0.5, "timeout")
    >>> check_seconds("5", "timeout")
    Traceback (most recent call last):
    ...
    derive._validate.InputError: timeout must be a number of seconds or None, got '5'
    """
    if seconds is None:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise InputError(f"{name} must be a number of seconds or None, got {seconds!r}")
    if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise InputError(f"{name} must be {bound} seconds (or None for no limit), got {seconds!r}")


class Deadline:
    """A point in time by which the call ``what`` must be done (``seconds=None``: never).

    Our own loops call :meth:`check` between steps; SymPy calls get
    :meth:`remaining` as the kill time of their worker (:func:`run_limited`).
    """

    def __init__(self, seconds, what):
        check_seconds(seconds, "timeout")
        self.seconds = seconds
        self.what = what
        self.end = math.inf if seconds is None else time.monotonic() + seconds

    def remaining(self):
        """Seconds left (``inf`` without a limit, 0 once expired)."""
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end

    def check(self):
        """Raise :class:`DeadlineExceeded` once the time is up."""
        if self.expired():
            raise DeadlineExceeded(self.what, self.seconds)


class OutOfTime(Exception):
    """Raised by :func:`run_limited` when the worker was killed at its time limit."""


#: how long a new worker may take to import SymPy and derive when no deadline says otherwise
STARTUP_SECONDS = 120.0


def run_limited(func, args=(), seconds=None, deadline=None):
    """``func(*args)`` computed in a worker process, killed after ``seconds`` (None: no limit).

    ``func`` must be a module-level function of a ``derive`` module; arguments and
    result are pickled. Exceptions raised by ``func`` are re-raised here; a kill at
    the limit raises :class:`OutOfTime`. ``seconds`` counts from when the worker
    is ready (a new one first imports SymPy, about a second); a ``deadline`` bounds
    the whole wait, start-up included.
    """
    module, name = func.__module__, func.__qualname__
    if not module.startswith("derive.") or "." in name:
        raise ValueError(f"run_limited runs module-level derive functions only, not {module}.{name}")
    if seconds is not None and seconds <= 0:
        raise OutOfTime()
    payload = pickle.dumps((module, name, tuple(args)), protocol=pickle.HIGHEST_PROTOCOL)
    worker = _POOL.take()
    try:
        worker.wait_ready(STARTUP_SECONDS if deadline is None else min(STARTUP_SECONDS, deadline.remaining()))
        if deadline is not None:
            seconds = deadline.remaining() if seconds is None else min(seconds, deadline.remaining())
        status, value = worker.call(payload, seconds)
    except OutOfTime:
        worker.kill()
        raise
    except BaseException:
        # a broken pipe, a crash of the worker, KeyboardInterrupt: never reuse it
        worker.kill()
        raise
    _POOL.give_back(worker)
    if status == "error":
        raise value
    return value


def warm_up():
    """Make sure a started worker is waiting, so that the next call's limit is all compute time."""
    worker = _POOL.take()
    try:
        worker.wait_ready(STARTUP_SECONDS)
    except BaseException:
        worker.kill()
        raise
    _POOL.give_back(worker)


def _echo(value):
    return value


# --- the worker process -----------------------------------------------------------

_HEADER = struct.Struct("<Q")


def _write(stream, data):
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read(stream):
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("the worker's pipe closed")
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError("the worker's pipe closed")
    return data


class _Worker:
    def __init__(self):
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from derive.deadline import _serve; _serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        self.ready = False

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, seconds):
        """Wait for the worker's first message, sent once it has imported derive."""
        if not self.ready:
            if self._reply(seconds) != b"ready":
                raise RuntimeError("the derive worker process did not start properly")
            self.ready = True

    def call(self, payload, seconds):
        _write(self.proc.stdin, payload)
        return pickle.loads(self._reply(seconds))

    def _reply(self, seconds):
        replies = Queue(maxsize=1)

        def read():
            try:
                replies.put(("ok", _read(self.proc.stdout)))
            except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
                replies.put(("eof", err))

        threading.Thread(target=read, daemon=True).start()
        try:
            kind, data = replies.get(timeout=seconds)
        except Empty:
            raise OutOfTime() from None
        if kind == "eof":
            raise RuntimeError(f"the derive worker process died (exit code {self.proc.poll()})") from data
        return data

    def kill(self):
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Pool:
    """Idle workers, shared by all threads; each call takes one for itself."""

    def __init__(self):
        self.lock = threading.Lock()
        self.idle = []

    def take(self):
        with self.lock:
            while self.idle:
                w = self.idle.pop()
                if w.alive():
                    return w
        return _Worker()

    def give_back(self, worker):
        with self.lock:
            if worker.alive():
                self.idle.append(worker)

    def close(self):
        with self.lock:
            idle, self.idle = self.idle, []
        for w in idle:
            w.kill()


_POOL = _Pool()
atexit.register(_POOL.close)


def _serve():
    """The worker's loop: read (module, name, args), reply ("ok", result) or ("error", exc)."""
    import importlib

    # the protocol owns fd 1; anything the work prints goes to stderr instead
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    import derive  # noqa: F401 - the work needs it; importing it now makes "ready" mean ready

    _write(out, b"ready")
    while True:
        try:
            module, name, args = pickle.loads(_read(inp))
        except EOFError:
            return  # the parent closed the pipe (or exited)
        try:
            if not module.startswith("derive."):
                raise ValueError(f"the derive worker runs derive functions only, not {module}")
            reply = ("ok", getattr(importlib.import_module(module), name)(*args))
        except Exception as err:  # noqa: BLE001 - re-raised in the parent
            reply = ("error", err)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # noqa: BLE001 - an unpicklable result or exception
            data = pickle.dumps(("error", RuntimeError(f"the worker's {reply[0]} reply cannot be pickled: {err}")))
        _write(out, data)
