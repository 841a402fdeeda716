"""The agent's log lines as a reader or a log shipper gets them (agent/logs.py), with the
log alert channel's lines as docs/channels.md shows them."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from agent.logs import JsonFormatter, PlainFormatter
from alerts.delivery.channels.log import LogChannel

from kits.alerts_delivery import make_notification

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("lifeline.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_a_log_channel_line_is_the_documented_text_alone(logged) -> None:
    logger, stream, handler = logged
    handler.setFormatter(PlainFormatter(SEOUL))
    LogChannel(name="journal", logger=logger).send(
        [make_notification(device_id="bb-sw-1")], {"kind": "outage", "site": "hall"})
    line = stream.getvalue().rstrip("\n")
    assert "\n" not in line
    # time, level, logger, then the documented text: nothing in between
    text = line.split(" ", 3)[3]
    assert line.split(" ")[1:3] == ["WARNING", "lifeline.test-logs"]
    assert text.startswith("alert firing rule=device_down severity=critical device=bb-sw-1 ")
    assert 'group="kind=outage,site=hall"' in text and "channel=journal" in text


def test_plain_lines_keep_the_device_context(logged) -> None:
    logger, stream, handler = logged
    handler.setFormatter(PlainFormatter(SEOUL))
    logger.warning("poll failed", extra={"device_id": "sw-3", "attempts": 2})
    assert stream.getvalue().split(" ", 3)[3] == "device=sw-3 attempts=2 poll failed\n"


def test_json_lines_nest_the_alert_fields(logged) -> None:
    logger, stream, handler = logged
    handler.setFormatter(JsonFormatter(SEOUL))
    LogChannel(name="journal", logger=logger).send([make_notification(device_id="sw-9")], {})
    entry = json.loads(stream.getvalue())
    assert entry["message"].startswith("alert firing rule=device_down")
    assert entry["alert"]["device"] == "sw-9" and entry["alert"]["channel"] == "journal"
