"""Profile loading: the shipped profiles compile; broken ones fail with located errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from collectors.snmp import PROFILE_DIR, ProfileError, load_profiles


def test_shipped_profiles_and_their_inheritance() -> None:
    profiles = load_profiles()
    assert set(profiles) >= {"generic", "switch", "router", "firewall", "host", "ups"}
    assert not any(name.startswith("_") for name in profiles)   # fragments are not usable
    fw = profiles["firewall"]
    assert {t.name for t in fw.tables} == {"interface", "cpu", "storage"}
    assert fw.chain[-1] == "generic"
    assert profiles["router"].tables == profiles["switch"].tables
    assert all(p.identity.uptime and p.identity.chassis for p in profiles.values())


def _broken(tmp_path: Path, name: str, text: str) -> Path:
    for f in PROFILE_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text, message", [
    ("name: bad\nextends: nosuch\n", "unknown profile 'nosuch'"),
    ("name: bad\nextends: bad\n", "extends itself"),
    ("name: bad\ncolour: red\n", "colour: Extra inputs are not permitted"),
    ("name: bad\nscalars:\n  - {name: x, measurement: m, fields: [{name: f, oid: 1.3.x}]}\n",
     "scalars.0.fields.0.oid"),
    ("name: other\n", "does not match the file name"),
    ("name: bad\nrequired: [nothing]\n", "required 'nothing'"),
    ("name: bad\ntables:\n  - name: t\n    measurement: m\n    index_tag: i\n    columns:\n"
     "      - {name: a, oid: 1.3.6.1.9.1, scale_by: nope}\n", "scales by unknown column 'nope'"),
    ("name: bad\ntables:\n  - name: t\n    measurement: m\n    index_tag: i\n    columns:\n"
     "      - {name: a, oid: 1.3.6.1.9.1, tag: true, counter: 32}\n", "cannot be a counter"),
    ("name: bad\ntables:\n  - name: t\n    measurement: m\n    index_tag: i\n    columns:\n"
     "      - {name: a, oid: 1.3.6.1.9.1}\n    derived:\n"
     "      - {name: d, percent_of: [a, a], complement: a}\n", "exactly one of percent_of"),
    ("name: bad\ntables:\n  - name: t\n    measurement: m\n    index_tag: i\n    columns:\n"
     "      - {name: a, oid: 1.3.6.1.9.1}\n    summary: {mean: [b]}\n", "summary uses unknown 'b'"),
    ("name: bad\ntables:\n  - name: t\n    measurement: m\n    index_tag: i\n    columns:\n"
     "      - {name: a, oid: 1.3.6.1.9.1}\n    cache_rows: {column: a, values: [x], "
     "measurement: m, field: a}\n", "cache_rows column 'a' is not a tag column"),
    ("name: bad\nscalars:\n  - {name: g, measurement: m, unless: nothing, "
     "fields: [{name: f, oid: 1.3.6.1.9.1.0}]}\n", "unless 'nothing' is not a table"),
    ("name: bad\nscalars:\n  - {name: g, measurement: m, fields: [{name: f, oid: 1.3.6.1.9.1.0, "
     "enum: {1: a, 2: b}, map: {7: 3}}]}\n", "maps to values its enum does not name"),
    ("name: bad\ndetect:\n  - {sysobjectid: 1.3.6.x}\n", "detect.0.sysobjectid"),
], ids=["unknown-parent", "cycle", "unknown-key", "bad-oid", "name", "required", "scale_by",
        "tag-counter", "derived-two-formulas", "summary-unknown", "cache-rows-not-tag",
        "unless-unknown", "map-outside-enum", "detect-bad-oid"])
def test_broken_profiles_name_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profiles(_broken(tmp_path, "bad", text))
    assert message in str(info.value)
    assert "bad.yaml" in str(info.value)
