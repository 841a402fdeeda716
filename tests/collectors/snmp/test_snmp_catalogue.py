"""The metric catalogue: declared once, generated docs in step, nothing undeclared emitted."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors import host
from collectors.base import Sample
from collectors.catalogue import (
    CATALOGUE,
    COMMON_TAGS,
    README,
    declared,
    read,
    readme_section,
    render_csv,
    render_markdown,
    undeclared,
)
from collectors.http import catalogue as http_catalogue
from collectors.snmp import load_profiles
from collectors.snmp.catalogue import from_profiles

from peers.snmp import community, device, poll, sim_devices

pytestmark = pytest.mark.peer    # real snmpd / snmpsim

def test_metrics_csv_is_what_the_collectors_declare() -> None:
    entries, _ = declared()
    assert CATALOGUE.read_text(encoding="utf-8") == render_csv(entries), (
        "regenerate: .venv/bin/python -m collectors.catalogue --write")
    assert all(e.type in ("counter", "gauge", "enum") and e.description for e in read())
    snmp = from_profiles(load_profiles())
    assert set(snmp) <= set(read()), "SNMP rows are kept as the profiles declare them"
    others = {(e.measurement, e.field) for e in (*host.ENTRIES, *http_catalogue.ENTRIES)}
    assert others <= {(e.measurement, e.field) for e in read()}


def test_shared_pairs_agree_on_type_and_unit() -> None:
    """Host (psutil) and SNMP host-resources both emit cpu/mem/disk/system: one row each,
    so the two sources must mean the same thing."""
    snmp = {(e.measurement, e.field): e for e in from_profiles(load_profiles())}
    for e in host.ENTRIES:
        other = snmp.get((e.measurement, e.field))
        if other is not None:
            assert (other.type, other.unit) == (e.type, e.unit), e


def test_readme_metrics_section_is_generated_from_the_catalogue() -> None:
    expected = render_markdown(read(), declared()[1])
    assert readme_section(README.read_text(encoding="utf-8")) == expected.strip("\n")


def test_everything_emitted_is_declared(snmpsim: int, snmpd) -> None:
    devices, creds = sim_devices(snmpsim)
    creds["v2"] = community("v2", "LL_TEST_COMMUNITY")
    devices += [device(f"snmpd-{p}", snmpd.address, "v2", p) for p in load_profiles()]
    rounds = poll(devices, creds, rounds=2)
    samples = [s for rnd in rounds for r in rnd.values() for s in r.samples]
    assert len({s.measurement for s in samples}) >= 10
    assert undeclared(samples, read()) == []


def test_the_check_catches_an_undeclared_field() -> None:
    rogue = Sample("interface", dict.fromkeys(COMMON_TAGS, "x"), {"ifMadeUp": 1},
                   datetime.now(UTC))
    assert undeclared([rogue], read()) == ["interface.ifMadeUp not in metrics.csv"]
