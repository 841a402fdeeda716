"""Located configuration errors: every problem at once, each naming file, line and field."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Path_ = tuple[str | int, ...]


def format_path(path: Path_) -> str:
    """('devices', 3, 'acquired') -> 'devices[3].acquired'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the input. `line` is 1-based; 0 when the file has no lines."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration (or inventory, or sheet) is invalid; nothing was applied."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: Sequence[Problem] = sorted(set(problems), key=_order)
        super().__init__("\n".join(str(p) for p in self.problems))


def _order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.file, problem.line, problem.path, problem.message)


def shown(value: object, limit: int = 60) -> str:
    """`value` quoted for a message (its repr), cut to `limit` characters: a value may be
    a pasted page, or an int too long for Python to print."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number of 20 digits or more"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...{text[-1]}"


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
