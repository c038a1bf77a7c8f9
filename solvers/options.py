"""Every solver option checked before anything runs (type, range, finiteness), and SciPy's names.

Each method has a table of its options; :func:`check` validates and converts the values a
method was given, and :func:`accepted` lists the names ``minimize`` compares ``options`` with
(SciPy's ``_check_unknown_options`` does the same comparison), so an unknown option is found
by its name, never by reading an error message.

>>> check("lbfgs", m=5, maxiter=100.0)
{'m': 5, 'maxiter': 100}
>>> check("lbfgs", m=0)
Traceback (most recent call last):
...
solvers.options.OptionError: lbfgs: option 'm' must be an integer >= 1, got 0
"""
import math
import numbers

__all__ = ["OptionError", "check", "accepted", "from_scipy", "LBFGS_MAXITER"]

# L-BFGS's default iteration limit: SciPy's L-BFGS-B default (a limit of 1000 ended runs on a
# small neural network that looked like failures where SciPy went on to converge).
LBFGS_MAXITER = 15000


class OptionError(ValueError, TypeError):
    """An option is unknown to the method, of the wrong type, or out of its range.

    A ValueError (a bad value) and, for code written against Python's own complaint about an
    unexpected keyword, a TypeError.
    """


class _Int:
    def __init__(self, lo, none=False):
        self.lo, self.none = lo, none

    def __call__(self, v):
        if type(v) is int and v >= self.lo:  # the common case, without ABC checks
            return v
        if v is None and self.none:
            return None
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError
        if not isinstance(v, numbers.Integral):
            if not (math.isfinite(v) and float(v).is_integer()):
                raise ValueError
        v = int(v)
        if v < self.lo:
            raise ValueError
        return v

    def __str__(self):
        return f"an integer >= {self.lo}" + (" (or None)" if self.none else "")


