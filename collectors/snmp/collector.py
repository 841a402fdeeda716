"""`SnmpCollector`, the `collectors.base.Collector` for SNMP: polls a device as its
profile says.

Create one per process: it owns the shared UDP socket (every version's requests) and what
SNMPv3 agents told it (`v3_session.V3Agents`).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from collectors.base import (
    Identity,
    NoRoomToPollError,
    PollResult,
    ResultCode,
    SnmpFacts,
    device_tags,
    poll_sample,
)
from collectors.snmp import detect, walker
from collectors.snmp import samples as _samples
from collectors.snmp.counters import CounterTracker
from collectors.snmp.engine import EngineHolder
from collectors.snmp.errors import SnmpConfigError, SnmpError
from collectors.snmp.profiles import Profile, ProfileSet, Table, load_profiles
from collectors.snmp.target import UsmParams, resolve
from collectors.snmp.transport import CommunitySession, Session
from collectors.snmp.v3_session import UsmSession, V3Agents
from collectors.snmp.whole_rows import keep_whole_rows
from config.model import SecretError, SnmpCredentials

if TYPE_CHECKING:
    from config.model import Credentials
    from inventory.model import Config, Device, PollSpec

log = logging.getLogger(__name__)

IDENTITY_REFRESH = 3600.0       # seconds between ENTITY-MIB chassis lookups of a device
# SNMPv3 polls share max_in_flight with v1/v2c: on the BER path they cost about as much
# (bench/RESULTS.md, "SNMPv3"). Through pysnmp (10 ms each) they needed a cap of 16 to keep
# the event loop from leaving answers unread past their timeout; the reference session
# (`reference_v3`) still takes one of these fewer slots.
PYSNMP_V3_IN_FLIGHT = 16

# What a device's table requests depend on: profile, chassis wanted, columns it lacks, rows.
_PlanKey = tuple[str, bool, frozenset[str], tuple[tuple[str, int], ...]]
_Plan = tuple[_PlanKey, tuple["walker.TableRequest", ...]]
# Plans are immutable and most devices of a profile share one (same rows, same columns):
# they are kept once per collector, up to this many; past it a device keeps its own.
SHARED_PLANS_MAX = 4096


@dataclass(slots=True)
class _DeviceState:
    """What one device's previous polls taught us; rebuilt when its config changes."""

    key: tuple[PollSpec, Credentials | None]
    session: Session
    v1: bool
    rows: dict[str, int] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)   # columns the device lacks (32-bit only)
    counters: CounterTracker = field(default_factory=CounterTracker)
    chassis: tuple[str | None, str | None] | None = None
    chassis_at: float = 0.0
    hostname: str | None = None
    choice: detect.Choice | None = None     # profile: auto
    chosen_at: float = 0.0
    plan: _Plan | None = None           # a cache; shared with devices of the same plan


@dataclass(slots=True)
class _Outcome:
    code: ResultCode
    error: str | None = None
    built: _samples.Built | None = None
    identity: Identity | None = None
    facts: SnmpFacts | None = None
    warnings: tuple[str, ...] = ()


