"""Reading typed values back out of parsed JSON, each error naming where it is.

The agent's records write themselves as plain JSON (`as_json`) and read themselves back
(`from_json`) through `Fields`: a value of the wrong type, or a key that is missing, raises
`FieldError("devices.sw-1.polls: expected an integer, got 'x'")` instead of surfacing as a
TypeError far from the file it came from.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class FieldError(ValueError):
    """A JSON value is missing or not of the expected type; the message says where."""


class Fields:
    """One JSON object, read key by key. `where` is its path from the document's root."""

    def __init__(self, data: object, where: str = "") -> None:
        if not isinstance(data, Mapping):
            raise FieldError(f"{where or 'the document'}: expected an object, "
                             f"got {_shown(data)}")
        self._data: Mapping[str, object] = data
        self.where = where

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def raw(self, key: str) -> object:
        """The value as parsed; a missing key is an error."""
        if key not in self._data:
            raise FieldError(f"{self._at(key)}: missing")
        return self._data[key]

    def has(self, key: str) -> bool:
        return key in self._data

    def names(self) -> list[str]:
        return list(self._data)

    def child(self, key: str) -> Fields:
        return Fields(self.raw(key), self._at(key))

    def children(self, key: str) -> list[Fields]:
        """The objects of a list value, each read as Fields."""
        value = self.raw(key)
        if not isinstance(value, list):
            raise self.wrong(key, "a list", value)
        return [Fields(item, f"{self._at(key)}[{index}]") for index, item in enumerate(value)]

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise self.wrong(key, "a string", value)
        return value

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong(key, "an integer", value)
        return value

    def number(self, key: str) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.wrong(key, "a number", value)
        return float(value)

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.wrong(key, "true or false", value)
        return value

    def time(self, key: str) -> datetime:
        """An ISO 8601 time with its offset."""
        text = self.text(key)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise self.wrong(key, "an ISO 8601 time", text) from None
        if value.tzinfo is None:
            raise self.wrong(key, "a time with its UTC offset", text)
        return value

    # A key that is present with the value null; a missing key is still an error.

    def optional_text(self, key: str) -> str | None:
        return None if self.raw(key) is None else self.text(key)

    def optional_integer(self, key: str) -> int | None:
        return None if self.raw(key) is None else self.integer(key)

    def optional_number(self, key: str) -> float | None:
        return None if self.raw(key) is None else self.number(key)

    def optional_time(self, key: str) -> datetime | None:
        return None if self.raw(key) is None else self.time(key)

    def wrong(self, key: str, expected: str, value: object) -> FieldError:
        return FieldError(f"{self._at(key)}: expected {expected}, got {_shown(value)}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
