"""Exceptions of the data layer: each names the file or URL, what was wrong, and the fix."""


class DataFormatError(ValueError):
    """A data file exists but its contents are not what the loader expects."""


class DatasetNotFoundError(FileNotFoundError):
    """The files of a dataset are in none of the places the loader looked."""


class DownloadError(OSError):
    """Every mirror failed; ``attempts`` holds one ``(url, reason)`` pair per mirror tried."""

    def __init__(self, message: str, attempts: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.attempts = list(attempts or [])

    def __str__(self) -> str:
        return str(self.args[0])


class BlankImageError(ValueError):
    """An image has no ink to read a digit from (empty page, or a photo with no contrast)."""
