"""Agent logging: plain lines for a terminal or journald, or one JSON object per line for
a log shipper. Records about one device carry its id (`extra={"device_id": ...}`), shown as
`device=ID` in plain lines and as a `device_id` key in JSON, so one device's history can be
grepped out of a busy agent's log. Structured context (a mapping or a list, such as the log
channel's `extra={"alert": {...}}`) is for JSON, where it is nested as it is; a plain line
leaves it out, as its message already says the same in words.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

# Keys of a LogRecord that are bookkeeping, not context worth printing.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _context(record: logging.LogRecord) -> dict[str, object]:
    """The `extra=` fields of a record (device_id first), in a stable order."""
    extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
    return dict(sorted(extra.items(), key=lambda kv: (kv[0] != "device_id", kv[0])))


class _Formatter(logging.Formatter):
    def __init__(self, zone: ZoneInfo) -> None:
        super().__init__()
        self.zone = zone

    def timestamp(self, record: logging.LogRecord) -> str:
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="milliseconds")


class PlainFormatter(_Formatter):
    """`2026-11-22T17:00:01.123+09:00 WARNING lifeline.agent device=bb-sw-1 message`."""

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{('device' if k == 'device_id' else k)}={v}"
                           for k, v in _context(record).items()
                           if not isinstance(v, (dict, list, tuple)))
        line = f"{self.timestamp(record)} {record.levelname} {record.name}"
        line += f" {context} {record.getMessage()}" if context else f" {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(_Formatter):
    """One JSON object per line: time, level, logger, message, then the context keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {"time": self.timestamp(record), "level": record.levelname,
                                    "logger": record.name, "message": record.getMessage()}
        entry.update({k: _json_value(v) for k, v in _context(record).items()})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _json_value(value: object) -> object:
    """Numbers, booleans and None as they are; mappings and lists nested (their leaves by
    the same rule); anything else as its text."""
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)


def configure_logging(fmt: Literal["plain", "json"], zone: ZoneInfo,
                      level: int = logging.INFO) -> None:
    """Send every `lifeline.*` record (and the libraries' warnings) to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(zone) if fmt == "json" else PlainFormatter(zone))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("lifeline").setLevel(level)
