"""Located configuration errors: every problem at once, each naming file, line and field."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

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
