"""Log channel: one structured line per notification on the "lifeline.alerts" logger."""
from __future__ import annotations

import logging
import re

from alerts.delivery.channels import build_channels
from alerts.model import Severity

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, load, make_notification

LINE = re.compile(r'^alert (firing|repeat|resolved)( [a-z_]+=("([^"\\]|\\.)*"|\S+))+$')


def test_one_parseable_line_per_notification(tmp_path, caplog):
    caplog.set_level(logging.INFO, "lifeline.alerts")
    config = load(tmp_path, """\
        alerts:
          channels: [{name: journal, type: log, lang: en}]
        """)
    log = build_channels(config, FakeClock(T0))["journal"]
    log.send([make_notification(device_id="sw-1", suppressed=("a", "b")),
              make_notification("resolved", device_id="sw-2", severity=Severity.WARNING,
                                instance="Gi0/1")],
             {"kind": "outage"})
    records = [r for r in caplog.records if r.name == "lifeline.alerts"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO]
    first, second = (r.getMessage() for r in records)
    assert all(LINE.match(line) for line in (first, second))
    assert first.startswith("alert firing rule=device_down severity=critical device=sw-1 ")
    assert 'summary="sw-1 is unreachable"' in first and "suppressed=2" in first
    assert "instance=Gi0/1" in second and "ends_at=2024-05-02T09:12:00+09:00" in second
    assert records[1].alert["channel"] == "journal"           # extra= for a JSON formatter
    assert records[1].alert["group"] == "kind=outage"


def test_korean_summary_is_quoted_and_kept(tmp_path, caplog):
    caplog.set_level(logging.INFO, "lifeline.alerts")
    config = load(tmp_path, """\
        alerts:
          channels: [{name: journal, type: log}]
        """)
    build_channels(config, FakeClock(T0))["journal"].send([make_notification()], {})
    assert 'summary="bb-sw-1 응답 없음"' in caplog.records[-1].getMessage()
