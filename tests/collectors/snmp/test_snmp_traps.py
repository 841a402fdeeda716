"""Decoding notifications on the BER path, reading what they say, and the per-source
limit, without an agent. The messages are what net-snmp's snmptrap sent on this machine
(captured once, or caught on a socket of the test's own)."""
from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from collectors.catalogue import TOP_README, TRAPS_BEGIN, TRAPS_END, readme_section
from collectors.snmp import ber, usm
from collectors.snmp.profiles import load_profiles
from collectors.snmp.trap_v3 import V3Notifications
from collectors.snmp.traps import (
    SourceLimiter,
    TrapCatalogue,
    TrapSays,
    profile_traps_markdown,
    what_it_says,
)

needs_snmptrap = pytest.mark.skipif(shutil.which("snmptrap") is None,
                                    reason="net-snmp's snmptrap (Debian snmp) is not installed")

# snmptrap -v 2c -c public HOST '' 1.3.6.1.2.1.33.2.1 1.3.6.1.2.1.33.1.2.2.0 i 5
V2C_ON_BATTERY = bytes.fromhex(
    "305502010104067075626c6963a74802040f4d0312020100020100303a300f06082b0601020101030043"
    "0305bed43016060a2b06010603010104010006082b06010201210201300f060a2b0601020121010202000"
    "20105")
# snmptrap -v 1 -c public HOST 1.3.6.1.4.1.318 127.0.0.6 6 5 ''
V1_APC_ON_BATTERY = bytes.fromhex(
    "302902010004067075626c6963a41c06072b06010401823e40047f000006020106020105430305beda3000")


def test_a_v2c_trap_names_its_trap_oid_and_keeps_its_varbinds() -> None:
    note = ber.decode_notification(V2C_ON_BATTERY)
    assert (note.version, note.community, note.pdu) == (ber.VERSION_2C, b"public", ber.TRAP_V2)
    assert ber.oid_text(note.trap_oid) == "1.3.6.1.2.1.33.2.1"
    assert note.varbinds[2] == (ber.encode_oid(ber.parse_oid("1.3.6.1.2.1.33.1.2.2.0")),
                                ber.INTEGER, 5)


def test_a_v1_enterprise_trap_becomes_its_v2_oid() -> None:
    note = ber.decode_notification(V1_APC_ON_BATTERY)
    assert note.version == ber.VERSION_1 and note.agent_address == bytes([127, 0, 0, 6])
    assert ber.oid_text(note.trap_oid) == "1.3.6.1.4.1.318.0.5"
    definition = TrapCatalogue.from_profiles(load_profiles()).get(note.trap_oid)
    assert definition is not None and definition.meaning == "on_battery"


@pytest.mark.parametrize("data", [V2C_ON_BATTERY[:40], b"", b"\x30\x00",
                                  V2C_ON_BATTERY.replace(b"\xa7", b"\xa0", 1)])
