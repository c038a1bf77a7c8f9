"""The interface of a generated kernel module, declared once: its kernels and its constants.

The emitter (:mod:`codegen.emit`) writes modules that define these names; the loader
(:mod:`codegen.compiled`) and :func:`codegen.export` read them from here, never by
spelling them again.  Each constant is a field of :class:`ObjectiveConstants` or
:class:`VectorConstants`, written in the module as the field's name in upper case.

>>> objective_kernels(order=1)
('value', 'grad', 'value_and_grad')
>>> parallel(HESSP)
'hessp_parallel'
>>> [module_name(f) for f in fields(VectorConstants)][:3]
['KIND', 'N', 'M']
"""
from dataclasses import dataclass, field, fields

__all__ = ["VALUE", "GRAD", "VALUE_AND_GRAD", "HESS", "HESS_VALUES", "HESSP", "HESS_UPPER",
           "JACOBIAN", "JACOBIAN_VALUES", "VECTOR_KERNELS", "objective_kernels", "parallel",
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


def objective_kernels(order):
    """Names of the kernels an objective module of Hessian ``order`` (1 or 2) defines."""
    first = (VALUE, GRAD, VALUE_AND_GRAD)
    return first + (HESS, HESS_VALUES, HESSP, HESS_UPPER) if order >= 2 else first


def parallel(name):
    """Name of the multi-threaded variant of kernel ``name`` (objectives with data only)."""
    return name + _PARALLEL_SUFFIX


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
    nnz_upper: int
    hu_row: tuple = _int_array()
    hu_col: tuple = _int_array()
    hess_indptr: tuple = _int_array()
    hess_indices: tuple = _int_array()


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
