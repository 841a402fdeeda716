"""A response body read as JSON, with its nesting bounded.

Python's JSON decoder recurses once per level: a body of 100,000 `[` raises RecursionError
(not a ValueError), and a document a few hundred levels deep that does decode can still
break whatever walks it later. No health document nests more than a handful of levels,
so more than MAX_DEPTH is a bad response, said in words like any invalid JSON.
"""
from __future__ import annotations

import json

from collectors.base import JsonValue

MAX_DEPTH = 64


class JsonRefusedError(ValueError):
    """The body is not JSON we take; the message says why, without the body."""


def bounded_json(body: bytes) -> JsonValue:
    """The document in `body`. Raises JsonRefusedError for invalid JSON or nesting deeper than
    MAX_DEPTH."""
    try:
        document: JsonValue = json.loads(body)
    except RecursionError:
        raise JsonRefusedError(_TOO_DEEP) from None
    except ValueError as exc:
        raise JsonRefusedError(f"body is not valid JSON ({exc})") from None
    if _deeper_than(document, MAX_DEPTH):
        raise JsonRefusedError(_TOO_DEEP)
    return document


_TOO_DEEP = f"body is JSON nested more than {MAX_DEPTH} levels deep"


def _deeper_than(document: JsonValue, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels; without recursion."""
    level: list[JsonValue] = [document]
    for _ in range(limit):
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict)
                               else node if isinstance(node, list) else ())]
        if not level:
            return False
    return any(isinstance(node, (dict, list)) for node in level)
