"""`UsmSession`: SNMPv3 requests on the BER path, over the shared UDP socket.

The same `Session` interface as `transport.CommunitySession`, so the walker above it is
the same for every version; underneath, `usm` secures each message and the shared
`udp.UdpDispatcher` matches answers to requests by msgID (`ber.peek_header`).

What RFC 3414 asks of a requester, and what it becomes here:

- Discovery (4): the agent's engine id, boots and time are asked once per address with
  an unauthenticated probe, and kept in `V3Agents` (shared by every session of one
  collector, so devices and credentials on one address learn it once); keys are
  localized to that engine id (`usm.localize`, cached).
- The time window (3.2.7): each address has its own `usm.EngineClock`, so two devices
  that share an engine id (cloned configurations) each keep their own boots and time and
  never knock each other out of the window. An authenticated notInTimeWindow report (a
  reboot raised the engine's boots, or our clock drifted) sets the clock from the report
  and the request is sent again, once.
- An unknownEngineID report, or silence after earlier answers while the address answers
  a new probe with another engine id (factory reset, replaced chassis, HA failover), makes
  the session discover again and resend, within the poll's time.
- Other reports (unknownUserName, wrongDigest, decryptionError, unsupportedSecLevel,
  unknown context) are failures that say which part of the credentials was refused
  (`report_error`), as `SnmpAuthError` (or `SnmpError` for a context). An agent that
  answers discovery but never our encrypted requests is net-snmp's way with a wrong
  privacy key: said so, unless those credentials were answered before (then it is an
  outage).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from collectors.snmp import ber, usm
from collectors.snmp.errors import (
    PollBudgetSpentError,
    SnmpAuthError,
    SnmpConfigError,
    SnmpError,
    SnmpTimeoutError,
)
from collectors.snmp.target import Address, UsmParams, address_text
from collectors.snmp.udp import UdpDispatcher

log = logging.getLogger(__name__)

MAX_RESENDS = 2     # per request: after a notInTimeWindow report and after a rediscovery


@dataclass(slots=True)
class Agent:
    """What one address's SNMPv3 engine told us: its engine id and clock, and which users
    it has answered (their later silence is an outage, not a wrong key)."""

    engine_id: bytes
    clock: usm.EngineClock
    answered: set[usm.UsmUser] = field(default_factory=set)


class V3Agents:
    """address -> Agent, for every SNMPv3 session of one collector. Each engine id learnt
    goes to `on_engine_id(address, engine_id)` (the collector's clash registry)."""

    def __init__(self, on_engine_id: Callable[[str, bytes], None]) -> None:
        self._on_engine_id = on_engine_id
        self._agents: dict[str, Agent] = {}
        # Who was answered outlives a forgotten agent: an engine that comes back with the
        # same id after silence still knows those users.
        self._answered: dict[tuple[str, bytes], set[usm.UsmUser]] = {}
        # One probe per address at a time: devices polled at once on one address (or one
        # device's credentials) share its answer.
        self._discoveries: dict[str, asyncio.Future[Agent]] = {}

    def get(self, address: str) -> Agent | None:
        return self._agents.get(address)

    def discovering(self, address: str) -> asyncio.Future[Agent] | None:
        """The discovery of `address` in flight, if one is: its result is the agent."""
        return self._discoveries.get(address)

    def start_discovery(self, address: str) -> asyncio.Future[Agent]:
        future: asyncio.Future[Agent] = asyncio.get_running_loop().create_future()
        # A failure nobody awaited is not worth a warning: each waiter probes on its own.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._discoveries[address] = future
        return future

    def end_discovery(self, address: str, future: asyncio.Future[Agent]) -> None:
        if self._discoveries.get(address) is future:
            del self._discoveries[address]

    def learn(self, address: str, engine_id: bytes, boots: int, time: int, at: float) -> Agent:
        answered = self._answered.setdefault((address, engine_id), set())
        agent = self._agents[address] = Agent(engine_id, usm.EngineClock(boots, time, at, time),
                                              answered)
        self._on_engine_id(address, engine_id)
        return agent

    def forget(self, address: str, agent: Agent) -> None:
        if self._agents.get(address) is agent:
            del self._agents[address]


class _EngineChangedError(Exception):
    """The agent says it does not know the engine id we used: discover it again."""


class UsmSession:
    """SNMPv3 with a USM user, over the shared dispatcher."""

    __slots__ = ("_agents", "_context", "_dispatcher", "_params", "_target", "_user",
                 "address", "retries", "timeout")

    def __init__(self, dispatcher: UdpDispatcher, agents: V3Agents, target: Address,
                 params: UsmParams, *, timeout: float, retries: int) -> None:
        """Raises SnmpConfigError for credentials USM cannot use (a key too short)."""
        try:
            self._user = usm.UsmUser(params.user, params.auth_protocol, params.auth_key,
                                     params.priv_protocol, params.priv_key)
        except ValueError as exc:
            raise SnmpConfigError(f"SNMPv3 user {params.user}: {exc}") from None
        self._dispatcher = dispatcher
        self._agents = agents
        self._target = target
        self._params = params
        self._context = params.context.encode()
        self.address = address_text(target)
        self.timeout = timeout
        self.retries = retries

    def __repr__(self) -> str:      # the keys stay out of every repr
        return f"UsmSession({self.address}, {self._params!r})"

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        agent = self._agents.get(self.address)
        fresh = agent is None           # discovered by this request: never answered us yet
        if agent is None:
            agent = await self._discover(self.retries + 1, deadline)
        varbinds = ber.null_varbinds(oids)
        out_of_step = False
        for _ in range(MAX_RESENDS + 1):
            try:
                answer = await self._send(agent, pdu, varbinds, non_repeaters,
                                          max_repetitions, deadline)
            except _EngineChangedError:
                self._agents.forget(self.address, agent)
                agent, fresh = await self._discover(1, deadline), True
                continue
            except PollBudgetSpentError:
                raise
            except SnmpTimeoutError as silence:
                agent = await self._after_silence(agent, fresh, silence, deadline)
                fresh = True
                continue
            report = usm.report_of(answer)
            if answer.tag == ber.RESPONSE:
                agent.answered.add(self._user)
                return answer.response()
            if report is not usm.Report.NOT_IN_TIME_WINDOW or out_of_step:
                raise report_error(report, self.address, self._params)
            out_of_step = True      # the clock was set from the report: send again, once
        raise SnmpError(f"{self.address}: SNMPv3 requests kept being refused "
                        f"(engine id or time window changing under us)")

    # --- one exchange -----------------------------------------------------------------------

    async def _send(self, agent: Agent, pdu: int, varbinds: bytes, non_repeaters: int,
                    max_repetitions: int, deadline: float) -> ber.Pdu:
        loop = asyncio.get_running_loop()
        keys = usm.localize(self._user, agent.engine_id)
        msg_id = self._dispatcher.next_request_id()
        boots, time = agent.clock.now(loop.time())
        message = usm.encode_message(
            msg_id=msg_id, engine_id=agent.engine_id, boots=boots, time=time, keys=keys,
            context_engine_id=agent.engine_id, context_name=self._context, reportable=True,
            pdu=ber.encode_pdu(pdu, msg_id, varbinds, non_repeaters, max_repetitions))
        data = await self._dispatcher.exchange(message, msg_id, self._target,
                                               self.retries + 1, self.timeout, deadline)
        answer = self._decode(data)
        sec = answer.security
        if not answer.flags & usm.FLAG_AUTH:
            # Unauthenticated: only a report can be (the agent could not check our keys).
            scoped = self._open(answer, None)
            if keys.auth is None and scoped.pdu.tag == ber.RESPONSE:
                return scoped.pdu       # a noAuthNoPriv user's answer: nothing to check
            report = usm.report_of(scoped.pdu)
            if scoped.pdu.tag != ber.REPORT:
                raise SnmpError(f"{self.address} answered an authenticated SNMPv3 request "
                                f"without authentication")
            if report is usm.Report.UNKNOWN_ENGINE_ID:
                raise _EngineChangedError
            return scoped.pdu
        if sec.engine_id != agent.engine_id:
            raise _EngineChangedError
        if keys.priv is not None and not answer.flags & usm.FLAG_PRIV:
            # Authenticated, not encrypted: a report may be (notInTimeWindow is sent so).
            scoped = self._open(answer, keys.without_privacy())
            if scoped.pdu.tag != ber.REPORT:
                raise SnmpError(f"{self.address} answered an encrypted SNMPv3 request "
                                f"without encryption")
        else:
            scoped = self._open(answer, keys)
        at = loop.time()
        if usm.report_of(scoped.pdu) is usm.Report.NOT_IN_TIME_WINDOW:
            # RFC 3414 3.2.7: its boots and time, authenticated; also when they went back
            # (a device that lost its boots counter would otherwise stay out for good).
            agent.clock = usm.EngineClock(sec.boots, sec.time, at, sec.time)
        elif not agent.clock.accept(sec.boots, sec.time, at):
            raise SnmpAuthError(f"{self.address}: not in time window (engine boots/time "
                                f"mismatch: the answer is older than the agent's clock)")
        return scoped.pdu

    def _decode(self, data: bytes) -> usm.Message:
        try:
            return usm.decode_message(data)
        except ber.BerError as exc:
            raise SnmpError(f"{self.address} sent a malformed SNMPv3 message: {exc}") from None

    def _open(self, message: usm.Message, keys: usm.LocalKeys | None) -> usm.ScopedPdu:
        try:
            return usm.open_message(message, keys)
        except usm.UsmError as exc:
            raise SnmpAuthError(f"{self.address}: its SNMPv3 answer failed our check "
                                f"({exc.report.name.lower().replace('_', ' ')})") from None
        except ber.BerError as exc:
            raise SnmpError(f"{self.address} sent a malformed SNMPv3 message: {exc}") from None

    # --- discovery ------------------------------------------------------------------------

    async def _discover(self, attempts: int, deadline: float) -> Agent:
        """RFC 3414 4: the agent's engine id, boots and time, from its report on a probe;
        shared with a discovery of the same address in flight, if it succeeds."""
        pending = self._agents.discovering(self.address)
        if pending is not None:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                return await asyncio.wait_for(asyncio.shield(pending), max(0.0, remaining))
            except TimeoutError:
                raise PollBudgetSpentError(f"{self.address}: the poll's time ran out while "
                                           f"a request waited") from None
            except SnmpError:
                pass                    # that poll's probe failed: this one probes itself
        future = self._agents.start_discovery(self.address)
        try:
            agent = await self._probe(attempts, deadline)
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, SnmpError)
                                 else SnmpError("discovery abandoned"))
            raise
        finally:
            self._agents.end_discovery(self.address, future)
        future.set_result(agent)
        return agent

    async def _probe(self, attempts: int, deadline: float) -> Agent:
        msg_id = self._dispatcher.next_request_id()
        data = await self._dispatcher.exchange(usm.discovery_message(msg_id, msg_id), msg_id,
                                               self._target, attempts, self.timeout, deadline)
        answer = self._decode(data)
        scoped = self._open(answer, None) if not answer.flags & usm.FLAG_AUTH else None
        sec = answer.security
        if scoped is None or scoped.pdu.tag != ber.REPORT or not sec.engine_id:
            raise SnmpError(f"{self.address}: SNMPv3 engine discovery failed (the answer "
                            f"did not carry the agent's engine id)")
        return self._agents.learn(self.address, sec.engine_id, sec.boots, sec.time,
                                  asyncio.get_running_loop().time())

    async def _after_silence(self, agent: Agent, fresh: bool, silence: SnmpTimeoutError,
                             deadline: float) -> Agent:
        """Our request went unanswered. If the agent answers a new probe with another engine
        id, that is the one to use (returned); otherwise the silence is the result. Either
        way the agent is forgotten, so the next poll starts with a discovery: what it
        answers then says outage or wrong key even in a poll too short for a second probe."""
        self._agents.forget(self.address, agent)
        if not fresh:
            if deadline - asyncio.get_running_loop().time() < self.timeout:
                raise silence
            found = await self._discover(1, deadline)
            if found.engine_id != agent.engine_id:
                log.info("%s: SNMPv3 engine id %s is now %s; polling the new one",
                         self.address, agent.engine_id.hex(), found.engine_id.hex())
                return found
            self._agents.forget(self.address, found)
        if self._user in agent.answered:
            raise silence
        if self._user.priv_protocol:
            # net-snmp drops a request it cannot decrypt, without a report.
            # It drops a request for a context it lacks the same way: say so if one is set.
            context = (f", and the context name {self._params.context!r}"
                       if self._params.context else "")
            raise SnmpAuthError(
                f"{self.address}: probably a wrong SNMPv3 privacy key for user "
                f"{self._params.user} (the agent answers engine discovery but drops our "
                f"encrypted requests: check the privacy key and protocol{context})")
        raise SnmpTimeoutError(f"{self.address} answers SNMPv3 engine discovery, but none "
                               f"of our requests")


