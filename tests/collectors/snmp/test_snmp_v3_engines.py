"""SNMPv3 against several real snmpd: engine ids that change, user names shared by
credentials with other keys, and which part of the credentials an agent refused (issue 13,
items 4, 5 and 6)."""
from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.base import PollResult, ResultCode
from collectors.snmp import SnmpCollector
from collectors.snmp.usm_keys import KeySlots
from config.model import Credentials
from inventory.model import Device

from kits.facts import snmp_facts
from peers.snmp import Peer, SnmpdUser, device, engine_id_of, poll, start_snmpd, stop, usm

pytestmark = pytest.mark.peer    # real snmpd

OTHER = SnmpdUser("noc", auth="otherauth456", priv="otherpriv456")
KEYS = {"LL_TEST_OTHER_AUTH": OTHER.auth, "LL_TEST_OTHER_PRIV": OTHER.priv or ""}


@pytest.fixture(autouse=True)
def _other_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def peers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[list[Peer]]:
    """snmpd instances, each with its own engine id; `users` per instance by indirect."""
    started: list[Peer] = []
    try:
        for i, users in enumerate(request.param):
            started.append(start_snmpd(tmp_path / f"snmpd-{i}", users=users,
                                       engine_id=f"lifeline-{i}"))
        yield started
    finally:
        for peer in started:
            if peer.proc.poll() is None:
                os.kill(peer.proc.pid, signal.SIGCONT)
            stop(peer.proc)


def _v3(device_id: str, address: str, credentials: str, profile: str = "generic") -> Device:
    return device(device_id, address, credentials, profile, timeout=0.5, retries=1)


CREDENTIALS: dict[str, Credentials] = {
    "noc": usm("noc", "noc", priv="AES"),
    "noc-other": usm("noc-other", "noc", priv="AES", auth_env="LL_TEST_OTHER_AUTH",
                     priv_env="LL_TEST_OTHER_PRIV"),
    "noc-wrong-priv": usm("noc-wrong-priv", "noc", priv="AES", priv_env="LL_TEST_WRONG"),
    "noc-wrong-auth": usm("noc-wrong-auth", "noc", priv="AES", auth_env="LL_TEST_WRONG"),
    "nobody": usm("nobody", "nobody-here", priv="AES"),
}
NOC = SnmpdUser("noc")


@pytest.mark.parametrize("peers", [[[NOC], [NOC], [OTHER], [NOC], [NOC]]], indirect=True)
def test_credentials_sharing_a_user_name_never_interfere(peers: list[Peer]) -> None:
    """Five snmpd, user `noc` everywhere: two devices with its usual keys, one whose noc has
    other keys (and the credentials that match them), one polled with a wrong privacy key
    and one with a wrong authentication key, all at once, ten times. Before USM entries were
    kept per engine id, every device failed now and then with "wrong digest"."""
    devices = [_v3("right-0", peers[0].address, "noc"),
               _v3("right-1", peers[1].address, "noc"),
               _v3("right-other", peers[2].address, "noc-other"),
               _v3("wrong-priv", peers[3].address, "noc-wrong-priv"),
               _v3("wrong-auth", peers[4].address, "noc-wrong-auth")]
    rounds = poll(devices, CREDENTIALS, rounds=10)
    outcomes = {d.id: {(r[d.id].code, r[d.id].error) for r in rounds} for d in devices}
    for right in ("right-0", "right-1", "right-other"):
        assert outcomes[right] == {(ResultCode.SUCCESS, None)}, outcomes[right]
    [(code, error)] = outcomes["wrong-priv"]                  # always the same failure
    assert code is ResultCode.AUTH_FAILURE and "privacy key" in error, error
    [(code, error)] = outcomes["wrong-auth"]
    assert code is ResultCode.AUTH_FAILURE and "authentication key" in error, error
    engine_ids = {snmp_facts(rounds[-1][d]).engine_id for d in ("right-0", "right-1")}
    assert engine_ids == {engine_id_of(peers[0].address), engine_id_of(peers[1].address)}


@pytest.mark.parametrize("peers", [[[NOC]]], indirect=True)
def test_right_and_wrong_keys_for_one_user_on_one_device(peers: list[Peer]) -> None:
    """One agent, one engine id, user noc asked with the right keys, a wrong auth key and a
    wrong privacy key at once: one USM entry per (user, engine id) at a time, so the
    requests take turns and none is signed with another's keys."""
    address = peers[0].address
    devices = [_v3(f"right-{i}", address, "noc") for i in range(3)]
    devices += [_v3("wrong-auth", address, "noc-wrong-auth"),
                _v3("wrong-priv", address, "noc-wrong-priv")]
    rounds = poll(devices, CREDENTIALS, rounds=5)
    for r in rounds:
        codes = {k: v.code for k, v in r.items()}
        assert codes == {"right-0": ResultCode.SUCCESS, "right-1": ResultCode.SUCCESS,
                         "right-2": ResultCode.SUCCESS, "wrong-auth": ResultCode.AUTH_FAILURE,
                         "wrong-priv": ResultCode.AUTH_FAILURE}, {k: v.error for k, v in r.items()}


