"""What viz's gradient health and the doctor share: one Finding type (findings), one set of
thresholds (thresholds) and one way to look inside a model on a batch (probe).

Sits above nn, optim, data and training and below viz, doctor and the CLI.
"""

from .findings import CODES, ERROR, INFO, SEVERITIES, WARNING, Finding, format_findings

__all__ = ["CODES", "ERROR", "INFO", "SEVERITIES", "WARNING", "Finding", "format_findings"]
