"""``python -m derive_cli``: the ``derive`` command."""
import sys

from .cli import main

sys.exit(main())
