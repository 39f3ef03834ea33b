"""Training on top of nn, optim and data: the loop (fit, evaluate), the model factory the CLI
builds from a config, metrics and plots. The CLI, the examples and the doctor use it; nothing
below it imports it."""

from .loop import EvalResult, History, evaluate, fit, load_checkpoint, report, save_checkpoint
from .metrics import accuracy, confusion_matrix, format_confusion_matrix
from .models import build_model, describe, make_config, parse_hidden, register_model

__all__ = [
    "EvalResult",
    "History",
    "accuracy",
    "build_model",
    "confusion_matrix",
    "describe",
    "evaluate",
    "fit",
    "format_confusion_matrix",
    "load_checkpoint",
    "make_config",
    "parse_hidden",
    "register_model",
    "report",
    "save_checkpoint",
]
