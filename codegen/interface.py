"""The interface of a generated kernel module, declared once: its kernels and its constants.

The emitter (:mod:`codegen.emit`) writes modules that define these names; the loader
(:mod:`codegen.compiled`) and :func:`codegen.export` read them from here, never by
spelling them again.  Each constant is a field of :class:`ObjectiveConstants` or
:class:`VectorConstants`, written in the module as the field's name in upper case.

>>> objective_kernels(order=1)
('value', 'grad', 'value_and_grad')
>>> parallel(HESSP)
'hessp_parallel'
>>> partial(VALUE_AND_GRAD), penalty(HESS_UPPER)
('value_and_grad_partial', 'penalty_hess_upper')
>>> [module_name(f) for f in fields(VectorConstants)][:3]
['KIND', 'N', 'M']
"""
from dataclasses import dataclass, field, fields

__all__ = ["VALUE", "GRAD", "VALUE_AND_GRAD", "HESS", "HESS_VALUES", "HESSP", "HESS_UPPER",
           "JACOBIAN", "JACOBIAN_VALUES", "VECTOR_KERNELS", "objective_kernels", "parallel",
           "partial", "partial_kernels", "penalty", "penalty_kernels",
           "ObjectiveConstants", "VectorConstants", "module_name", "is_int_array", "CACHE_NOTE",
           "EXPORT_NOTE", "exported"]

# Kernels of an objective module: ``name(x, p)`` without data, ``name(x, p, rows, d0, ...)``
# with data (``hessp`` takes ``v`` after ``x``).
VALUE = "value"
GRAD = "grad"
VALUE_AND_GRAD = "value_and_grad"
HESS = "hess"
HESS_VALUES = "hess_values"  # entries in the CSR order of HESS_INDPTR, HESS_INDICES
HESSP = "hessp"
HESS_UPPER = "hess_upper"  # upper-triangle entries in (HU_ROW, HU_COL) order

# Kernels of a vector-function module: ``name(x, p)``.
JACOBIAN = "jacobian"
JACOBIAN_VALUES = "jacobian_values"  # entries in the CSR order of JAC_INDPTR, JAC_INDICES
VECTOR_KERNELS = (VALUE, JACOBIAN, JACOBIAN_VALUES)

_PARALLEL_SUFFIX = "_parallel"
_PARTIAL_SUFFIX = "_partial"
_PENALTY_PREFIX = "penalty_"


def objective_kernels(order):
    """Names of the kernels an objective module of Hessian ``order`` (1 or 2) defines."""
    first = (VALUE, GRAD, VALUE_AND_GRAD)
    return first + (HESS, HESS_VALUES, HESSP, HESS_UPPER) if order >= 2 else first


def parallel(name):
    """Name of the multi-threaded variant of kernel ``name`` (objectives with data only)."""
    return name + _PARALLEL_SUFFIX


def partial(name):
    """Name of the kernel of the unreduced data sum behind kernel ``name`` (objectives with data):
    the sum over the given rows of the per-row term, neither averaged nor penalised."""
    return name + _PARTIAL_SUFFIX


def partial_kernels(order):
    """Kernels that have a :func:`partial` variant (and its :func:`parallel` variant)."""
    return (VALUE, GRAD, VALUE_AND_GRAD) + ((HESS_UPPER,) if order >= 2 else ())


def penalty(name):
    """Name of the kernel ``name(x, p)`` of the penalty alone (objectives with data and a
    penalty); its ``hess_upper`` is in the module's whole upper pattern (HU_ROW, HU_COL)."""
    return _PENALTY_PREFIX + name


def penalty_kernels(order):
    """Kernels that have a :func:`penalty` variant."""
    return partial_kernels(order)


def _int_array():
    return field(metadata={"int_array": True})


class _Constants:
    @classmethod
    def read(cls, module):
        """The constants as defined in the generated ``module``."""
        return cls(**{f.name: getattr(module, module_name(f)) for f in fields(cls)})


@dataclass(frozen=True)
class ObjectiveConstants(_Constants):
    """Constants of an objective module (``N``, ``REDUCE``, ``HESS_INDPTR`` ...)."""

    kind: str
    n: int
    n_params: int
    data_layout: tuple  # per data item: 0 for a 1-D array, k for an N x k array
    reduce: str
    order: int
    penalty: bool  # the module defines the penalty_* kernels (a data sum plus a penalty)
    nnz_upper: int
    hu_row: tuple = _int_array()
    hu_col: tuple = _int_array()
    hess_indptr: tuple = _int_array()
    hess_indices: tuple = _int_array()
    hu_pos1: tuple = _int_array()  # CSR position of upper entry k at (HU_ROW[k], HU_COL[k])
    hu_pos2: tuple = _int_array()  # ... and of its mirror (HU_COL[k], HU_ROW[k])


@dataclass(frozen=True)
class VectorConstants(_Constants):
    """Constants of a vector-function module (``M``, ``NNZ``, ``JAC_INDPTR`` ...)."""

    kind: str
    n: int
    m: int  # number of outputs
    n_params: int
    nnz: int  # structurally nonzero Jacobian entries
    jac_row: tuple = _int_array()
    jac_indptr: tuple = _int_array()
    jac_indices: tuple = _int_array()


def module_name(f):
    """The name under which the constants field ``f`` is defined in a generated module."""
    return f.name.upper()


def is_int_array(f):
    """True when the constants field ``f`` is an int64 array in the module."""
    return bool(f.metadata.get("int_array"))


#: The line of a cached module's docstring that :func:`exported` replaces.
CACHE_NOTE = "Do not edit: the file is a cache entry and is checksummed."
EXPORT_NOTE = "Exported with codegen.export: needs only numpy and numba."


def exported(source):
    """The source of a cached module as a standalone file (its docstring says so)."""
    return source.replace(CACHE_NOTE, EXPORT_NOTE, 1)
