"""The SNMP part of the metric catalogue: what the profiles declare.

`collectors.catalogue` merges these entries with the other collectors' into
`collectors/metrics.csv`. Regenerate after changing a profile:

    .venv/bin/python -m collectors.catalogue --write
"""
from __future__ import annotations

from collectors.base import POLL_MEASUREMENT
from collectors.catalogue_entry import POLL_ENTRIES, Entry, MeasurementTags, add_tags
from collectors.snmp.profiles import Column, Profile, ProfileSet


def _entry(measurement: str, col: Column) -> Entry:
    kind = "counter" if col.counter else ("enum" if col.enum else "gauge")
    text = col.description
    if col.enum:
        text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(col.enum.items())) + ")"
    return Entry(measurement, col.name, kind, col.unit, f"{text} [{col.oid_text}]".strip())


# The standard-MIB profiles define what a shared field means; vendor profiles map their
# MIBs onto it. A field several profiles write is described by the first that has it.
STANDARD_PROFILES = ("generic", "switch", "router", "host", "firewall", "ups")


def _in_order(profiles: ProfileSet) -> list[Profile]:
    rank = {name: i for i, name in enumerate(STANDARD_PROFILES)}
    return sorted(profiles.values(), key=lambda p: (rank.get(p.name, len(rank)), p.name))


def from_profiles(profiles: ProfileSet) -> list[Entry]:
    """What the profiles declare, one entry per (measurement, field), sorted."""
    found: dict[tuple[str, str], Entry] = {(e.measurement, e.field): e for e in POLL_ENTRIES}
    for profile in _in_order(profiles):
        for group in profile.groups:
            for col in group.fields:
                found.setdefault((group.measurement, col.name), _entry(group.measurement, col))
        for table in profile.tables:
            for measurement in table.measurements():
                for col in table.columns:
                    if not (col.tag or col.hidden):
                        found.setdefault((measurement, col.name), _entry(measurement, col))
                for d in table.derived:
                    if d.applies_to(measurement):
                        found.setdefault((measurement, d.name), Entry(
                            measurement, d.name, "gauge", d.unit, d.description))
            if table.summary is not None:
                for d in table.summary.derived:
                    found.setdefault((table.summary.measurement, d.name), Entry(
                        table.summary.measurement, d.name, "gauge", d.unit, d.description))
        for group in profile.groups:
            for d in group.derived:
                found.setdefault((group.measurement, d.name), Entry(
                    group.measurement, d.name, "gauge", d.unit, d.description))
    return sorted(found.values())


def tags_of(profiles: ProfileSet) -> MeasurementTags:
    """measurement -> the row tags it carries besides the common ones."""
    out: MeasurementTags = {}
    for profile in profiles.values():
        for table in profile.tables:
            for measurement in table.measurements():
                add_tags(out, measurement,
                         [table.index_tag] + [c.name for c in table.columns if c.tag])
            if table.summary is not None:
                add_tags(out, table.summary.measurement, list(table.summary.tags))
        for group in profile.groups:
            add_tags(out, group.measurement, list(group.tags))
    out.setdefault(POLL_MEASUREMENT, [])
    return out


__all__ = ["from_profiles", "tags_of"]
