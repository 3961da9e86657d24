"""``python -m sarle``: the same as the ``sarle`` command."""

import sys

from .cli import main

sys.exit(main())