class _Real:
    """A real number in an interval; ``inf`` only where ``hi`` is infinite and ``inf_ok``."""

    def __init__(self, lo=-math.inf, hi=math.inf, lo_open=False, hi_open=False, none=False,
                 inf_ok=False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open
        self.none, self.inf_ok = none, inf_ok

    def __call__(self, v):
        if type(v) is not float:
            if v is None and self.none:
                return None
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ValueError
            v = float(v)
        # NaN fails every comparison below
        above = self.lo < v if self.lo_open else self.lo <= v
        below = v < self.hi if self.hi_open else v <= self.hi
        if not (above and below) or (v == math.inf and not self.inf_ok) or v == -math.inf:
            raise ValueError
        return v

    def __str__(self):
        if self.hi == math.inf:
            what = f"a finite number {'>' if self.lo_open else '>='} {self.lo:g}"
            if self.inf_ok:
                what = what.replace("a finite number", "a number (inf allowed)")
        else:
            what = (f"a number in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}"
                    f"{')' if self.hi_open else ']'}")
        return what + (" (or None)" if self.none else "")


class _Bool:
    def __init__(self, none=False):
        self.none = none

    def __call__(self, v):
        if v is None and self.none:
            return None
        if not isinstance(v, bool) and type(v).__name__ != "bool_":
            raise ValueError
        return bool(v)

    def __str__(self):
        return "True or False" + (" (or None)" if self.none else "")


class _Any:
    """Checked by the method itself (e.g. a schedule object)."""

    def __call__(self, v):
        return v


_TOL = _Real(0.0)
_UNIT_OPEN = _Real(0.0, 1.0, lo_open=True, hi_open=True)  # Wolfe constants
_DECAY = _Real(0.0, 1.0, hi_open=True)  # momentum and moving-average factors, as PyTorch

_LINE_SEARCH = {"gtol": _TOL, "ftol": _TOL, "xtol": _TOL, "maxiter": _Int(0), "c1": _UNIT_OPEN,
                "c2": _UNIT_OPEN, "max_linesearch": _Int(1)}
_GRADIENT = {"lr": _Real(0.0, lo_open=True), "schedule": _Any(),
             "clip_norm": _Real(0.0, lo_open=True, none=True),
             "clip_value": _Real(0.0, lo_open=True, none=True),
             "batch_size": _Int(1, none=True), "seed": _Int(0, none=True),
             "epochs": _Int(0, none=True), "maxiter": _Int(0), "gtol": _TOL, "ftol": _TOL,
             "divergence": _Real(0.0, lo_open=True, inf_ok=True)}

SPECS = {
    "lbfgs": {**_LINE_SEARCH, "m": _Int(1), "skip_eps": _TOL, "maxfun": _Int(1, none=True),
              "eps": _Real(0.0, lo_open=True)},
    "bfgs": {**_LINE_SEARCH, "skip_eps": _TOL, "eps": _Real(0.0, lo_open=True)},
    "newton": {**_LINE_SEARCH, "beta": _Real(0.0, lo_open=True), "sparse": _Bool(none=True)},
    "newton-tr": {"gtol": _TOL, "ftol": _TOL, "xtol": _TOL, "maxiter": _Int(0),
                  "delta0": _Real(0.0, lo_open=True), "delta_max": _Real(0.0, lo_open=True),
                  "eta": _Real(0.0, 0.25, hi_open=True)},
    "gd": dict(_GRADIENT),
    "momentum": {**_GRADIENT, "beta": _DECAY},
    "nesterov": {**_GRADIENT, "beta": _DECAY},
    "adagrad": {**_GRADIENT, "eps": _TOL},
    "rmsprop": {**_GRADIENT, "rho": _DECAY, "eps": _TOL},
    "adam": {**_GRADIENT, "beta1": _DECAY, "beta2": _DECAY, "eps": _TOL},
    "adamw": {**_GRADIENT, "beta1": _DECAY, "beta2": _DECAY, "eps": _TOL,
              "weight_decay": _TOL},
}

# SciPy's option names -> ours, for the methods that have the option.
_SCIPY = {
    "lbfgs": {"maxcor": "m", "maxls": "max_linesearch"},
    "bfgs": {"maxls": "max_linesearch"},
    "newton": {"maxls": "max_linesearch"},
    "newton-tr": {"initial_trust_radius": "delta0", "max_trust_radius": "delta_max"},
}
# Options every method takes through ``minimize``: not the method's own keywords.
FRONT = ("disp", "rows")


def accepted(method):
    """The option names ``minimize(method=..., options=...)`` takes for ``method``."""
    return set(_ACCEPTED[method])


_ACCEPTED = {m: frozenset(SPECS[m]) | frozenset(_SCIPY.get(m, ())) | frozenset(FRONT)
             for m in SPECS}


def from_scipy(method, options):
    """``options`` with SciPy's names (``maxcor``, ``maxls``, ...) renamed to ours.

    Unknown names raise :class:`OptionError` naming the option, the method and its options.
    """
    if not options:
        return {}
    known = _ACCEPTED[method]
    for name in options:
        if name not in known:
            raise OptionError(
                f"method {method!r} does not take option {name!r}; its options are "
                f"{', '.join(sorted(known))} (see help(solvers.{_function(method)}))")
    out = {}
    aliases = _SCIPY.get(method, {})
    for name, value in options.items():
        ours = aliases.get(name, name)
        if ours in out:
            theirs = next(k for k, v in aliases.items() if v == ours)
            raise OptionError(f"{method}: options {ours!r} and {theirs!r} (SciPy's name) set "
                              f"the same thing; give one of them")
        out[ours] = value
    return out


def _function(method):
    return method.replace("-", "_")


def check(method, **values):
    """``values`` validated against ``method``'s table and converted (ints to int, reals to
    float); raises :class:`OptionError` naming the option and the method."""
    spec = SPECS[method]
    out = {}
    for name, value in values.items():
        rule = spec[name]
        try:
            out[name] = rule(value)
        except (ValueError, TypeError, OverflowError):
            raise OptionError(f"{method}: option {name!r} must be {rule}, got {value!r}") from None
    if out.get("c1") is not None and out.get("c2") is not None and not out["c1"] < out["c2"]:
        raise OptionError(f"{method}: the Wolfe constants need c1 < c2, got c1={out['c1']} "
                          f"and c2={out['c2']}")
    if "delta0" in out and "delta_max" in out and out["delta0"] > out["delta_max"]:
        raise OptionError(f"{method}: the initial trust radius delta0={out['delta0']} exceeds "
                          f"delta_max={out['delta_max']}")
    return out


def check_common(method, callback, history):
    """The keywords every method takes: ``callback`` callable or None, ``history`` a bool."""
    if callback is not None and not callable(callback):
        raise OptionError(f"{method}: callback must be callable or None, got {callback!r}")
    if not isinstance(history, bool) and type(history).__name__ != "bool_":
        raise OptionError(f"{method}: option 'history' must be True or False, got {history!r}")
