"""The training doctor: why isn't my network learning?

`quick_checks(model, x, y)` runs the cheap checks on one batch before training;
`diagnose(model, x, y, loss_fn, optimizer, steps=20)` runs a few real steps and returns a
`Report` of every finding, each a measured, one-line diagnosis with the fix; when the run does
not learn, short trials of the same set-up (other learning rates, wider layers, the default
init, normalised inputs, more steps) measure each fix, and the report ranks them by what they
gained (`Report.first_fix`). `check_image(pixels, config)` is predict's check of a picture
against the training images. Findings are data
(`Finding`: code, severity, layer, message, advice, value) for notebooks; `Report.print()`
and `format_findings` turn them into text. NaN hunting: `tinygrad_digits.detect_anomaly()`.
"""

# What a user of the doctor calls; the severities, CODES and sorting live in diagnostics.findings.
from ..diagnostics.findings import Finding, at_least, format_findings
from .checks_image import check_image, warn_about_images
from .report import LayerRow, Report
from .runner import check_before_training, diagnose, quick_checks, run_doctor_checks

__all__ = [
    "Finding",
    "LayerRow",
    "Report",
    "at_least",
    "check_before_training",
    "check_image",
    "diagnose",
    "format_findings",
    "quick_checks",
    "run_doctor_checks",
    "warn_about_images",
]
