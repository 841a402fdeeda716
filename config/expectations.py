"""`expect_json` expectations: `printer.paper == "ok"`, `uptime_s > 60`.

A tiny, safe form parsed once at config load, never evaluated as code:
`PATH OP LITERAL`, where PATH is dotted keys (a digit segment indexes a list), OP is one
of `==`, `!=`, `<`, `<=`, `>`, `>=`, and LITERAL is a JSON literal (`"text"`, `12.5`,
`true`, `false`, `null`). `<`/`<=`/`>`/`>=` compare two numbers or two strings.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from config.messages import Message, said

_FORM = re.compile(r"^\s*(?P<path>[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)\s*"
                   r"(?P<op>==|!=|<=|>=|<|>)\s*(?P<literal>.+?)\s*$")
_ORDERING = ("<", "<=", ">", ">=")
_MISSING = object()


# The kinds of config/problem_texts.py an ExpectationError says.
EXPECTATION_KINDS = ("expectation_not_text", "expectation_form", "expectation_literal",
                     "expectation_compound", "expectation_ordering")


class ExpectationError(ValueError):
    """The expectation text is not of the form PATH OP LITERAL; the message says why
    (`said`: the same as data, for English or Korean)."""

    def __init__(self, message: Message) -> None:
        self.said = message
        super().__init__(message.render("en"))


@dataclass(frozen=True, slots=True)
class Expectation:
    """One parsed expectation; `text` is what the user wrote, for messages."""

    text: str
    path: tuple[str, ...]
    op: str
    value: Any

    def check(self, document: Any) -> str | None:
        """None when the document meets the expectation, else why not (for
        `HttpFacts.failed_expectations`)."""
        found = lookup(document, self.path)
        if found is _MISSING:
            return f"{self.text}: {'.'.join(self.path)} is missing"
        if _holds(found, self.op, self.value):
            return None
        return f"{self.text}: {'.'.join(self.path)} is {json.dumps(found)[:80]}"


def parse(text: str) -> Expectation:
    """Parse `PATH OP LITERAL`; raises ExpectationError with a short reason."""
    if not isinstance(text, str):
        raise ExpectationError(said("expectation_not_text", value=repr(text)))
    match = _FORM.match(text)
    if match is None:
        raise ExpectationError(said("expectation_form", value=repr(text)))
    try:
        value = json.loads(match["literal"])
    except ValueError:
        raise ExpectationError(said("expectation_literal", value=repr(text),
                                    literal=match["literal"])) from None
    if isinstance(value, (dict, list)):
        raise ExpectationError(said("expectation_compound", value=repr(text)))
    op = match["op"]
    if op in _ORDERING and not (_number(value) or isinstance(value, str)):
        raise ExpectationError(said("expectation_ordering", value=repr(text), op=op))
    return Expectation(text.strip(), tuple(match["path"].split(".")), op, value)


def lookup(document: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path, or the private _MISSING marker."""
    node = document
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
    return node


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    # JSON's true is not 1: compare booleans only with booleans.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _holds(found: Any, op: str, value: Any) -> bool:
    if op == "==":
        return _same(found, value)
    if op == "!=":
        return not _same(found, value)
    comparable = (_number(found) and _number(value)) or (
        isinstance(found, str) and isinstance(value, str))
    if not comparable:
        return False
    return bool({"<": found < value, "<=": found <= value, ">": found > value,
                 ">=": found >= value}[op])
