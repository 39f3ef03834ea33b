"""Training on top of nn, optim and data: the loop (fit, evaluate) and its callbacks
(progress, best-epoch checkpoints, history, plots, early stopping, TensorBoard), checkpoints,
the model factory the CLI builds from a config, metrics and plots. The CLI, the examples and the
doctor use it; nothing below it imports it."""

from .callbacks import (
    Callback,
    CallbackList,
    Checkpoint,
    EarlyStopping,
    Plots,
    Progress,
    SaveHistory,
    TensorBoard,
)
from .checkpoints import CHECKPOINT_NAME, LEGACY_CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .history import History
from .loop import EvalResult, TrainState, evaluate, fit, report
from .metrics import accuracy, confusion_matrix, format_confusion_matrix
from .models import build_model, describe, make_config, parse_hidden, register_model

__all__ = [
    "CHECKPOINT_NAME",
    "LEGACY_CHECKPOINT_NAME",
    "Callback",
    "CallbackList",
    "Checkpoint",
    "EarlyStopping",
    "EvalResult",
    "History",
    "Plots",
    "Progress",
    "SaveHistory",
    "TensorBoard",
    "TrainState",
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
