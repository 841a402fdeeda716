"""Plain-text tables for the terminal that line up with Korean text (wide characters).

Cells often hold what a device or a file said (sysName, ifAlias, an error quoting it):
each is shown through `config.printable`, so no control sequence reaches the terminal and
no cell breaks its row.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence

from config.printable import printable


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide and full-width count as two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


def _line(cells: Sequence[str], widths: Sequence[int], right_aligned: Sequence[int]) -> str:
    return "  ".join(_pad(cell, width, i in right_aligned)
                     for i, (cell, width) in enumerate(zip(cells, widths, strict=True))).rstrip()


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                 right_aligned: Sequence[int] = ()) -> str:
    """A table with a header rule; None shows as '-'. `right_aligned`: column indexes."""
    headers = [printable(h) for h in headers]
    cells = [[("-" if value is None else printable(str(value))) for value in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        widths = [max(w, display_width(c)) for w, c in zip(widths, row, strict=True)]
    lines = [_line(headers, widths, right_aligned), "  ".join("-" * w for w in widths)]
    lines += [_line(row, widths, right_aligned) for row in cells]
    return "\n".join(lines) + "\n"


def render_csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The same rows as CSV for a spreadsheet or a script: None is an empty cell, values
    as they are (CSV quoting keeps commas and line breaks inside their cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([("" if value is None else value) for value in row] for row in rows)
    return out.getvalue()
