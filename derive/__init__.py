"""derive: the symbolic layer of derive-toolkit (SymPy only)."""
from ._version import __version__
from . import ml

__all__ = ["__version__", "ml"]
