"""`tinygrad-digits`: train, evaluate, predict, gradcheck (and graph) from the command line.

    tinygrad-digits train                      # 8×8 digits, MLP 128-64, ~98% test accuracy
    tinygrad-digits evaluate runs/digits
    tinygrad-digits predict runs/digits my_digit.png --json
    tinygrad-digits gradcheck

Every failure a user can cause (a bad argument, path, data or model file, a missing device or
optional package) ends with one line on stderr and a non-zero exit code, never a traceback;
``--debug`` (or TINYGRAD_DIGITS_DEBUG=1) shows the traceback for bug reports.

One module per command (train.py, evaluate.py, predict.py, gradcheck.py: add_parser and run),
options.py (option types and groups they share), parser.py (build_parser) and entry.py
(main: run a command, errors as one line). What the library and examples also need (load_data,
load_model) lives in training/loading.py.
"""

from ..training.prediction import model_input
from .entry import main
from .errors import CLIError
from .parser import PROG, build_parser
from .train import DEFAULTS

__all__ = [
    "DEFAULTS",
    "PROG",
    "CLIError",
    "build_parser",
    "main",
    "model_input",
]
