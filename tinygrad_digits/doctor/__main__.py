"""`python -m tinygrad_digits.doctor [options]`: the doctor subcommand on its own."""

import sys

from ..cli.doctor import main

sys.exit(main())
