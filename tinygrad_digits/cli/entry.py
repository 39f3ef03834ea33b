"""main(): run a command; any error becomes one line on stderr and an exit code."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence

from .errors import CLIError
from .parser import PROG, build_parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    # Library messages name Python arguments; on the command line the same choice is a flag.
    text = re.sub(r"\bdevice=(['\"])([^'\"]+)\1", r"--device \2", text)
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 success, 1 failure, 2 usage error)."""
    try:  # Ctrl-C while the parser (and with it the library) loads: no traceback either
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    debug = args.debug or os.environ.get("TINYGRAD_DIGITS_DEBUG") == "1"
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `... | head`: stop quietly, as other command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except CLIError as exc:
        if debug:
            raise
        print(f"{PROG} {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # every library error names its cause; show it as one line
        if debug:
            raise
        known = (OSError, ValueError, RuntimeError, ImportError, LookupError, TypeError)
        hint = "" if isinstance(exc, known) else " (run with --debug for the traceback)"
        print(f"{PROG} {args.command}: error: {_one_line(exc)}{hint}", file=sys.stderr)
        return 1
