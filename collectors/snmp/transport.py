"""Sessions: one request/response exchange with one agent, with timeout and retries.

Every version's messages are built and parsed on the BER path and sent over the one
shared UDP socket (`udp.UdpDispatcher`), which matches answers to their request by
request-id (v1/v2c) or msgID (v3) and source address. Retries re-send the same message
with the same id, so a late answer to the first attempt still counts.

- `CommunitySession` (v1, v2c), below: `ber` messages with a community.
- `v3_session.UsmSession` (v3): `usm` messages, with engine discovery, the time window
  and report PDUs handled as RFC 3414 says.
- `_pysnmp.PysnmpSession` (v3 through pysnmp): the reference the tests and the benchmark
  compare the v3 path against; not used for polling.

All return a `ber.Response` (error-status, error-index, varbinds as `(encoded oid, tag,
value)` tuples), so the walker above them is the same for every version.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from collectors.snmp import ber
from collectors.snmp.errors import SnmpError
from collectors.snmp.target import Address, address_text
from collectors.snmp.udp import UdpDispatcher


class Session(Protocol):
    """One agent, one set of credentials, a timeout and a number of retries."""

    address: str
    timeout: float          # seconds one attempt of a request waits
    retries: int            # attempts after the first, per request

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        """Send one PDU and return the agent's response, each request with its own
        `timeout` and `retries`. `deadline` is the loop time at which the whole poll
        ends: it may cut a wait short, and then PollBudgetSpentError is raised rather than
        SnmpTimeoutError's "no answer". Raises SnmpError subclasses, never others."""
        ...


# --- v1 / v2c over the shared socket ------------------------------------------------

class CommunitySession:
    """SNMP v1 or v2c with a community, over the shared dispatcher."""

    __slots__ = (
        "_community",
        "_target",
        "_version",
        "address",
        "dispatcher",
        "retries",
        "timeout",
    )

    def __init__(self, dispatcher: UdpDispatcher, target: Address, *, version: str,
                 community: str, timeout: float, retries: int) -> None:
        self.dispatcher = dispatcher
        self.address = address_text(target)
        self._target = target
        self._version = ber.VERSION_1 if version == "1" else ber.VERSION_2C
        self._community = community.encode()
        self.timeout = timeout
        self.retries = retries

    def __repr__(self) -> str:  # the community stays out of every repr
        return f"CommunitySession({self.address}, v{'1' if self._version == 0 else '2c'})"

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        request_id = self.dispatcher.next_request_id()
        message = ber.encode_request(self._version, self._community, pdu, request_id,
                                      ber.null_varbinds(oids), non_repeaters, max_repetitions)
        data = await self.dispatcher.exchange(message, request_id, self._target,
                                              self.retries + 1, self.timeout, deadline)
        try:
            community, response = ber.decode_response(data)
        except ber.BerError as exc:
            raise SnmpError(f"{self.address} sent a malformed response: {exc}") from None
        if community != self._community:
            raise SnmpError(f"{self.address} answered with another community")
        return response


__all__ = ["CommunitySession", "Session"]
