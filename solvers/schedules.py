"""Learning-rate schedules for the gradient-descent family.

Each schedule is a small object with a code and parameters that the Numba loop evaluates with
:func:`schedule_lr`; calling it, ``sched(k, lr)``, gives the learning rate of step ``k``
(0-based) in Python, e.g. to plot or test it:

>>> Cosine(T=10)(5, 0.1)
0.05
>>> [round(StepDecay(step_size=2, gamma=0.5)(k, 1.0), 3) for k in range(5)]
[1.0, 1.0, 0.5, 0.5, 0.25]
"""
import math

import numpy as np
from numba import njit

__all__ = ["Constant", "StepDecay", "Exponential", "Cosine", "WarmupCosine",
           "CosineWarmRestarts", "ReduceOnPlateau", "schedule_lr", "as_schedule"]

CONSTANT, STEP, EXPONENTIAL, COSINE, WARMUP_COSINE, RESTARTS, PLATEAU = range(7)


@njit(cache=True)
def schedule_lr(code, p, k, lr):
    """Learning rate at step k for schedule ``code`` with parameters ``p`` and base rate ``lr``."""
    if code == STEP:
        return lr * p[1] ** (k // int(p[0]))
    if code == EXPONENTIAL:
        return lr * p[0] ** k
    if code == COSINE:
        t = min(k, p[0])
        return p[1] + 0.5 * (lr - p[1]) * (1.0 + np.cos(np.pi * t / p[0]))
    if code == WARMUP_COSINE:
        warm = p[0]
        if k < warm:
            return lr * (k + 1) / warm
        span = max(p[1] - warm, 1.0)
        t = min(k - warm, span)
        return p[2] + 0.5 * (lr - p[2]) * (1.0 + np.cos(np.pi * t / span))
    if code == RESTARTS:  # SGDR (Loshchilov & Hutter 2017)
        period = p[0]
        t = float(k)
        if p[1] == 1.0:  # equal periods: O(1), not a loop over every restart so far
            t = t % period
        while t >= period:
            t -= period
            period *= p[1]
        return p[2] + 0.5 * (lr - p[2]) * (1.0 + np.cos(np.pi * t / period))
    return lr


@njit(cache=True)
def plateau_update(state, f, p):
    """Reduce-on-plateau bookkeeping; state = [best, bad_steps, scale]. Returns the new scale.

    A value counts as better when f < best - threshold * |best|; after more than ``patience``
    steps without improvement the scale is multiplied by ``factor``.
    """
    factor, patience, threshold = p[0], p[1], p[2]
    if not np.isfinite(state[0]) or f < state[0] - threshold * abs(state[0]):
        state[0] = f
        state[1] = 0.0
    else:
        state[1] += 1.0
        if state[1] > patience:
            state[2] *= factor
            state[1] = 0.0
    return state[2]


class _Schedule:
    code = CONSTANT
    fields = ()  # the attributes schedule_lr reads, in the order of its parameters p

    def params(self):
        p = [getattr(self, name) for name in self.fields]
        return np.array(p + [0.0] * (4 - len(p)), dtype=float)

    def __call__(self, k, lr):
        return float(schedule_lr(self.code, self.params(), k, lr))

    def __repr__(self):
        shown = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({shown})"


class Constant(_Schedule):
    """The same learning rate at every step."""


class StepDecay(_Schedule):
    """lr * gamma ** (k // step_size)."""
    code = STEP
    fields = ("step_size", "gamma")

    def __init__(self, step_size, gamma=0.1):
        if step_size < 1:
            raise ValueError(f"StepDecay step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)


class Exponential(_Schedule):
    """lr * gamma ** k."""
    code = EXPONENTIAL
    fields = ("gamma",)

    def __init__(self, gamma):
        self.gamma = float(gamma)


class Cosine(_Schedule):
    """lr_min + (lr - lr_min) (1 + cos(pi min(k, T) / T)) / 2."""
    code = COSINE
    fields = ("T", "lr_min")

    def __init__(self, T, lr_min=0.0):
        if T <= 0:
            raise ValueError(f"Cosine T must be > 0, got {T}")
        self.T, self.lr_min = float(T), float(lr_min)


class WarmupCosine(_Schedule):
    """Linear warm-up lr (k+1)/warmup for k < warmup, then cosine decay until step T."""
    code = WARMUP_COSINE
    fields = ("warmup", "T", "lr_min")

    def __init__(self, warmup, T, lr_min=0.0):
        if warmup < 1:
            raise ValueError(f"WarmupCosine warmup must be >= 1, got {warmup}")
        self.warmup, self.T, self.lr_min = float(warmup), float(T), float(lr_min)


class CosineWarmRestarts(_Schedule):
    """Cosine decay restarted every period; periods T0, T0*T_mult, T0*T_mult**2, ..."""
    code = RESTARTS
    fields = ("T0", "T_mult", "lr_min")

    def __init__(self, T0, T_mult=1.0, lr_min=0.0):
        if T0 <= 0 or T_mult < 1:
            raise ValueError(f"CosineWarmRestarts needs T0 > 0 and T_mult >= 1, got {T0}, {T_mult}")
        self.T0, self.T_mult, self.lr_min = float(T0), float(T_mult), float(lr_min)


class ReduceOnPlateau(_Schedule):
    """Multiply lr by ``factor`` after ``patience`` checks without relative improvement.

    Checked once per iteration (full batch) or once per epoch (mini-batches), on the objective.
    """
    code = PLATEAU
    fields = ("factor", "patience", "threshold", "min_lr")

    def __init__(self, factor=0.5, patience=10, threshold=1e-4, min_lr=0.0):
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceOnPlateau factor must be in (0, 1), got {factor}")
        self.factor, self.patience = float(factor), int(patience)
        self.threshold, self.min_lr = float(threshold), float(min_lr)

    def rates(self, lr, values):
        """Learning rate used after each value in ``values`` is observed."""
        state = np.array([np.inf, 0.0, 1.0])
        p = self.params()
        return [max(lr * plateau_update(state, float(f), p), self.min_lr) for f in values]


_NAMES = {"constant": Constant, "step": StepDecay, "exponential": Exponential, "cosine": Cosine,
          "warmup_cosine": WarmupCosine, "cosine_restarts": CosineWarmRestarts,
          "plateau": ReduceOnPlateau}


def as_schedule(schedule):
    """A schedule object from None, a schedule, or a name with defaults that need no arguments."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, _Schedule):
        return schedule
    if isinstance(schedule, str):
        cls = _NAMES.get(schedule)
        if cls is None:
            raise ValueError(f"unknown schedule {schedule!r}; choose one of {sorted(_NAMES)}")
        try:
            return cls()
        except TypeError:
            raise ValueError(f"schedule {schedule!r} needs parameters: pass "
                             f"solvers.schedules.{cls.__name__}(...) instead of its name") from None
    raise TypeError(f"schedule must be a name or a solvers.schedules object, got {schedule!r}")


del math
