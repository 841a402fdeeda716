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

_FORM = re.compile(r"^\s*(?P<path>[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)\s*"
                   r"(?P<op>==|!=|<=|>=|<|>)\s*(?P<literal>.+?)\s*$")
_ORDERING = ("<", "<=", ">", ">=")
_MISSING = object()


class ExpectationError(ValueError):
    """The expectation text is not of the form PATH OP LITERAL; the message says why."""


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
        raise ExpectationError(f"not text: {text!r}")
    match = _FORM.match(text)
    if match is None:
        raise ExpectationError(
            f"not PATH OP VALUE: {text!r} (e.g. 'printer.paper == \"ok\"', 'uptime_s > 60')")
    try:
        value = json.loads(match["literal"])
    except ValueError:
        raise ExpectationError(
            f"{text!r}: {match['literal']} is not a JSON value (quote text: \"ok\")") from None
    if isinstance(value, (dict, list)):
        raise ExpectationError(f"{text!r}: compare with a number, text, true, false or null")
    op = match["op"]
    if op in _ORDERING and not (_number(value) or isinstance(value, str)):
        raise ExpectationError(f"{text!r}: {op} needs a number or text to compare with")
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
