"""Checks of the arrays passed to compiled kernels (SymPy-free: workers use them too).

>>> real_array([1, 2], "x").dtype
dtype('float64')
>>> check_finite(np.array([1.0, np.nan]), "data[0] (y)")
Traceback (most recent call last):
    ...
codegen.errors.ArgumentError: data[0] (y) has nan at row 1: data must be finite; drop or impute the rows with missing values first
"""
import numpy as np

from .errors import ArgumentError

__all__ = ["real_array", "check_finite", "float_vector"]


def real_array(a, name):
    """``a`` as a C-contiguous float64 array; complex or non-numeric input is refused, not cast
    (NumPy would drop an imaginary part with only a warning)."""
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested sequences
        raise ArgumentError(f"{name} is not a rectangular array of numbers: {exc}") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise ArgumentError(f"{name} is complex ({arr.dtype}), but variables and data are "
                            "real: pass its .real part if the imaginary part is meant to go")
    if kind not in "fiub":
        raise ArgumentError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_finite(a, name):
    """Refuse NaN/inf, naming the first bad entry; one summing pass when all is well."""
    if np.isfinite(a.sum()):  # a NaN or inf anywhere makes the sum non-finite
        return
    bad = np.argwhere(~np.isfinite(a))
    if bad.size == 0:  # the sum overflowed: every entry is finite
        return
    at = tuple(int(i) for i in bad[0])
    if a.ndim == 1 and name == "params":
        raise ArgumentError(f"params[{at[0]}] is {a[at]}: params must be finite")
    where = f"row {at[0]}" + (f", column {at[1]}" if a.ndim == 2 else "")
    raise ArgumentError(f"{name} has {a[at]} at {where}: data must be finite; drop or impute "
                        "the rows with missing values first")


def float_vector(a, name, n):
    """``a`` as a float64 vector of length ``n`` (see :func:`real_array`)."""
    a = real_array(a, name)
    if a.ndim != 1 or a.shape[0] != n:
        raise ArgumentError(f"{name} must be a 1-D array of length {n}, got shape {a.shape}")
    return a
