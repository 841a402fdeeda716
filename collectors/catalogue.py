"""The metric catalogue of every collector: each measurement and field that can be emitted.

`collectors/metrics.csv` is the committed catalogue; tests check that it equals what the
collectors declare (the SNMP profiles, `collectors.host.ENTRIES`,
`collectors.http.catalogue.ENTRIES`, `collectors.icmp.ENTRIES`, `collectors.tcp.ENTRIES`,
`collectors.snmp.traps.ENTRIES`, plus `lifeline_poll`) and that nothing undeclared is
ever emitted. A field `*` declares a measurement whose numeric fields come from the device
(the `kiosk` health JSON). `collectors/README.md`'s Metrics section is generated from it,
and so is the top README's table of the traps each profile understands (from the
profiles' `traps:`). The record the collectors declare with is
`collectors.catalogue_entry.Entry`.

Without arguments the catalogue the collectors declare is printed as CSV (compare it with
`collectors/metrics.csv`). Regenerate the three files after changing a profile or a
collector's entries:

    .venv/bin/python -m collectors.catalogue --write
"""
from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable
from pathlib import Path

from collectors import host, icmp, tcp
from collectors.base import Sample
from collectors.catalogue_entry import ANY_FIELD, Entry, MeasurementTags, add_tags
from collectors.http import catalogue as http
from collectors.snmp import traps
from collectors.snmp.catalogue import from_profiles, tags_of
from collectors.snmp.profiles import load_profiles

CATALOGUE = Path(__file__).resolve().parent / "metrics.csv"
README = CATALOGUE.with_name("README.md")
TOP_README = CATALOGUE.parents[1] / "README.md"
HEADER = ("measurement", "field", "type", "unit", "description")
BEGIN, END = "<!-- metrics:begin -->", "<!-- metrics:end -->"
TRAPS_BEGIN, TRAPS_END = "<!-- traps:begin -->", "<!-- traps:end -->"
COMMON_TAGS = ("device_id", "category", "site", "agent_host")


def declared() -> tuple[list[Entry], MeasurementTags]:
    """Every collector's entries (sorted; the first declaration of a pair wins, SNMP
    first) and measurement -> its tags besides the common ones."""
    profiles = load_profiles()
    found = {(e.measurement, e.field): e for e in from_profiles(profiles)}
    tags = tags_of(profiles)
    for entries, more_tags in ((host.ENTRIES, host.TAGS), (http.ENTRIES, http.TAGS),
                               (icmp.ENTRIES, icmp.TAGS), (tcp.ENTRIES, tcp.TAGS),
                               (traps.ENTRIES, traps.TAGS)):
        for e in entries:
            found.setdefault((e.measurement, e.field), e)
        for measurement, names in more_tags.items():
            add_tags(tags, measurement, names)
    return sorted(found.values()), tags


def read(path: Path = CATALOGUE) -> list[Entry]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0]) != HEADER:
        raise ValueError(f"{path}: header must be {','.join(HEADER)}")
    return [Entry(*row) for row in rows[1:]]


def undeclared(samples: Iterable[Sample], entries: list[Entry]) -> list[str]:
    """What breaks the catalogue's rules in these samples: undeclared fields, string
    fields (strings belong in tags), missing common tags. Empty when all is well."""
    pairs = {(e.measurement, e.field) for e in entries}
    problems = []
    for s in samples:
        problems += [f"{s.measurement}.{f} not in metrics.csv" for f in s.fields
                     if (s.measurement, f) not in pairs
                     and (s.measurement, ANY_FIELD) not in pairs]
        problems += [f"{s.measurement}.{f} is a string field" for f, v in s.fields.items()
                     if isinstance(v, str)]
        missing = [t for t in COMMON_TAGS if t not in s.tags]
        if missing:
            problems.append(f"{s.measurement} lacks tags {', '.join(missing)}")
    return problems


def render_csv(entries: list[Entry]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for e in entries:
        writer.writerow((e.measurement, e.field, e.type, e.unit, e.description))
    return buf.getvalue()


def render_markdown(entries: list[Entry], tags: MeasurementTags) -> str:
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


def readme_section(readme: str, begin: str = BEGIN, end: str = END) -> str:
    start, stop = _section_bounds(readme, begin, end)
    return readme[start:stop].strip("\n")


def _section_bounds(readme: str, begin: str = BEGIN, end: str = END) -> tuple[int, int]:
    return readme.index(begin) + len(begin), readme.index(end)


def _write_section(path: Path, text: str, begin: str, end: str) -> None:
    readme = path.read_text(encoding="utf-8")
    start, stop = _section_bounds(readme, begin, end)
    path.write_text(readme[:start] + "\n" + text + "\n" + readme[stop:], encoding="utf-8")


def main(argv: list[str]) -> int:
    entries, tags = declared()
    if "--write" in argv:
        CATALOGUE.write_text(render_csv(entries), encoding="utf-8")
        _write_section(README, render_markdown(entries, tags), BEGIN, END)
        _write_section(TOP_README, traps.profile_traps_markdown(load_profiles()),
                       TRAPS_BEGIN, TRAPS_END)
        return 0
    sys.stdout.write(render_csv(entries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
