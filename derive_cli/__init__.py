"""derive_cli: the ``derive`` command line and ``derive demo``, on top of derive, codegen and solvers.

The application layer: it may import every package below it, and none of them imports
it. Run it as ``derive ...`` (the console script) or ``python -m derive_cli ...``.

>>> from derive_cli import main
>>> main(["grad", "x**2*y", "--json"])
{
  "command": "grad",
  "result": {
    "gradient": [
      [
        "2*x*y"
      ],
      [
        "x**2"
      ]
    ],
    "note": null
  }
}
0
"""
from .cli import main

__all__ = ["main"]
