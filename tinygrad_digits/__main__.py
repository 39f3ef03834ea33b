"""`python -m tinygrad_digits ...` runs the command-line interface (see cli/)."""

import sys

from .cli import main

sys.exit(main())
