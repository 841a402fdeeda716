"""Fetching a profile's objects with as few requests and decoded varbinds as possible.

- Scalars ride as non-repeaters of the first GETBULK, asked as GETNEXT of the instance's
  predecessor (`x.0` is asked as `x`), so the system group costs no extra round trip. An
  answer whose OID is not exactly the instance means the scalar is absent.
- Each table's columns go in one GETBULK with maxRepetitions sized to the rows the device
  had last time plus one (the "beyond the end" varbind that proves a column finished);
  small tables with the same size share a request. Extra repetitions would be decoded and
  thrown away, which is most of pysnmp's cost on the same job.
- A truncated response (agents cap varbinds per GETBULK: net-snmp at 100) simply leaves
  columns unfinished; the next request continues each from its last OID.
- SNMP v1 has no GETBULK: the same loop runs with GETNEXT, one row per request, and
  treats noSuchName at index i as "varbind i is finished".
- Each request has its own timeout and retries (the session's); the whole walk has the
  poll's budget (`PollBudget`, from `PollSpec.poll_budget`). A walk cut short, by the
  budget or by a request that went unanswered after earlier answers, keeps whole rows
  only (`whole_rows`) and says which table stopped where and why, in `Fetched.failures`
  and `Fetched.cuts`.
"""
from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from collectors.snmp import ber
from collectors.snmp.errors import (
    NO_SUCH_NAME,
    TOO_BIG,
    PollBudgetSpentError,
    SnmpError,
    SnmpResponseError,
    SnmpTimeoutError,
)
from collectors.snmp.transport import Session
from collectors.snmp.whole_rows import keep_whole_rows

MAX_VARBINDS = 100          # net-snmp's default maxGetbulkResponses; most agents allow more
MAX_REQUESTS_PER_JOB = 500  # guards against agents whose OIDs never leave a column

Value = tuple[int, "int | bytes | None"]


@dataclass(frozen=True, slots=True)
class TableRequest:
    """The columns of one table to walk, how many rows to expect and at most to keep;
    `name` (the profile's table name) is what a walk cut short names in its message, or
    failing that its first column's OID."""

    columns: tuple[bytes, ...]
    rows_hint: int
    max_rows: int | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or (ber.oid_text(self.columns[0]) if self.columns else "?")


@dataclass(frozen=True, slots=True)
class PollBudget:
    """The whole poll's time: `seconds` long, ending at event-loop time `ends`."""

    seconds: float
    ends: float

    @classmethod
    def starting_now(cls, seconds: float) -> PollBudget:
        return cls(seconds, asyncio.get_running_loop().time() + seconds)


@dataclass(frozen=True, slots=True)
class WalkCut:
    """A table whose walk stopped before its end, and where: `reached` maps each
    unfinished column OID to the index suffix of the last row it received (None: none).
    `rows` is how many whole rows were kept."""

    table: str
    reached: Mapping[bytes, bytes | None]
    rows: int
    why: str


