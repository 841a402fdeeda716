"""A timeout per request, a budget per poll.

The Juniper EX4600 walk (../shared/recordings/, 854 interfaces, about 110 GETBULKs) served
by snmpsim through a network fault injector (tests/peers/network_faults.py): slowed as a
real device over a real network is, it takes longer than one request's timeout x attempts,
and it must still poll whole; silenced or out of time in the middle of the walk, it keeps
whole rows only and says which table stopped where.
"""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.base import PollResult, ResultCode
from collectors.snmp import ber
from collectors.snmp.errors import PollBudgetSpentError, SnmpTimeoutError
from collectors.snmp.profiles import load_profiles
from collectors.snmp.udp import UdpDispatcher
from inventory.model import Device, PollSpec

from kits.facts import snmp_facts
from peers.network_faults import faulty_link
from peers.snmp import community, only, poll, serving_snmprec

ROOT = Path(__file__).resolve().parents[3]
EX4600 = ROOT.parent / "shared" / "recordings" / "junos_ex4600mp.snmprec"
NAME = EX4600.stem                  # snmpsim's community for it
INTERFACES = 854
# snmpsim answered in about 38 ms on the reference machine (TESTING.md): held that long,
# 110 answers take more than 2 s x 2 attempts, the whole poll's time before the budget.
SLOW_ANSWER = 0.04


@pytest.fixture(scope="module")
def ex4600() -> Iterator[str]:
    """snmpsim serving the EX4600 walk; yields its address."""
    if not EX4600.is_file():
        pytest.skip(f"the real device walks are not here ({EX4600.parent}); "
                    "they sit beside the checkout in ../shared/recordings")
    with serving_snmprec({EX4600.name: EX4600.read_bytes()}, ["127.0.0.1"],
                         [("127.0.0.1", NAME)]) as port:
        yield f"127.0.0.1:{port}"


def ex4600_device(address: str, *, timeout: float, retries: int,
                  interval: float = 60.0) -> Device:
    return Device(id="ex4600", name="ex4600", category="backbone_switch",
                  poll=PollSpec(protocol="snmp", address=address, credentials=NAME,
                                profile="switch", interval=interval, timeout=timeout,
                                retries=retries))


def poll_once(device: Device) -> PollResult:
    [results] = poll([device], {NAME: community(NAME)})
    return results[device.id]


def interface_fields() -> dict[str, str]:
    """The switch profile's numeric interface columns: OID -> name (a fallback column
    is asked only of a device that lacks its primary everywhere, which this one does not)."""
    [table] = [t for t in load_profiles()["switch"].tables if t.name == "interface"]
    return {ber.oid_text(c.oid).lstrip("."): c.name for c in table.columns
            if not (c.tag or c.hidden or c.fallback_for)}


def device_has() -> dict[str, set[str]]:
    """ifIndex -> the numeric interface columns the recording has for that interface."""
    columns = interface_fields()
    has: dict[str, set[str]] = {}
    for line in EX4600.read_text(encoding="latin-1").splitlines():
        oid, tag, _ = line.split("|", 2)
        column, _, index = oid.rpartition(".")
        if column in columns and tag.split(":")[0] in {"2", "65", "66", "67", "70"}:
            has.setdefault(index, set()).add(columns[column])
    return has


def assert_whole_rows(result: PollResult) -> list[str]:
    """Every interface point carries exactly the columns the device has for it: none is
    a fragment of a row the walk did not finish. Returns the points' ifIndex values."""
    has, names = device_has(), set(interface_fields().values())
    seen = []
    for sample in only(result, "interface"):
        index = sample.tags["ifIndex"]
        assert set(sample.fields) & names == has[index], index
        seen.append(index)
    assert len(seen) == len(set(seen))
    return seen


@pytest.mark.peer
def test_the_ex4600_polls_whole_with_a_2s_timeout_and_1_retry(ex4600: str) -> None:
    with faulty_link(ex4600, answer_delay=SLOW_ANSWER) as link:
        result = poll_once(ex4600_device(link.address, timeout=2.0, retries=1))
    assert result.code is ResultCode.SUCCESS, result.error
    assert result.error is None
    assert len(assert_whole_rows(result)) == INTERFACES
    # Each of those requests had its own 2 s x 2 attempts; the walk as a whole needed more.
    assert snmp_facts(result).requests == link.answers_relayed > 100


@pytest.mark.peer
def test_a_device_silent_in_the_middle_of_a_walk_leaves_whole_rows(ex4600: str) -> None:
    with faulty_link(ex4600, silent_after=30) as link:
        result = poll_once(ex4600_device(link.address, timeout=0.3, retries=1))
    assert result.code is ResultCode.PARTIAL
    kept = assert_whole_rows(result)
    assert 0 < len(kept) < INTERFACES
    assert (f"walk of interface stopped after {len(kept)} rows after a request timed out "
            f"(0.3 s, 1 retry)") in (result.error or "")
    assert "no answer" not in (result.error or "")
    assert link.requests_dropped == 2       # one request, both its attempts; then no more


