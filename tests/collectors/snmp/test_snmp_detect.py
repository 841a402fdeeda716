"""`profile: auto`: the most specific profile for what the device says it is."""
from __future__ import annotations

from pathlib import Path

import pytest

from collectors.base import ResultCode
from collectors.snmp.profiles import load_profiles

from kits.facts import snmp_facts
from peers.snmp import RECORDINGS, community, device, only, poll

BASE = "name: {name}\ndetect:\n{rules}\n"


@pytest.fixture()
def kinds(tmp_path: Path):
    rules = {
        "generic": "  []",
        "broad": "  - {sysobjectid: 1.3.6.1.4.1.9.*}",
        "narrow": "  - {sysobjectid: 1.3.6.1.4.1.9.1.*}",
        "exact": "  - {sysobjectid: 1.3.6.1.4.1.9.1.7}",
        "probed": "  - {sysobjectid: 1.3.6.1.4.1.9.1.*, has: 1.3.6.1.4.1.9.9.147}",
    }
    for name, text in rules.items():
        (tmp_path / f"{name}.yaml").write_text(BASE.format(name=name, rules=text))
    return load_profiles(tmp_path)


def test_candidates_most_specific_first(kinds) -> None:
    ranked = [p.name for p, _ in kinds.candidates((1, 3, 6, 1, 4, 1, 9, 1, 7))]
    assert ranked == ["exact", "probed", "narrow", "broad"]
    assert [p.name for p, _ in kinds.candidates((1, 3, 6, 1, 4, 1, 9, 1, 8))] == [
        "probed", "narrow", "broad"]
    # `.*` means below the OID, not the OID itself.
    assert [p.name for p, _ in kinds.candidates((1, 3, 6, 1, 4, 1, 9))] == []


@pytest.mark.peer
def test_auto_probes_for_the_ups_mib_and_warns_when_nothing_fits(snmpsim: int) -> None:
    host = RECORDINGS["ups-normal"][0]
    switch_host = RECORDINGS["switch24"][0]
    devices = [device("ups", f"{host}:{snmpsim}", "ups-normal", "auto"),
               device("sw", f"{switch_host}:{snmpsim}", "switch24", "auto")]
    creds = {"ups-normal": community("ups-normal"), "switch24": community("switch24")}
    first, second = poll(devices, creds, rounds=2)
    ups, switch = first["ups"], first["sw"]
    # An unknown maker's sysObjectID (99999), but it answers under the UPS-MIB.
    assert ups.code is ResultCode.SUCCESS and snmp_facts(ups).profile == "ups"
    assert "1.3.6.1.2.1.33.1.1" in (snmp_facts(ups).profile_reason or "")
    assert only(ups, "ups") and ups.warnings == ()
    # Nothing fits the switch: polled as generic, and said so, never silently.
    assert switch.code is ResultCode.SUCCESS and snmp_facts(switch).profile == "generic"
    assert any("no profile fits sysObjectID 1.3.6.1.4.1.99999.1.24" in w
               for w in switch.warnings)
    # The choice is kept: the second poll asks no sysObjectID and no probe first.
    assert snmp_facts(second["ups"]).requests < snmp_facts(ups).requests
    assert snmp_facts(second["ups"]).profile == "ups"