def test_anything_else_is_a_ber_error(data: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_notification(data)


def test_an_inform_is_answered_with_its_own_request_id_and_varbinds() -> None:
    inform = V2C_ON_BATTERY.replace(b"\xa7", bytes([ber.INFORM]), 1)
    note = ber.decode_notification(inform)
    answer = ber.encode_response(note.version, note.community, note.request_id, note.varbinds)
    community, response = ber.decode_response(answer)
    assert community == b"public" and response.request_id == note.request_id
    assert response.varbinds == note.varbinds


def test_the_limit_is_per_source_and_refills_with_time() -> None:
    now = [0.0]
    limiter = SourceLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.allow("10.0.0.1") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.allow("10.0.0.2")        # another source has its own bucket
    now[0] = 1.0                            # two more a second
    assert [limiter.allow("10.0.0.1") for _ in range(3)] == [True, True, False]


def _sent_by_snmptrap(version: str, *trap: str, options: tuple[str, ...] = ("-c", "public")
                      ) -> bytes:
    """What net-snmp's snmptrap sends, caught on a socket of our own."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(30)
        sent = subprocess.run(["snmptrap", "-v", version, *options, "-On",
                               f"127.0.0.1:{sock.getsockname()[1]}", *trap],
                              capture_output=True, text=True, timeout=30, check=False)
        assert sent.returncode == 0, sent.stderr
        return sock.recv(65536)


def _says(data: bytes) -> TrapSays:
    note = ber.decode_notification(data)
    definition = TrapCatalogue.from_profiles(load_profiles()).get(note.trap_oid)
    assert definition is not None, ber.oid_text(note.trap_oid)
    return what_it_says(definition, note.varbinds)


@needs_snmptrap
def test_a_link_down_names_its_port_by_ifindex_and_the_names_it_carries() -> None:
    says = _says(_sent_by_snmptrap(
        "2c", "", "1.3.6.1.6.3.1.1.5.3",
        "1.3.6.1.2.1.2.2.1.1.200", "i", "200", "1.3.6.1.2.1.2.2.1.7.200", "i", "1",
        "1.3.6.1.2.1.2.2.1.8.200", "i", "2", "1.3.6.1.2.1.2.2.1.2.200", "s", "xe-0/0/1"))
    assert says == TrapSays(meaning="link_down", if_index=200, ports=("xe-0/0/1",),
                            admin_up=True)
    shut = _says(_sent_by_snmptrap(
        "2c", "", "1.3.6.1.6.3.1.1.5.3",
        "1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.7.3", "i", "2"))
    assert (shut.if_index, shut.ports, shut.admin_up) == (3, (), False)


@needs_snmptrap
def test_an_alarm_trap_names_its_alarm_from_the_profile() -> None:
    """RFC 1628's upsAlarmDescr from the ups profile's well-known alarms; Socomec's v1
    upsTrapAlarmEntryAdded (enterprise upsTraps, specific 3) from socomec_ups's."""
    rfc = _says(_sent_by_snmptrap(
        "2c", "", "1.3.6.1.2.1.33.2.3",
        "1.3.6.1.2.1.33.1.6.2.1.1.7", "i", "7",
        "1.3.6.1.2.1.33.1.6.2.1.2.7", "o", "1.3.6.1.2.1.33.1.6.3.3"))
    assert (rfc.meaning, rfc.alarm) == ("alarm", "LowBattery")
    socomec = _says(_sent_by_snmptrap(
        "1", "1.3.6.1.4.1.4555.1.1.7.2", "127.0.0.1", "6", "3", "",
        "1.3.6.1.4.1.4555.1.1.7.1.6.2.1.1.4", "i", "4",
        "1.3.6.1.4.1.4555.1.1.7.1.6.2.1.2.4", "o", "1.3.6.1.4.1.4555.1.1.7.1.6.3.15"))
    assert (socomec.meaning, socomec.alarm) == ("alarm", "OnBattery")
    unknown = _says(_sent_by_snmptrap(
        "2c", "", "1.3.6.1.2.1.33.2.3",
        "1.3.6.1.2.1.33.1.6.2.1.2.7", "o", "1.3.6.1.4.1.99999.1"))
    assert (unknown.meaning, unknown.alarm) == ("alarm", None)


def test_the_readme_says_which_traps_each_profile_understands() -> None:
    """README.md's table is the one generated from the profiles (regenerate it with
    `python -m collectors.catalogue --write` after changing a profile's `traps:`)."""
    table = profile_traps_markdown(load_profiles())
    assert readme_section(TOP_README.read_text(encoding="utf-8"), TRAPS_BEGIN,
                          TRAPS_END) == table
    assert "| `ups` | also upsTrapOnBattery (on_battery)," in table
    assert "upsTrapBatteryLow (battery_low)" in table        # socomec_ups, from its MIB


@needs_snmptrap
def test_a_v3_trap_opens_with_its_users_keys_and_a_replay_past_the_window_is_stale() -> None:
    """A real authPriv trap from snmptrap (the sender authoritative, its engine id in the
    message): opened with the user's keys localized to that id; the same message again
    once more than 150 s of the sender's clock have passed is a replay."""
    data = _sent_by_snmptrap("3", "", "1.3.6.1.2.1.33.2.1", options=(
        "-u", "noc", "-l", "authPriv", "-a", "SHA", "-A", "authpass123", "-x", "AES", "-X",
        "privpass123", "-e", "0x8000000001020304bb"))
    now = [0.0]
    v3 = V3Notifications(usm.LocalEngine(usm.text_engine_id("us"), 1, 0.0), lambda: now[0])
    noc = usm.UsmUser("noc", "SHA", "authpass123", "AES", "privpass123")
    got = v3.receive(data, "127.0.0.1", [noc])
    assert (got.outcome, got.user, got.reply) == ("accepted", noc, None)
    assert got.note is not None and ber.oid_text(got.note.trap_oid) == "1.3.6.1.2.1.33.2.1"
    wrong = usm.UsmUser("noc", "SHA", "authpass123", "AES", "otherpriv1")
    assert v3.receive(data, "127.0.0.2", [wrong]).outcome == "bad_keys"
    assert v3.receive(data[:-3], "127.0.0.1", [noc]).outcome == "malformed"
    now[0] = 200.0
    assert v3.receive(data, "127.0.0.1", [noc]).outcome == "stale"


@needs_snmptrap
def test_snmptrap_runs_send_boots_1_and_the_hosts_uptime_so_later_runs_are_timely() -> None:
    """net-snmp's snmptrap -e keeps no engine state between runs: it sends boots 1 and the
    host's uptime in centiseconds (read here from /proc/uptime), so a later run's time is
    later and is accepted however long after the first it comes; only a run whose time
    went back (its host rebooted: the uptime from zero, boots still 1) is stale, as
    snmptrapd has it, and says what it is (who sent it) for the device's poll."""
    options = ("-u", "noc", "-l", "authPriv", "-a", "SHA", "-A", "authpass123", "-x", "AES",
               "-X", "privpass123", "-e", "0x8000000001020304cc")
    uptime = float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])
    runs = [_sent_by_snmptrap("3", "", "1.3.6.1.2.1.33.2.1", options=options) for _ in "ab"]
    sent = [usm.decode_message(data).security for data in runs]
    assert [s.boots for s in sent] == [1, 1]
    assert uptime * 100 - 100 <= sent[0].time <= sent[1].time <= (uptime + 30) * 100
    now = [0.0]
    v3 = V3Notifications(usm.LocalEngine(usm.text_engine_id("us"), 1, 0.0), lambda: now[0])
    noc = usm.UsmUser("noc", "SHA", "authpass123", "AES", "privpass123")
    assert v3.receive(runs[0], "127.0.0.1", [noc]).outcome == "accepted"
    now[0] = 3600.0                     # an hour later by our clock: the window is long past
    assert v3.receive(runs[1], "127.0.0.1", [noc]).outcome == "accepted"
    rebooted = v3.receive(_sent_by_snmptrap("3", "", "1.3.6.1.6.3.1.1.5.1", options=(
        *options, "-Z", "1,6000")), "127.0.0.1", [noc])
    assert (rebooted.outcome, rebooted.user) == ("stale", noc)
    assert rebooted.note is not None
    assert ber.oid_text(rebooted.note.trap_oid) == "1.3.6.1.6.3.1.1.5.1"


