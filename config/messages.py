"""A problem's message as data: a kind of the catalogue and its values, rendered at the edge.

What is wrong with an input is decided where it is found, but said only where it is shown:
a `Message` carries the catalogue kind (config/problem_texts.py has its English and Korean
templates) and the values to fill in, already as they are to be shown (a value from the
file quoted and cut short by `config.errors.shown`, a secret never among them). A value
may be a `Message` itself, rendered in the same language (a did-you-mean hint, a reason).
`render("en")` is the English the tests and logs have always read; `render("ko")` the
Korean of the CLI's `--lang ko`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from config.problem_texts import TEXTS

LANGS = ("en", "ko")

Value = Union[str, "Message"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message: `kind` (a key of the catalogue) and its `values` (name, value) pairs."""

    kind: str
    values: tuple[tuple[str, Value], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in TEXTS:
            raise KeyError(f"no texts for the message kind {self.kind!r}")

    def render(self, lang: str = "en") -> str:
        """The message in `lang` (`ko`, else English)."""
        text = TEXTS[self.kind]
        template = text.ko if lang == "ko" else text.en
        return template.format_map({name: value.render(lang) if isinstance(value, Message)
                                    else value for name, value in self.values})

    def __str__(self) -> str:
        return self.render("en")


def said(kind: str, /, **values: Value) -> Message:
    """The message `kind` with `values` (each already as it is to be shown)."""
    return Message(kind, tuple(values.items()))
