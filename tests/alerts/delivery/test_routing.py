"""Routing: matchers on severity, kind, category, site and any label; continue; groups."""
from __future__ import annotations

from pathlib import Path

import pytest

from alerts.delivery.routing import alert_labels, route, value_matches
from alerts.model import Severity
from config.errors import ConfigError
from config.model import RouteSpec

from kits.alerts_delivery import load, make_alert

CHANNELS = ["hook", "mail", "am", "log"]


def r(match: dict[str, str], channels: list[str], group_by: tuple[str, ...] = ("kind", "site"),
      cont: bool = False) -> RouteSpec:
    return RouteSpec(match=tuple(sorted(match.items())), channels=tuple(channels),
                     group_by=group_by, continue_matching=cont)


@pytest.mark.parametrize("pattern, value, expected", [
    ("critical", "critical", True), ("critical", "warning", False),
    ("critical|warning", "warning", True), ("critical|warning", "info", False),
    ("!info", "critical", True), ("!info", "info", False), ("!info|warning", "warning", False),
    ("~sw-.*", "sw-12", True), ("~sw-.*", "bb-sw-1", False), ("!~sw-.*", "bb-sw-1", True),
    ("x", "", False), ("!x", "", True),
])
def test_matcher_values(pattern: str, value: str, expected: bool) -> None:
    assert value_matches(pattern, value) is expected


def test_record_fields_are_labels_and_win_over_labels() -> None:
    alert = make_alert(instance="Gi0/1", labels={"severity": "bogus", "room": "4F"})
    labels = alert_labels(alert)
    assert labels["severity"] == "critical" and labels["instance"] == "Gi0/1"
    assert labels["room"] == "4F" and labels["category"] == "backbone_switch"


def test_first_matching_route_wins_unless_continue() -> None:
    routes = [r({"severity": "critical"}, ["hook", "mail"]),
              r({"kind": "outage"}, ["am"]),
              r({}, ["log"])]
    alert = make_alert()
    assert [d.channel for d in route(alert, routes, CHANNELS)] == ["hook", "mail"]
    routes[0] = r({"severity": "critical"}, ["hook", "mail"], cont=True)
    assert [d.channel for d in route(alert, routes, CHANNELS)] == ["hook", "mail", "am"]
    warning = make_alert(severity=Severity.WARNING, kind="host")
    assert [d.channel for d in route(warning, routes, CHANNELS)] == ["log"]


def test_matchers_on_category_site_and_any_label() -> None:
    routes = [r({"category": "kiosk", "site": "~branch-.*"}, ["mail"]),
              r({"room": "4F"}, ["am"])]
    kiosk = make_alert("kiosk-3", labels={"category": "kiosk", "site": "branch-2"})
    assert [d.channel for d in route(kiosk, routes, CHANNELS)] == ["mail"]
    elsewhere = make_alert("kiosk-4", labels={"category": "kiosk", "site": "hall"})
    assert route(elsewhere, routes, CHANNELS) == []
    room = make_alert(labels={"room": "4F"})
    assert [d.channel for d in route(room, routes, CHANNELS)] == ["am"]


def test_a_channel_reached_twice_keeps_the_first_routes_group() -> None:
    routes = [r({}, ["hook"], group_by=("device_id",), cont=True),
              r({}, ["hook", "log"], group_by=("site",))]
    found = route(make_alert(), routes, CHANNELS)
    assert [(d.channel, d.group_key) for d in found] == [
        ("hook", "device_id=bb-sw-1"), ("log", "site=district-hall")]


def test_group_key_and_labels_follow_group_by() -> None:
    [dest] = route(make_alert(), [r({}, ["hook"], group_by=("kind", "site", "nothing"))],
                   CHANNELS)
    assert dest.group_key == "kind=outage,site=district-hall,nothing="
    assert dict(dest.group_labels) == {"kind": "outage", "site": "district-hall", "nothing": ""}


def test_no_routes_means_every_channel() -> None:
    assert [d.channel for d in route(make_alert(), [], CHANNELS)] == CHANNELS


def test_routes_and_delivery_keys_load_from_config(tmp_path: Path) -> None:
    config = load(tmp_path, """\
        alerts:
          channels:
            - {name: hook, type: webhook, url: "http://127.0.0.1:9/h", group_wait: 0s,
               group_interval: 2m, retry_initial: 5s, retry_max: 10m, expire_after: 2h}
            - {name: log, type: log}
          routes:
            - {match: {severity: "critical|warning", kind: outage}, channels: [hook],
               group_by: [site], continue: true}
            - {channels: [log]}
        """)
    first, _ = config.alerts.routes
    assert first.continue_matching and first.group_by == ("site",)
    found = route(make_alert(), config.alerts.routes, ["hook", "log"])
    assert [(d.channel, d.group_key) for d in found] == [
        ("hook", "site=district-hall"), ("log", "kind=outage,site=district-hall")]
    hook = config.alerts.channels[0]
    assert (hook.delivery.group_wait, hook.delivery.expire_after) == (0.0, 7200.0)


def test_a_bad_delivery_key_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, """\
            alerts:
              channels:
                - {name: hook, type: webhook, url: "http://127.0.0.1:9/h", group_wait: soon}
            """)
    assert "lifeline.yaml:4" in str(caught.value) and "not a duration" in str(caught.value)
