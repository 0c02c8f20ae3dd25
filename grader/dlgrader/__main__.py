"""``python -m dlgrader``: the same as the ``dlgrader`` command."""

import sys

from dlgrader.cli import main

sys.exit(main())