@needs_snmptrap
def test_an_inform_for_an_engine_we_are_not_gets_our_engine_id_in_a_report() -> None:
    """snmpinform told another engine id (-e; or ours from before the state_dir was lost):
    authentic, but not for us. The answer is an unauthenticated unknownEngineID report
    carrying our id, so the sender discovers us, not a silent drop it retries for ever."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(30)
        sender = subprocess.Popen(
            ["snmpinform", "-v", "3", "-u", "noc", "-l", "authPriv", "-a", "SHA", "-A",
             "authpass123", "-x", "AES", "-X", "privpass123", "-e", "0x80000000010203040a",
             "-t", "1", "-r", "0", "-On", f"127.0.0.1:{sock.getsockname()[1]}", "",
             "1.3.6.1.2.1.33.2.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            data = sock.recv(65536)
        finally:
            sender.wait(timeout=30)
    ours = usm.LocalEngine(usm.text_engine_id("us"), 3, 0.0)
    v3 = V3Notifications(ours, lambda: 10.0)
    noc = usm.UsmUser("noc", "SHA", "authpass123", "AES", "privpass123")
    got = v3.receive(data, "127.0.0.1", [noc])
    assert got.outcome == "engine_discovery" and got.reply is not None
    report = usm.decode_message(got.reply)
    assert report.security.engine_id == ours.engine_id
    assert not report.flags & usm.FLAG_AUTH
    assert usm.report_of(usm.open_message(report, None).pdu) is usm.Report.UNKNOWN_ENGINE_ID