@dataclass(slots=True)
class Fetched:
    """What answered. Columns map column OID -> index suffix (encoded) -> (tag, value)."""

    scalars: dict[bytes, Value] = field(default_factory=dict)
    columns: dict[bytes, dict[bytes, Value]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    cuts: list[WalkCut] = field(default_factory=list)   # tables cut short, rows trimmed
    answers: int = 0                    # responses received
    requests: int = 0


@dataclass(slots=True)
class _Column:
    prefix: bytes
    last: bytes
    max_rows: int | None
    table: str
    rows: int = 0
    done: bool = False

    def reached(self) -> bytes | None:
        """The index suffix of the last row received, None before the first."""
        return self.last[len(self.prefix):] if self.last != self.prefix else None


@dataclass(slots=True)
class _Job:
    columns: list[_Column]
    max_repetitions: int


@functools.lru_cache(maxsize=4096)      # the profiles' scalars: asked at every poll
def scalar_request_oid(instance: bytes) -> bytes:
    """The OID whose GETNEXT is `instance`: drop a trailing .0, else decrement the last."""
    subs = ber.decode_oid(instance)
    pred = subs[:-1] if subs[-1] == 0 else (*subs[:-1], subs[-1] - 1)
    return ber.encode_oid(pred)


def plan_jobs(tables: Sequence[TableRequest]) -> list[_Job]:
    jobs: list[_Job] = []
    for table in tables:
        reps = table.rows_hint + 1
        if table.max_rows is not None:
            reps = min(reps, table.max_rows + 1)
        cols = [_Column(c, c, table.max_rows, table.label) for c in table.columns]
        last = jobs[-1] if jobs else None
        if (last is not None and last.max_repetitions == reps
                and (len(last.columns) + len(cols)) * reps <= MAX_VARBINDS):
            last.columns.extend(cols)
        else:
            jobs.append(_Job(cols, reps))
    return jobs


async def fetch(session: Session, *, v1: bool, scalars: Sequence[bytes],
                tables: Sequence[TableRequest], budget: PollBudget) -> Fetched:
    """Walk everything asked within `budget`. Raises SnmpError only if the very first
    request fails; later failures are recorded in `Fetched.failures`, and of a table
    whose walk stopped early only whole rows are kept (`Fetched.cuts`)."""
    out = Fetched()
    jobs = plan_jobs(tables)
    if not jobs:
        jobs = [_Job([], 0)]
    pending_scalars = list(scalars)
    for n, job in enumerate(jobs):
        try:
            why = await _run(session, job, pending_scalars, out, v1=v1, deadline=budget.ends)
        except SnmpError as exc:
            if out.answers == 0:
                raise
            why = _why_stopped(exc, session, budget)
            if isinstance(exc, SnmpTimeoutError):
                # The budget is spent, or the device stopped answering after answering:
                # the rest would wait the same way. Say which tables were never walked.
                _cut(out, job, why)
                skipped = dict.fromkeys(c.table for j in jobs[n + 1:] for c in j.columns)
                if skipped:
                    out.failures.append(f"{', '.join(skipped)} not walked")
                break
        pending_scalars = []
        if why is not None:
            _cut(out, job, why)
    return out


def _why_stopped(exc: SnmpError, session: Session, budget: PollBudget) -> str:
    if isinstance(exc, PollBudgetSpentError):
        return f"at the poll budget ({budget.seconds:g} s)"
    if isinstance(exc, SnmpTimeoutError):
        retries = f"{session.retries} {'retry' if session.retries == 1 else 'retries'}"
        return f"after a request timed out ({session.timeout:g} s, {retries})"
    return f"when {exc}"


def _cut(out: Fetched, job: _Job, why: str) -> None:
    """Each table of `job` with unfinished columns keeps whole rows only, and says so."""
    tables: dict[str, list[_Column]] = {}
    for col in job.columns:
        tables.setdefault(col.table, []).append(col)
    for name, cols in tables.items():
        reached = {c.prefix: c.reached() for c in cols if not c.done}
        if not reached:
            continue
        rows = keep_whole_rows(out.columns, [c.prefix for c in cols], reached)
        out.cuts.append(WalkCut(name, reached, rows, why))
        out.failures.append(f"walk of {name} stopped after {rows} "
                            f"row{'' if rows == 1 else 's'} {why}")


async def _run(session: Session, job: _Job, scalars: list[bytes], out: Fetched, *,
               v1: bool, deadline: float) -> str | None:
    """Walks the job's columns to their ends (returns None), or stops early and returns
    why; raises the SnmpError of a request that failed."""
    for col in job.columns:
        out.columns.setdefault(col.prefix, {})
    nonrep = [(scalar_request_oid(s), s) for s in scalars]
    reps = job.max_repetitions
    loop = asyncio.get_running_loop()
    for _ in range(MAX_REQUESTS_PER_JOB):
        active = [c for c in job.columns if not c.done]
        if not active and not nonrep:
            return None
        if loop.time() >= deadline:
            raise PollBudgetSpentError(f"{session.address}: the poll's time ran out")
        if active:
            reps = max(1, min(reps, MAX_VARBINDS // len(active)))
        oids = [o for o, _ in nonrep] + [c.last for c in active]
        out.requests += 1
        if v1:
            response = await session.request(ber.GETNEXT, oids, deadline=deadline)
        else:
            response = await session.request(ber.GETBULK, oids, non_repeaters=len(nonrep),
                                             max_repetitions=reps if active else 0,
                                             deadline=deadline)
        out.answers += 1
        if response.error_status:
            reps = _on_error_status(session, response, nonrep, active, reps, v1=v1)
            continue
        _take_scalars(response.varbinds[:len(nonrep)], nonrep, out)
        progressed = _take_rows(response.varbinds[len(nonrep):], active, out)
        nonrep = []
        if active and not progressed:
            return "when the agent answered no further rows"
    return f"after {MAX_REQUESTS_PER_JOB} requests without reaching its end"


def _on_error_status(session: Session, response: ber.Response,
                     nonrep: list[tuple[bytes, bytes]], active: list[_Column], reps: int,
                     *, v1: bool) -> int:
    """Adjusts the job after an error-status so the loop can retry; raises otherwise."""
    status, index = response.error_status, response.error_index
    if status == TOO_BIG and reps > 1:
        return reps // 2
    if v1 and status == NO_SUCH_NAME and 0 < index <= len(nonrep) + len(active):
        if index <= len(nonrep):
            del nonrep[index - 1]           # that scalar is absent
        else:
            active[index - 1 - len(nonrep)].done = True   # past the column's end
        return reps
    raise SnmpResponseError(status, index, session.address)


def _take_scalars(varbinds: Sequence[ber.Varbind], nonrep: list[tuple[bytes, bytes]],
                  out: Fetched) -> None:
    # An agent may answer fewer varbinds than asked: the scalars left out stay absent.
    for (oid, tag, value), (_, instance) in zip(varbinds, nonrep, strict=False):
        if oid == instance and tag not in ber.EXCEPTION_TAGS:
            out.scalars[instance] = (tag, value)


def _take_rows(varbinds: Sequence[ber.Varbind], active: list[_Column], out: Fetched) -> bool:
    if not active:
        return False
    columns = out.columns
    progressed = False
    # GETBULK answers row by row: varbind j continues column j % len(active).
    for col, (oid, tag, value) in zip(itertools.cycle(active), varbinds):
        if col.done:
            continue
        prefix = col.prefix
        n = len(prefix)
        if (tag == ber.END_OF_MIB_VIEW or len(oid) <= n
                or not oid.startswith(prefix) or oid == col.last):
            col.done = True
            progressed = True
            continue
        columns[prefix][oid[n:]] = (tag, value)
        col.last = oid
        col.rows += 1
        progressed = True
        if col.max_rows is not None and col.rows >= col.max_rows:
            col.done = True
    return progressed
