"""The one progress bar (training epochs, downloads): tqdm when installed, else a plain line.

It sits at the bottom of the package so that data (downloads) and training (epochs) share it.
The caller decides what the numbers cost: ``update`` only counts and reads the clock, and
says when a redraw is due; only then does the caller compute the statistics it wants shown
(for training, a device-to-host sync), and pass them to ``show``.
"""

from __future__ import annotations

import html
import sys
import time
from typing import IO, Any

__all__ = ["ProgressBar", "html_table", "html_text"]

_WIDTH = 160  # the plain line is cut to this many characters


class ProgressBar:
    """A bar redrawn in place (on stderr by default).

    ``enabled=True`` draws it only when the stream is a terminal (logs and pipes stay clean);
    ``"always"`` draws it anyway; False never. ``leave`` keeps the last state on screen at
    ``close`` (a finished download) instead of erasing it (an epoch, followed by its summary
    line). ``unit="B"`` counts bytes and shows them in MB.
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        unit: str = "it",
        enabled: bool | str = True,
        leave: bool = False,
        file: IO[str] | None = None,
        interval: float = 0.25,
    ) -> None:
        self.total, self.desc, self.unit, self.leave = total, desc, unit, leave
        self.file = file if file is not None else sys.stderr
        self.interval = interval
        self.count = 0
        self.stats = ""
        self._last = time.perf_counter()
        self._tqdm: Any = None
        self.enabled = enabled == "always" or (bool(enabled) and _isatty(self.file))
        if not self.enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._tqdm = tqdm(
            total=total or None,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            leave=leave,
            file=self.file,
            dynamic_ncols=True,
            mininterval=interval,
        )

    def update(self, n: int = 1) -> bool:
        """Count ``n`` more; True when a redraw is due (then call ``show``)."""
        self.count += n
        if not self.enabled:
            return False
        now = time.perf_counter()
        if now - self._last < self.interval:
            return False
        self._last = now
        return True

    def show(self, stats: str = "") -> None:
        """Redraw with the count so far and ``stats`` (e.g. the running loss)."""
        self.stats = stats
        if self._tqdm is not None:
            if stats:
                self._tqdm.set_postfix_str(stats, refresh=False)
            self._tqdm.update(self.count - self._tqdm.n)
        elif self.enabled:
            self.file.write("\r" + self._line()[:_WIDTH])
            self.file.flush()

    def close(self) -> None:
        """Erase the bar, or with ``leave`` draw its final state and end the line."""
        if self._tqdm is not None:
            self._tqdm.update(self.count - self._tqdm.n)
            self._tqdm.close()
        elif self.enabled:
            end = self._line()[:_WIDTH] + "\n" if self.leave else " " * _WIDTH + "\r"
            self.file.write("\r" + end)
            self.file.flush()

    def _line(self) -> str:
        if not self.total:
            return f"{self.desc} {self._amount(self.count)} {self.stats}".rstrip()
        done = min(self.count / self.total, 1.0)
        bar = "#" * int(24 * done) + "." * (24 - int(24 * done))
        amounts = f"{self._amount(self.count, False)}/{self._amount(self.total)}"
        return f"{self.desc} [{bar}] {amounts} {done:.0%} {self.stats}".rstrip()

    def _amount(self, n: int, with_unit: bool = True) -> str:
        if self.unit == "B":
            return f"{n / 1e6:.1f}" + (" MB" if with_unit else "")
        return str(n)


def _isatty(file: Any) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):
        return False


# Notebook display (`_repr_html_`) of reports and histories; kept here, at the bottom of the
# package, because training, viz and the doctor all show their results this way.
def html_text(text: str) -> str:
    """Plain text as a notebook shows it: monospaced, escaped, lines kept."""
    return f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"


def html_table(head: list[str], rows: list[list[Any]], caption: str = "") -> str:
    """A small HTML table; each cell is shown with str() and escaped."""
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