def report_error(report: usm.Report | None, address: str, params: UsmParams) -> SnmpError:
    """A report an agent answered our request with, as the failure the poll reports:
    which part of the credentials it refused, as far as the report tells."""
    kind, text = _REPORT_TEXTS.get(report, (SnmpError, "{address} refused our SNMPv3 "
                                                       "request: {what}"))
    what = report.name.lower().replace("_", " ") if report else "an unknown report"
    return kind(text.format(address=address, user=params.user, level=params.security_level,
                            context=params.context, what=what))


# The words users already see (the pysnmp path said the same).
_REPORT_TEXTS: dict[usm.Report | None, tuple[type[SnmpError], str]] = {
    usm.Report.WRONG_DIGEST: (SnmpAuthError, (
        "{address}: wrong SNMPv3 authentication key for user {user} (the agent found a "
        "wrong digest: check the auth key and auth protocol)")),
    usm.Report.UNKNOWN_USER_NAME: (SnmpAuthError, (
        "{address}: unknown SNMPv3 user {user} (the agent has no such user)")),
    usm.Report.DECRYPTION_ERROR: (SnmpAuthError, (
        "{address}: wrong SNMPv3 privacy key for user {user} (the agent could not decrypt "
        "our request: check the privacy key and protocol)")),
    usm.Report.UNSUPPORTED_SEC_LEVEL: (SnmpAuthError, (
        "{address}: user {user} may not use security level {level} there")),
    usm.Report.NOT_IN_TIME_WINDOW: (SnmpAuthError, (
        "{address}: not in time window (engine boots/time mismatch, often two devices "
        "sharing one engine id)")),
    usm.Report.UNKNOWN_CONTEXT: (SnmpError, (
        "{address}: the agent has no SNMPv3 context {context!r}")),
    usm.Report.UNAVAILABLE_CONTEXT: (SnmpError, (
        "{address}: the agent has no SNMPv3 context {context!r}")),
}


__all__ = ["Agent", "UsmSession", "V3Agents", "report_error"]
