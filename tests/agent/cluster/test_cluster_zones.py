"""The zone alert's parts, pure: who holds ZONES_BUCKET, what each zone's observation
says, and the rule it feeds (the real nodes: test_cluster_outages.py)."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agent.cluster.buckets import ZONES_BUCKET
from agent.cluster.plan import View, target
from agent.cluster.zones import zone_device, zone_results
from alerts.evaluation import rules
from alerts.evaluation.thresholds import ThresholdTable
from config.model import AlertSettings


def test_the_zones_bucket_stays_with_its_holder_and_counts_in_no_share() -> None:
    owners: dict[str, str | None] = {f"*:{i:03d}": None for i in range(6)}
    live = {"a": "", "b": "", "c": ""}
    plain = target(View(live, owners))
    held = target(View(live, {**owners, ZONES_BUCKET: "b"}))
    assert held[ZONES_BUCKET] == "b"
    assert {b: n for b, n in held.items() if b != ZONES_BUCKET} == plain
    # its holder gone: another live node, whichever zone it is in
    moved = target(View({"a": "west", "c": "west"}, {**owners, ZONES_BUCKET: "b"}))
    assert moved[ZONES_BUCKET] in ("a", "c")
    assert ZONES_BUCKET not in target(View({}, {ZONES_BUCKET: None}))


def test_a_zone_with_no_live_node_is_a_critical_alert_after_its_grace() -> None:
    at = datetime(2026, 5, 1, 3, tzinfo=UTC)
    results = {r.device_id: r for r in zone_results(
        ["east", "west", ""], {"n1": "west", "n2": "west", "n3": ""}, 6.0, at)}
    assert set(results) == {"cluster-zone-east", "cluster-zone-west"}
    table = ThresholdTable(AlertSettings())
    found = {}
    for zone in ("east", "west"):
        device = zone_device(zone, 1.0)
        found[zone] = rules.poll(results[device.id], device, table.for_device(device), at,
                                 ZoneInfo("UTC"))
    assert rules.ZONE_DOWN in found["west"].checked and not found["west"].active
    (down,) = found["east"].active
    assert (down.rule, down.severity, down.for_seconds) == (rules.ZONE_DOWN, "critical", 6.0)
    assert "east" in down.summary and "구역" in down.summary_ko
