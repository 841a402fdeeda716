"""The SNMP part of the metric catalogue: what the profiles declare.

`collectors.catalogue` merges these entries with the other collectors' into
`collectors/metrics.csv`. Regenerate after changing a profile:

    .venv/bin/python -m collectors.catalogue --write
"""
from __future__ import annotations

from collectors.base import POLL_MEASUREMENT
from collectors.catalogue_entry import POLL_ENTRIES, Entry, MeasurementTags, add_tags
from collectors.snmp.profiles import Column, ProfileSet


def _entry(measurement: str, col: Column) -> Entry:
    kind = "counter" if col.counter else ("enum" if col.enum else "gauge")
    text = col.description
    if col.enum:
        text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(col.enum.items())) + ")"
    return Entry(measurement, col.name, kind, col.unit, f"{text} [{col.oid_text}]".strip())


def from_profiles(profiles: ProfileSet) -> list[Entry]:
    """What the profiles declare, one entry per (measurement, field), sorted."""
    found: dict[tuple[str, str], Entry] = {(e.measurement, e.field): e for e in POLL_ENTRIES}
    for profile in profiles.values():
        for group in profile.groups:
            for col in group.fields:
                found.setdefault((group.measurement, col.name), _entry(group.measurement, col))
        for table in profile.tables:
            for measurement in table.measurements():
                for col in table.columns:
                    if not (col.tag or col.hidden):
                        found.setdefault((measurement, col.name), _entry(measurement, col))
                for d in table.derived:
                    found.setdefault((measurement, d.name), Entry(
                        measurement, d.name, "gauge", d.unit, d.description))
    return sorted(found.values())


def tags_of(profiles: ProfileSet) -> MeasurementTags:
    """measurement -> the row tags it carries besides the common ones."""
    out: MeasurementTags = {}
    for profile in profiles.values():
        for table in profile.tables:
            for measurement in table.measurements():
                add_tags(out, measurement,
                         [table.index_tag] + [c.name for c in table.columns if c.tag])
        for group in profile.groups:
            out.setdefault(group.measurement, [])
    out.setdefault(POLL_MEASUREMENT, [])
    return out


__all__ = ["from_profiles", "tags_of"]
