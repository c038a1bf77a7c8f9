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

__all__ = ["real_array", "check_finite", "float_vector", "check_rows"]


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


def check_rows(rows, N):
    """Global row indices (int64) from an index array or a boolean mask of length ``N``."""
    r = np.asarray(rows)
    if r.dtype == bool:
        if r.shape != (N,):
            raise ArgumentError(f"boolean rows must have shape ({N},), got {r.shape}")
        r = np.flatnonzero(r)
    if r.ndim != 1 or not (r.dtype.kind in "iu" or r.size == 0):
        raise ArgumentError(f"rows must be a 1-D integer index array, got {r.dtype} {r.shape}")
    r = np.ascontiguousarray(r, dtype=np.int64)  # the kernels index with it
    if r.size == 0:
        raise ArgumentError("rows selects no row: a sum or mean over no rows is no objective; "
                            "select at least one row")
    if r.min() < 0 or r.max() >= N:
        raise ArgumentError(f"rows must lie in [0, {N}), got min {r.min()} max {r.max()}")
    return r