class SnmpCollector:
    """Polls SNMP devices. `max_in_flight` bounds polls (each has at most one request
    outstanding) so thousands of devices never flood the network or the socket buffer."""

    def __init__(self, credentials: Mapping[str, Credentials], *,
                 profiles: ProfileSet | None = None, max_in_flight: int = 256,
                 identity_refresh: float = IDENTITY_REFRESH,
                 reference_v3: bool = False) -> None:
        """`reference_v3`: poll SNMPv3 through pysnmp (`_pysnmp.PysnmpSession`), the
        reference the tests and the benchmark compare the BER path against."""
        self._credentials = dict(credentials)
        self.profiles = profiles if profiles is not None else load_profiles()
        self._max_in_flight = max_in_flight
        self._slots: asyncio.Semaphore | None = None
        self._pysnmp_slots: asyncio.Semaphore | None = None
        self._identity_refresh = identity_refresh
        self._holder = EngineHolder()
        self._v3_agents = V3Agents(self._holder.engine_ids.record)
        self._reference_v3 = reference_v3
        self._states: dict[str, _DeviceState] = {}
        self._scalars: dict[str, tuple[bytes, ...]] = {}
        self._plans: dict[_PlanKey, _Plan] = {}

    @classmethod
    def from_config(cls, config: Config, profiles: ProfileSet | None = None) -> SnmpCollector:
        return cls(config.credentials, profiles=profiles,
                   max_in_flight=config.agent.max_in_flight)

    async def aclose(self) -> None:
        await self._holder.close()
        self._states.clear()
        self._plans.clear()

    async def collect(self, device: Device) -> PollResult:
        """Poll once. Every failure is returned as a result code and an error message."""
        started = datetime.now(UTC)
        t0 = _time.perf_counter()
        try:
            outcome = await self._poll(device, started)
        except SnmpError as exc:
            outcome = _Outcome(exc.code, str(exc))
        except NoRoomToPollError:
            raise
        except Exception as exc:   # a bug must not stop the other devices' polls
            log.exception("SNMP poll of %s failed unexpectedly", device.id)
            outcome = _Outcome(ResultCode.BAD_RESPONSE, f"internal error: {type(exc).__name__}")
        duration = _time.perf_counter() - t0
        state = self._states.get(device.id)
        tags = _base_tags(device, state.hostname if state else None)
        found = list(outcome.built.samples) if outcome.built else []
        found.append(poll_sample(outcome.code, duration, tags, started))
        return PollResult(device_id=device.id, code=outcome.code, started=started,
                          duration=duration, error=outcome.error, samples=tuple(found),
                          identity=outcome.identity, facts=outcome.facts,
                          warnings=outcome.warnings)

    # --- one poll -----------------------------------------------------------------------

    async def _poll(self, device: Device, started: datetime) -> _Outcome:
        spec = device.poll
        if spec is None or spec.protocol != "snmp":
            raise SnmpConfigError(f"device {device.id} has no SNMP poll settings")
        named = None if spec.profile == detect.AUTO else self.profiles.get(spec.profile)
        if named is None and spec.profile != detect.AUTO:
            raise SnmpConfigError(f"unknown SNMP profile {spec.profile!r} "
                                  f"(known: auto, {', '.join(sorted(self.profiles))})")
        state = await self._state(device)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_in_flight)
            self._pysnmp_slots = asyncio.Semaphore(min(self._max_in_flight,
                                                       PYSNMP_V3_IN_FLIGHT))
        pysnmp_slot = self._pysnmp_slots if self._reference_v3 and not isinstance(
            state.session, CommunitySession) else None
        async with pysnmp_slot or contextlib.nullcontext():
            loop = asyncio.get_running_loop()
            budget = walker.PollBudget.starting_now(spec.poll_budget)
            await self._take_slot(self._slots, budget, spec)
            try:
                profile = named or await self._detected(state, budget)
                want_chassis = profile.identity.chassis is not None and (
                    state.chassis is None
                    or loop.time() - state.chassis_at > self._identity_refresh)
                fetched = await walker.fetch(
                    state.session, v1=state.v1, scalars=self._scalar_oids(profile),
                    tables=self._requests(profile, state, want_chassis), budget=budget)
                await self._fetch_fallbacks(profile, state, fetched, budget)
                at = loop.time()
            finally:
                self._slots.release()
        outcome = self._finish(device, profile, state, fetched, started, at, want_chassis)
        if named is None:
            self._explain_choice(state, outcome)
        return outcome

    async def _take_slot(self, slots: asyncio.Semaphore, budget: walker.PollBudget,
                         spec: PollSpec) -> None:
        """One of the max_in_flight slots, waited for only while the budget still holds
        one request and its retries; past that, NoRoomToPollError: the poll would end by the
        budget before the device had a fair chance to answer, and a saturated agent must
        not be told as a device that does not answer."""
        fair_chance = spec.timeout * (spec.retries + 1)
        wait = budget.ends - asyncio.get_running_loop().time() - fair_chance
        try:
            async with asyncio.timeout(max(0.0, wait)):
                await slots.acquire()
        except TimeoutError:
            raise NoRoomToPollError(
                f"no poll slot free within {max(0.0, wait):.1f} s of the poll budget "
                f"({self._max_in_flight} polls in flight)") from None

    async def _detected(self, state: _DeviceState, budget: walker.PollBudget) -> Profile:
        """`profile: auto`: the profile chosen at the first poll, chosen again after a
        reboot, hourly, or when the device says it is something else."""
        now = asyncio.get_running_loop().time()
        if state.choice is None or now - state.chosen_at > self._identity_refresh:
            state.choice = await detect.choose(state.session, v1=state.v1,
                                               profiles=self.profiles, budget=budget)
            state.chosen_at = now
            log.info("%s: profile %s (%s)", state.session.address,
                     state.choice.profile.name, state.choice.reason)
        return state.choice.profile

    @staticmethod
    def _explain_choice(state: _DeviceState, outcome: _Outcome) -> None:
        """Says which profile `auto` chose; warns when nothing fitted; forgets the choice
        when the device now says it is something else (a replaced box on the address)."""
        choice = state.choice
        if choice is None:
            return
        said = outcome.identity.sys_object_id if outcome.identity else None
        if outcome.facts is not None:
            outcome.facts = replace(outcome.facts, profile=choice.profile.name,
                                    profile_reason=choice.reason)
        if not choice.fitted:
            outcome.warnings = (*outcome.warnings, f"profile auto: {choice.reason}")
        if said is not None and said.lstrip(".") != (choice.sys_object_id or ""):
            state.choice = None

    def _finish(self, device: Device, profile: Profile, state: _DeviceState,
                fetched: walker.Fetched, started: datetime, at: float,
                want_chassis: bool) -> _Outcome:
        if want_chassis and profile.identity.chassis is not None:
            found = _samples.chassis(profile.identity.chassis, fetched)
            if found is not None or state.chassis is None:
                state.chassis, state.chassis_at = found or (None, None), at
        identity = _samples.identity(profile, fetched, state.chassis or (None, None))
        state.hostname = identity.sys_name or state.hostname
        built = _samples.build(profile, fetched, _base_tags(device, state.hostname), started)
        _learn_rows(profile, state, fetched)
        uptime = fetched.scalars.get(profile.identity.uptime or b"")
        rebooted = state.counters.observe_uptime(
            uptime[1] if uptime and isinstance(uptime[1], int) else None)
        if rebooted:
            state.chassis = None        # a reboot may mean a replaced chassis: look again
            state.choice = None         # or new firmware that fits another profile
        rates = state.counters.rates(built.counters, at)
        outcome = _Outcome(*_judge(profile, built, fetched), built=built, identity=identity,
                           facts=SnmpFacts(rates=rates, rebooted=rebooted,
                                           requests=fetched.requests))
        self._engine_facts(state, outcome)
        return outcome

    async def _fetch_fallbacks(self, profile: Profile, state: _DeviceState,
                               fetched: walker.Fetched, budget: walker.PollBudget) -> None:
        """The first time a device turns out to lack a column that has a fallback (the
        64-bit octet counters), fetch the fallback now rather than a poll later. Not
        after a walk cut short: the time or the device's answers ran out."""
        extra: list[walker.TableRequest] = []
        for table in profile.tables:
            if not any(fetched.columns.get(c.oid) for c in table.columns):
                continue
            cols = tuple(c.oid for c in table.columns if c.fallback_for
                         and c.fallback_for not in state.missing
                         and not fetched.columns.get(table.column(c.fallback_for).oid))
            if cols:
                extra.append(walker.TableRequest(cols, max(1, _row_count(table, fetched)),
                                                 name=table.name))
        if (not extra or fetched.cuts
                or asyncio.get_running_loop().time() >= budget.ends):
            return
        try:
            more = await walker.fetch(state.session, v1=state.v1, scalars=(), tables=extra,
                                      budget=budget)
        except SnmpError as exc:
            fetched.failures.append(str(exc))
            return
        fetched.columns.update(more.columns)
        fetched.failures += more.failures
        fetched.requests += more.requests
        fetched.cuts += more.cuts
        for cut in more.cuts:
            # The fallback columns stopped early: the table's other columns, walked to
            # their end, keep only the rows the fallback columns reached too.
            table = next(t for t in profile.tables if t.name == cut.table)
            keep_whole_rows(fetched.columns, [c.oid for c in table.columns], cut.reached)

    def _engine_facts(self, state: _DeviceState, outcome: _Outcome) -> None:
        """SNMPv3: the agent's engine id, and a warning when another address answers
        with the same one (cloned configs: USM timeliness then fails now and then)."""
        if isinstance(state.session, CommunitySession) or outcome.facts is None:
            return
        ids = self._holder.engine_ids
        address = state.session.address
        engine_id = ids.by_address.get(address)
        sharing = tuple(ids.sharing(address))
        outcome.facts = replace(outcome.facts,
                                engine_id=engine_id.hex() if engine_id is not None else None,
                                engine_id_shared_with=sharing)
        if sharing:
            outcome.warnings = (
                f"SNMPv3 engine id {engine_id.hex() if engine_id else '?'} also answered from "
                f"{', '.join(sharing)}: timeliness checks may fail intermittently",)

    # --- per-device and per-profile preparation -------------------------------------------

    async def _state(self, device: Device) -> _DeviceState:
        assert device.poll is not None
        creds = self._credentials.get(device.poll.credentials or "")
        key = (device.poll, creds)
        state = self._states.get(device.id)
        if state is None or state.key != key:
            session, v1 = await self._session(device, creds)
            state = self._states[device.id] = _DeviceState(key, session, v1)
        return state

    async def _session(self, device: Device, creds: Credentials | None) -> tuple[Session, bool]:
        spec = device.poll
        assert spec is not None
        if not isinstance(creds, SnmpCredentials):
            raise SnmpConfigError(f"device {device.id}: credentials {spec.credentials!r} "
                                  f"are not SNMP credentials")
        target = await resolve(_address(spec.address, spec.port))
        try:
            if creds.version in ("1", "2c"):
                if creds.community is None:
                    raise SnmpConfigError(f"credentials {creds.name}: no community")
                session: Session = CommunitySession(
                    await self._holder.dispatcher(), target, version=creds.version,
                    community=creds.community.reveal(), timeout=spec.timeout,
                    retries=spec.retries)
                return session, creds.version == "1"
            params = UsmParams(
                user=creds.user or "", auth_protocol=creds.auth_protocol,
                auth_key=creds.auth_key.reveal() if creds.auth_key else None,
                priv_protocol=creds.priv_protocol,
                priv_key=creds.priv_key.reveal() if creds.priv_key else None,
                context=creds.context)
            if self._reference_v3:
                from collectors.snmp._pysnmp import PysnmpSession  # loads pysnmp: only here

                return PysnmpSession(self._holder, target, params, timeout=spec.timeout,
                                     retries=spec.retries), False
        except SecretError as exc:
            raise SnmpConfigError(f"credentials {creds.name}: {exc}") from None
        try:
            return UsmSession(await self._holder.dispatcher(), self._v3_agents, target,
                              params, timeout=spec.timeout, retries=spec.retries), False
        except SnmpConfigError as exc:
            raise SnmpConfigError(f"credentials {creds.name}: {exc}") from None

    def _scalar_oids(self, profile: Profile) -> tuple[bytes, ...]:
        oids = self._scalars.get(profile.name)
        if oids is None:
            ident = profile.identity
            wanted = [ident.sys_descr, ident.sys_object_id, ident.uptime, ident.sys_name]
            wanted += [c.oid for g in profile.groups for c in g.fields]
            oids = self._scalars[profile.name] = tuple(dict.fromkeys(o for o in wanted if o))
        return oids

    def _requests(self, profile: Profile, state: _DeviceState, want_chassis: bool
                  ) -> tuple[walker.TableRequest, ...]:
        key: _PlanKey = (profile.name, want_chassis, frozenset(state.missing),
                         tuple(state.rows.items()))
        if state.plan is not None and state.plan[0] == key:
            return state.plan[1]
        shared = self._plans.get(key)
        if shared is not None:
            state.plan = shared
            return shared[1]
        tables = list(profile.tables)
        if want_chassis and profile.identity.chassis is not None:
            tables.append(profile.identity.chassis)
        requests = tuple(
            walker.TableRequest(
                tuple(c.oid for c in t.columns
                      if not c.fallback_for or c.fallback_for in state.missing),
                state.rows.get(t.name, t.rows_hint), t.max_rows, name=t.name)
            for t in tables)
        state.plan = (key, requests)
        if len(self._plans) < SHARED_PLANS_MAX:
            self._plans[key] = state.plan
        return requests


