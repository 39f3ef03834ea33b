"""`python -m tinygrad_digits.cli ...`: the same as `python -m tinygrad_digits ...`."""

import sys

from . import main

sys.exit(main())