@pytest.mark.parametrize("peers", [[[NOC]]], indirect=True)
@pytest.mark.parametrize("credentials, says", [
    ("noc-wrong-auth", "wrong snmpv3 authentication key for user noc"),
    ("noc-wrong-priv", "wrong snmpv3 privacy key for user noc"),
    ("nobody", "unknown snmpv3 user nobody-here"),
])
def test_an_auth_failure_says_which_part_was_refused(peers: list[Peer], credentials: str,
                                                     says: str) -> None:
    # profile auto: the first request is detection's, and its refusal is the poll's result
    [results] = poll([_v3("v3", peers[0].address, credentials, "auto")], CREDENTIALS)
    r = results["v3"]
    assert r.code is ResultCode.AUTH_FAILURE and r.reachable, (r.code, r.error)
    assert says in (r.error or "").lower()


@pytest.mark.parametrize("peers", [[[NOC]]], indirect=True)
def test_silence_after_answers_is_a_timeout_not_a_wrong_key(peers: list[Peer]) -> None:
    """The right keys, then the agent stops (SIGSTOP): an outage, never "wrong privacy
    key", though that is what a silent agent that answered discovery would suggest."""
    peer = peers[0]
    dev = _v3("v3", peer.address, "noc")

    async def run() -> list[PollResult]:
        collector = SnmpCollector(CREDENTIALS)
        try:
            out = [await collector.collect(dev)]
            os.kill(peer.proc.pid, signal.SIGSTOP)
            out += [await collector.collect(dev) for _ in range(2)]
        finally:
            await collector.aclose()
        return out

    first, *silent = asyncio.run(run())
    assert first.code is ResultCode.SUCCESS, first.error
    for r in silent:
        assert r.code is ResultCode.TIMEOUT and not r.reachable, (r.code, r.error)


@pytest.mark.parametrize("peers", [[[NOC]]], indirect=True)
def test_a_device_restarted_with_a_new_engine_id_is_polled_again(
        peers: list[Peer], tmp_path: Path) -> None:
    """The same address comes back with another engine id (factory reset, replaced chassis,
    HA failover): the engine is discovered again and the polls succeed, without a new
    collector. Before, every poll timed out until the agent was restarted."""
    old = peers[0]
    port = int(old.address.rpartition(":")[2])
    dev = _v3("v3", old.address, "noc")
    engine_ids: list[str | None] = []

    async def run() -> list[PollResult]:
        collector = SnmpCollector(CREDENTIALS)
        try:
            out = [await collector.collect(dev) for _ in range(2)]
            stop(old.proc)
            new = await asyncio.to_thread(start_snmpd, tmp_path / "replaced", users=[NOC],
                                          engine_id="lifeline-replaced", port=port)
            peers.append(new)           # stopped by the fixture
            engine_ids.append(await asyncio.to_thread(engine_id_of, new.address))
            out += [await collector.collect(dev) for _ in range(3)]
        finally:
            await collector.aclose()
        return out

    results = asyncio.run(run())
    assert [r.code for r in results] == [ResultCode.SUCCESS] * 5, [r.error for r in results]
    before, after = snmp_facts(results[1]).engine_id, snmp_facts(results[-1]).engine_id
    assert before != after and after == engine_ids[0]


def test_key_slots_let_equal_keys_share_and_make_other_keys_wait() -> None:
    """Same (user, engine id): requests with the keys in use run together; one with other
    keys starts only when they are done, and holds the slot against the first keys."""
    async def run() -> list[str]:
        slots = KeySlots()
        order: list[str] = []
        release = asyncio.Event()

        async def use(name: str, keys: str, hold: asyncio.Event | None = None) -> None:
            async with slots.holding("noc", b"\x80engine", keys):
                order.append(f"{name} in")
                if hold is not None:
                    await hold.wait()
            order.append(f"{name} out")

        a = asyncio.create_task(use("a", "K1", release))
        await asyncio.sleep(0)
        b = asyncio.create_task(use("b", "K2"))               # other keys: waits for a
        await asyncio.sleep(0)
        c = asyncio.create_task(use("c", "K1"))               # a's keys: goes in beside a
        other = asyncio.create_task(use("other", "K9"))       # a third set: never beside b
        for _ in range(3):
            await asyncio.sleep(0)
        assert order == ["a in", "c in", "c out"], order
        release.set()
        await asyncio.gather(a, b, c, other)
        assert slots.held() == 0
        return order

    order = asyncio.run(run())
    assert order.index("a out") < order.index("b in")
    assert order.index("b out") < order.index("other in") or order.index(
        "other out") < order.index("b in")
