"""The `tinygrad-digits` argument parser: top-level options and every command."""

from __future__ import annotations

import argparse
from typing import Any

from . import doctor, evaluate, export, gradcheck, graph, predict, serve, train

PROG = "tinygrad-digits"
# Each command module has add_parser(subparsers), which sets func=run(args) -> int.
COMMANDS = (train, evaluate, predict, export, gradcheck, graph, doctor, serve)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and where to get help, no usage block."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Train and use handwritten-digit recognisers built on tinygrad_digits.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser
