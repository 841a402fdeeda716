"""Located configuration errors: every problem at once, each naming file, line and field."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from config.messages import Message, said

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


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input. `line` is 1-based; 0 when the file has no lines.
    `said` is the message as data (config/messages.py), rendered in a language only where
    it is shown; `message` is its English."""

    file: str
    line: int
    path: str
    said: Message

    @property
    def message(self) -> str:
        return self.said.render("en")

    def text(self, lang: str = "en") -> str:
        """`FILE:LINE: field.path: message`, the message in `lang` (the location as it is)."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        message = self.said.render(lang)
        return f"{where}: {self.path}: {message}" if self.path else f"{where}: {message}"

    def __str__(self) -> str:
        return self.text("en")


class ConfigError(Exception):
    """The configuration (or inventory, or sheet) is invalid; nothing was applied.
    `lang` is the language the configuration itself asks for (`agent.lang`), when its main
    file said so before the problems were found: a default for showing them."""

    def __init__(self, problems: Iterable[Problem], lang: str | None = None):
        self.problems: Sequence[Problem] = sorted(set(problems), key=_order)
        self.lang = lang
        super().__init__("\n".join(str(p) for p in self.problems))

    def text(self, lang: str = "en") -> str:
        """Every problem, one a line, in `lang`."""
        return "\n".join(p.text(lang) for p in self.problems)


def _order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.file, problem.line, problem.path, problem.message)


def shown(value: object, limit: int = 60) -> str:
    """`value` quoted for a message (its repr), cut to `limit` characters: a value may be
    a pasted page, or an int too long for Python to print."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number of 20 digits or more"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...{text[-1]}"


def did_you_mean(word: object, choices: Iterable[object], cutoff: float = 0.6) -> Message:
    """' (did you mean 'x'?)' for the closest choice, or an empty message when none is
    close (`cutoff`: how close, difflib's ratio)."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1,
                                      cutoff=cutoff)
    return said("did_you_mean", choice=repr(close[0])) if close else said("none")
