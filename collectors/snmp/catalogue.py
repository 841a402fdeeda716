"""The metric catalogue: every measurement and field the SNMP collector can emit.

`collectors/metrics.csv` is the committed catalogue; the tests check that it equals what
the profiles declare (plus `lifeline_poll`) and that nothing undeclared is ever emitted.
`collectors/README.md`'s Metrics section is generated from it. Regenerate both after
changing a profile:

    .venv/bin/python -m collectors.snmp.catalogue --write
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from collectors.base import POLL_MEASUREMENT
from collectors.snmp.profiles import Column, ProfileSet, load_profiles

CATALOGUE = Path(__file__).resolve().parent.parent / "metrics.csv"
README = CATALOGUE.with_name("README.md")
HEADER = ("measurement", "field", "type", "unit", "description")
BEGIN, END = "<!-- metrics:begin -->", "<!-- metrics:end -->"


@dataclass(frozen=True, slots=True, order=True)
class Entry:
    measurement: str
    field: str
    type: str           # counter | gauge | enum
    unit: str
    description: str


POLL_ENTRIES = (
    Entry(POLL_MEASUREMENT, "up", "gauge", "boolean",
          "1 when the device answered at all (success, auth failure, no such object, "
          "bad response, partial), 0 on timeout, config or connection error"),
    Entry(POLL_MEASUREMENT, "duration_seconds", "gauge", "seconds", "wall time of the poll"),
    Entry(POLL_MEASUREMENT, "result_code", "enum", "",
          "0 success, 1 timeout, 2 auth_failure, 3 no_such_object, 4 bad_response, "
          "5 partial, 6 config_error, 7 connection_error"),
)


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


def read(path: Path = CATALOGUE) -> list[Entry]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0]) != HEADER:
        raise ValueError(f"{path}: header must be {','.join(HEADER)}")
    return [Entry(*row) for row in rows[1:]]


def render_csv(entries: list[Entry]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for e in entries:
        writer.writerow((e.measurement, e.field, e.type, e.unit, e.description))
    return buf.getvalue()


def render_markdown(entries: list[Entry], tags: dict[str, list[str]]) -> str:
    lines = []
    for measurement in sorted({e.measurement for e in entries}):
        extra = tags.get(measurement, [])
        lines += [f"### `{measurement}`", "",
                  "Tags: `device_id`, `category`, `site`, `agent_host`, `hostname`"
                  + "".join(f", `{t}`" for t in extra) + ".", "",
                  "| field | type | unit | description |", "|---|---|---|---|"]
        lines += [f"| `{e.field}` | {e.type} | {e.unit} | {e.description.replace('|', '/')} |"
                  for e in entries if e.measurement == measurement]
        lines.append("")
    return "\n".join(lines)


def readme_section(readme: str) -> str:
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[start:end].strip("\n")


def main(argv: list[str]) -> int:
    profiles = load_profiles()
    entries = from_profiles(profiles)
    md = render_markdown(entries, tags_of(profiles))
    if "--write" in argv:
        CATALOGUE.write_text(render_csv(entries), encoding="utf-8")
        readme = README.read_text(encoding="utf-8")
        start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
        README.write_text(readme[:start] + "\n" + md + "\n" + readme[end:], encoding="utf-8")
        return 0
    sys.stdout.write(render_csv(entries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