@pytest.mark.peer
def test_a_walk_cut_at_the_poll_budget_leaves_whole_rows(ex4600: str) -> None:
    with faulty_link(ex4600, answer_delay=SLOW_ANSWER) as link:
        # A 1 s interval gives the poll 0.8 s: far too little for 854 interfaces.
        device = ex4600_device(link.address, timeout=0.7, retries=0, interval=1.0)
        assert device.poll is not None and device.poll.poll_budget == 0.8
        result = poll_once(device)
    assert result.code is ResultCode.PARTIAL
    kept = assert_whole_rows(result)
    assert 0 < len(kept) < INTERFACES
    assert (f"walk of interface stopped after {len(kept)} rows at the poll budget (0.8 s)"
            in (result.error or ""))
    assert "no answer" not in (result.error or "")


# --- one request: its own attempts, cut short only by the poll's end ----------------------

@pytest.fixture
def silent_agent() -> Iterator[tuple[str, int]]:
    """A UDP port that receives and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()
    sock.close()


async def _exchange(agent: tuple[str, int], *, attempts: int, each: float,
                    budget: float) -> BaseException:
    loop = asyncio.get_running_loop()
    dispatcher = await UdpDispatcher.open(loop)
    try:
        await dispatcher.exchange(b"\x30\x00", dispatcher.next_request_id(), agent,
                                  attempts, each, loop.time() + budget)
    except SnmpTimeoutError as exc:
        return exc
    finally:
        dispatcher.close()
    raise AssertionError("a silent agent answered")


def test_a_request_that_outlives_its_attempts_is_no_answer(silent_agent) -> None:
    error = asyncio.run(_exchange(silent_agent, attempts=2, each=0.05, budget=30.0))
    assert not isinstance(error, PollBudgetSpentError)
    assert str(error) == f"no answer from {silent_agent[0]}:{silent_agent[1]}"


def test_a_request_cut_short_by_the_poll_budget_says_so(silent_agent) -> None:
    error = asyncio.run(_exchange(silent_agent, attempts=2, each=30.0, budget=0.05))
    assert isinstance(error, PollBudgetSpentError)
    assert "no answer" not in str(error)


@pytest.mark.parametrize(("interval", "timeout", "retries", "budget"), [
    (60.0, 2.0, 1, 48.0),       # 80 % of the interval
    (5.0, 2.0, 1, 4.0),         # both 4 s
    (3.0, 1.0, 2, 3.0),         # never less than one request's timeout x attempts
])
def test_the_poll_budget(interval: float, timeout: float, retries: int, budget: float) -> None:
    spec = PollSpec(protocol="snmp", interval=interval, timeout=timeout, retries=retries)
    assert spec.poll_budget == pytest.approx(budget)
    assert spec.deadline == timeout * (retries + 1)


def test_a_poll_with_no_slot_free_in_its_budget_is_not_the_devices_failure(
        silent_agent, snmpd) -> None:
    """One poll slot (max_in_flight 1), held by a poll of a silent device for its 2 s
    timeout. A poll whose budget cannot wait that long and still leave itself one
    request's time is NoRoomToPollError (the agent's saturation: no verdict on the
    device, never a timeout of it); one with budget to spare waits its turn and polls."""
    from collectors.base import NoRoomToPollError
    from collectors.snmp.collector import SnmpCollector

    silent = f"{silent_agent[0]}:{silent_agent[1]}"
    holder = Device(id="silent", name="silent", category="switch", poll=PollSpec(
        protocol="snmp", address=silent, credentials="v2", profile="switch",
        interval=60, timeout=2.0, retries=0))
    hurried = Device(id="hurried", name="hurried", category="switch", poll=PollSpec(
        protocol="snmp", address=snmpd.address, credentials="v2", profile="switch",
        interval=1, timeout=0.5, retries=0))           # budget 0.8 s: 0.3 s to wait
    patient = Device(id="patient", name="patient", category="switch", poll=PollSpec(
        protocol="snmp", address=snmpd.address, credentials="v2", profile="switch",
        interval=60, timeout=1.0, retries=1))          # budget 48 s

    async def run() -> tuple[PollResult, BaseException | PollResult, PollResult]:
        collector = SnmpCollector({"v2": community("v2", "LL_TEST_COMMUNITY")},
                                  max_in_flight=1)
        try:
            first = asyncio.ensure_future(collector.collect(holder))
            await asyncio.sleep(0.2)                    # the silent poll has the slot
            second, third = await asyncio.gather(collector.collect(hurried),
                                                 collector.collect(patient),
                                                 return_exceptions=True)
            assert not isinstance(third, BaseException), third
            return await first, second, third
        finally:
            await collector.aclose()

    held, hurried_result, patient_result = asyncio.run(run())
    assert held.code is ResultCode.TIMEOUT
    assert isinstance(hurried_result, NoRoomToPollError), hurried_result
    assert patient_result.code is ResultCode.SUCCESS, patient_result.error