def _judge(profile: Profile, built: _samples.Built, fetched: walker.Fetched
           ) -> tuple[ResultCode, str | None]:
    missing = [r for r in profile.required if r not in built.answered]
    if not built.answered or (profile.required and len(missing) == len(profile.required)):
        what = ", ".join(missing) or "anything"
        return ResultCode.NO_SUCH_OBJECT, f"answered, but has no {what} ({profile.name} profile)"
    problems = list(fetched.failures)
    problems += [f"no {name}" for name in missing]
    problems += built.bad_values[:5]
    if problems:
        return ResultCode.PARTIAL, "; ".join(problems)
    return ResultCode.SUCCESS, None


def _learn_rows(profile: Profile, state: _DeviceState, fetched: walker.Fetched) -> None:
    for table in profile.tables:
        count = _row_count(table, fetched)
        if count:
            state.rows[table.name] = count
        for col in table.columns:
            primary = col.fallback_for
            if primary is None or not count:
                continue
            if fetched.columns.get(table.column(primary).oid):
                state.missing.discard(primary)
            else:
                state.missing.add(primary)


def _row_count(table: Table, fetched: walker.Fetched) -> int:
    return max((len(fetched.columns.get(c.oid, ())) for c in table.columns), default=0)


def _address(address: str | None, port: int | None) -> str:
    if not address:
        raise SnmpConfigError("no SNMP address")
    if port is not None and ":" not in address:
        return f"{address}:{port}"
    return address


def _base_tags(device: Device, hostname: str | None) -> dict[str, str]:
    return device_tags(device, agent_host=device.poll.address if device.poll else None,
                       hostname=hostname)


__all__ = ["SnmpCollector"]
