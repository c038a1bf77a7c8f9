"""codegen: SymPy expressions in, cached Numba kernels out.

>>> import sympy as sp, codegen
>>> a, b = sp.symbols("a b")
>>> obj = codegen.compile(sp.exp(a) * b**2, [a, b])
>>> obj.grad([0.0, 3.0]).tolist()
[9.0, 6.0]
"""
from .cache import clear_cache
from .errors import ArgumentError, CodegenError, UnknownSymbolError, UnsupportedFunctionError
from .export import export
from .objective import CompiledObjective, CompiledVectorFunction, compile, compile_vector

__all__ = ["compile", "compile_vector", "export", "clear_cache", "CompiledObjective",
           "CompiledVectorFunction", "CodegenError", "UnsupportedFunctionError",
           "UnknownSymbolError", "ArgumentError"]
