"""SNMPv3 noAuthNoPriv on the BER path (review of issue 18): the config allows a v3 user
without authentication (`auth_protocol` unset), so our USM session must take the agent's
unauthenticated RESPONSE as the answer, as net-snmp's own tools do. Real snmpd."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from peers.snmp import Peer, SnmpdUser, device, poll, start_snmpd, stop, usm

pytestmark = pytest.mark.peer


@dataclass(frozen=True)
class _NoAuthUser(SnmpdUser):
    """A user snmpd knows with no keys at all, allowed to read at noauth level."""

    def create_user(self) -> str:
        return f"createUser {self.name}\nrouser {self.name} noauth\n"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    workdir: Path = tmp_path_factory.mktemp("snmpd-v3-noauth")
    peer = start_snmpd(workdir, users=[_NoAuthUser("open"), SnmpdUser("noc")])
    try:
        yield peer
    finally:
        stop(peer.proc)


def test_a_no_auth_user_is_polled_beside_an_auth_priv_one(
        snmpd: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LL_TEST_AUTH", "authpass123")
    monkeypatch.setenv("LL_TEST_PRIV", "privpass123")
    credentials = {"none": usm("none", "open", auth=None),
                   "priv": usm("priv", "noc", priv="AES")}
    [results] = poll([device("plain", snmpd.address, "none", "generic"),
                      device("secure", snmpd.address, "priv", "generic")], credentials)
    for result in results.values():
        assert result.error is None and result.code.label == "success", result
    host = {s.tags.get("hostname") for r in results.values() for s in r.samples}
    assert host == {"test-snmpd"}
