"""Sessions: one request/response exchange with one agent, with timeout and retries.

Two implementations behind one small interface (`Session.request`):

- `CommunitySession` (v1, v2c): messages built and parsed by `ber`, sent over the one
  shared UDP socket (`udp.UdpDispatcher`), which matches answers to their request by
  request-id and source address. Retries re-send the same message with the same
  request-id, so a late answer to the first attempt still counts.
- `UsmSession` (v3): pysnmp's command generator on the process-wide `SnmpEngine`
  (`_pysnmp.UsmEngine`, from `engine.EngineHolder`), which does engine discovery (again
  after a failure: a device may come back with a new engine id), authentication and
  privacy, with USM state per (user, engine id, keys). SNMPv3 report PDUs (unknown user,
  wrong digest, decryption error) become `SnmpAuthError`, distinct from a timeout, and so
  does an agent that answers discovery but drops our encrypted requests (net-snmp's way
  with a wrong privacy key).

Both return a `ber.Response`-shaped result (error-status, error-index, varbinds as
`(encoded oid, tag, value)` tuples), so the walker above them is the same for every version.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from collectors.snmp import ber
from collectors.snmp.engine import EngineHolder
from collectors.snmp.errors import PollBudgetSpentError, SnmpError
from collectors.snmp.target import Address, UsmParams, address_text
from collectors.snmp.udp import UdpDispatcher

if TYPE_CHECKING:
    # Only for an annotation: pysnmp itself loads with the first SNMPv3 request.
    from collectors.snmp._pysnmp import UsmTarget


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


# --- v3 through pysnmp ----------------------------------------------------------------

class UsmSession:
    """SNMPv3 via pysnmp's command generator on the shared engine."""

    def __init__(self, holder: EngineHolder, target: Address, params: UsmParams, *,
                 timeout: float, retries: int) -> None:
        self.address = address_text(target)
        self._holder = holder
        self._target = target
        self._params = params
        self.timeout = timeout
        self.retries = retries
        self._transport: UsmTarget | None = None

    def __repr__(self) -> str:
        return f"UsmSession({self.address}, {self._params!r})"

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise self._budget_spent()
        usm = self._holder.usm()
        if self._transport is None:
            self._transport = await usm.target(self._target, self.timeout, self.retries)
        try:
            # pysnmp keeps its own timers (timeout and retries per request); the outer
            # bound keeps the poll's deadline exact.
            return await asyncio.wait_for(
                usm.request(self._transport, self._params, pdu, oids, non_repeaters,
                            max_repetitions, deadline),
                timeout=remaining + 0.05)
        except TimeoutError:
            raise self._budget_spent() from None
        except SnmpError:
            raise
        except Exception as exc:  # pysnmp raises its own errors from deep inside
            raise SnmpError(f"{self.address}: {type(exc).__name__}: {exc}") from None

    def _budget_spent(self) -> PollBudgetSpentError:
        return PollBudgetSpentError(
            f"{self.address}: the poll's time ran out while a request waited")


__all__ = ["CommunitySession", "Session", "UsmSession"]
