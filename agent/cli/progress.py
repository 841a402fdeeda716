"""A progress line on stderr for commands that can take a while (import, poll, plan).

Shown only when stderr is a terminal (`TERM=dumb` is not): a script, a pipe or a log file
gets nothing, so what they capture is the same as before. The line is rewritten in place
(carriage return, at most a few times a second) and erased when the work is done, so the
command's own output and messages start on a clean line.
"""
from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO

REDRAW_SECONDS = 0.2


def wanted(stream: TextIO) -> bool:
    """Whether a progress line belongs on `stream`: a terminal that can move the cursor."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):     # a replaced or closed stream
        return False


class Progress:
    """`with Progress("polling", total) as p: ... p.advance()`: "polling: 12/300 devices";
    `p.phase("planning 20,000 devices")` for work that cannot be counted."""

    def __init__(self, label: str, total: int | None = None, unit: str = "",
                 stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.label, self.total, self.unit = label, total, unit
        self.done: int | None = 0
        self.shown = wanted(self.stream)
        self._drawn_at: float | None = None
        self._width = 0

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def advance(self, count: int = 1) -> None:
        self.done = (self.done or 0) + count
        self._draw(force=self.done == self.total)

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        self._draw(force=self.done == self.total)

    def phase(self, label: str) -> None:
        """A step that is not counted: the line says which step runs now."""
        self.label, self.total, self.done = label, None, None
        self._draw(force=True)

    def close(self) -> None:
        """Erases the line (when one was drawn)."""
        if self.shown and self._drawn_at is not None:
            self._write("\r" + " " * self._width + "\r")
            self._drawn_at = None

    def _draw(self, *, force: bool = False) -> None:
        if not self.shown:
            return
        now = time.monotonic()
        if not force and self._drawn_at is not None and now - self._drawn_at < REDRAW_SECONDS:
            return
        self._drawn_at = now
        if self.done is None:
            text = f"{self.label} ..."
        else:
            count = f"{self.done:,}/{self.total:,}" if self.total is not None \
                else f"{self.done:,}"
            text = f"{self.label}: {count}{' ' + self.unit if self.unit else ''}"
        self._write("\r" + text.ljust(self._width))
        self._width = max(self._width, len(text))

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.shown = False      # the terminal went away: the work goes on
