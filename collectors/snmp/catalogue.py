"""The SNMP part of the metric catalogue: what the profiles declare.

The catalogue itself (`collectors/metrics.csv`, its rendering and the README section) is
`collectors.catalogue`, which merges these entries with the other collectors'. The
generic names are re-exported here for existing callers. Regenerate after changing a
profile:

    .venv/bin/python -m collectors.catalogue --write
"""
from __future__ import annotations

import sys

from collectors.base import POLL_MEASUREMENT
from collectors.catalogue import (
    BEGIN,
    CATALOGUE,
    END,
    HEADER,
    POLL_ENTRIES,
    README,
    Entry,
    main,
    read,
    readme_section,
    render_csv,
    render_markdown,
)
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


def tags_of(profiles: ProfileSet) -> dict[str, list[str]]:
    """measurement -> the row tags it carries besides the common ones."""
    out: dict[str, list[str]] = {}
    for profile in profiles.values():
        for table in profile.tables:
            for measurement in table.measurements():
                names = out.setdefault(measurement, [])
                for name in [table.index_tag] + [c.name for c in table.columns if c.tag]:
                    if name not in names:
                        names.append(name)
        for group in profile.groups:
            out.setdefault(group.measurement, [])
    out.setdefault(POLL_MEASUREMENT, [])
    return out


__all__ = ["BEGIN", "CATALOGUE", "END", "HEADER", "POLL_ENTRIES", "README", "Entry",
           "from_profiles", "read", "readme_section", "render_csv", "render_markdown",
           "tags_of"]

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
