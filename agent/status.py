"""What the running agent tells about itself (`AgentStatus`), and the file it keeps it in.

The agent builds an `AgentStatus` every few seconds and when it stops
(agent/reporter.py); `write_status` replaces `STATE_DIR/status.json` whole (temporary file
+ rename), so a reader never sees half of it, and `read_status` reads it back in another
process (`lifeline status`). The HTTP endpoint renders the same record. One record with
one JSON form (`AgentStatus.as_json` / `from_json`), so the file, `lifeline status` (table
and `--json`), /metrics and /healthz cannot disagree.

The file (format 1), key by key:

| key          | what                                                                  |
|--------------|-----------------------------------------------------------------------|
| format       | 1; a file without it was written by an older agent                    |
| written      | when the snapshot was taken, ISO 8601 in the agent's time zone        |
| written_unix | the same, seconds since the epoch (what /healthz compares with now)   |
| agent        | `AgentInfo`: name, pid, config, started(_unix), running, devices, ...  |
| process      | `ProcessUsage`: cpu_seconds (s, user + system), rss_bytes (bytes)     |
| start_lag    | `StartLagSummary`: count, p50, p99, max (s) of how late polls start   |
| sink         | `SinkStats.as_json()` (agent/sinks/base.py), null before it opens     |
| alerts       | `alert_status_json()`: {alerts: {counts, firing}, delivery} from      |
|              | alerts.model.AlertStatus;                                             |
|              | null when alerts are off or their status could not be read           |
| devices      | device id -> `DevicePoll`: the device's polls and its last result,    |
|              | and its reboots (reboots, last_reboot, last_reboot_by: a trap's name  |
|              | or "uptime"; absent in files of agents before them)                   |
| failing      | the state_dir writes failing now (agent/write_failures.py `Failing`): |
|              | [{kind, error, failures, since}]; [] when all go through; absent in   |
|              | files of agents before it (read as [])                                |
| clock        | `ClockJumps`: jumps (how often the wall clock was stepped under the   |
|              | running agent), last_jump_seconds (+ forward, - back), last_jump_at;  |
|              | absent in files of agents before it (read as no jumps)                |
| lateness     | `FallingBehind` (agent/lateness.py): behind (more than 1 % of the     |
|              | polls of the last window_seconds started over late_after_seconds     |
|              | late), window_seconds, late_after_seconds, polls, late,               |
|              | worst_seconds; absent in files of agents before it (read as none)     |
| traps        | the trap receiver's counts (collectors/snmp/traps.py `TrapCounts`):   |
|              | received, accepted, rate_limited, malformed, unsupported,             |
|              | unknown_source, bad_community, bad_keys, stale, engine_discovery,     |
|              | informs_acknowledged; null when no `traps:` is configured, absent in  |
|              | files of agents before it                                             |

A file that is damaged, or that another version of Lifeline wrote, raises
`StatusFileError` with what is wrong and where, never a bare traceback.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path

from agent._json_fields import FieldError, Fields
from agent.sinks.base import SinkStats
from agent.write_failures import Failing
from alerts.model import AlertCounts, AlertStatus, ChannelStats, FiringAlert

STATUS_FILE = "status.json"
STATUS_FORMAT = 1


class StatusFileError(Exception):
    """The status file cannot be read; the message says which file and why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentInfo:
    """The agent's identity and counters."""

    name: str
    pid: int
    config: str                 # the configuration file it runs
    started: datetime
    running: bool               # False in the last snapshot, written as it stops
    devices: int                # devices scheduled for polling
    in_flight: int              # polls running when the snapshot was taken
    reloads: int                # configuration reloads that took effect
    reload_failures: int        # reloads refused: invalid file, or its store would not open

    @property
    def started_unix(self) -> float:
        return self.started.timestamp()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessUsage:
    """The agent process's own cost."""

    cpu_seconds: float          # user + system CPU time since it started
    rss_bytes: int              # resident memory


# The start lag histogram's upper bounds (seconds), as /metrics shows it.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class StartLagSummary:
    """How late polls started against their schedule (seconds): p50, p99 and max over
    the recent polls; and, since the agent started, every poll counted in LAG_BUCKETS
    (cumulative, `buckets[i]` polls at most LAG_BUCKETS[i] late), `total` polls and the
    `sum` of their lags, for a Prometheus histogram."""

    count: int = 0
    p50: float | None = None
    p99: float | None = None
    max: float | None = None
    buckets: tuple[int, ...] = (0,) * len(LAG_BUCKETS)
    total: int = 0
    sum: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FallingBehind:
    """Polls that started late lately (agent/lateness.py): of the `polls` started in the
    last `window` seconds, `late` started more than `late_after` seconds after their
    scheduled time, the latest by `worst` seconds."""

    window: float = 60.0
    late_after: float = 2.0
    polls: int = 0
    late: int = 0
    worst: float | None = None

    @property
    def behind(self) -> bool:
        """More than 1 % of the window's polls started late: the agent cannot keep up."""
        return self.late * 100 > self.polls

    def as_json(self) -> dict[str, object]:
        return {"behind": self.behind, "window_seconds": self.window,
                "late_after_seconds": self.late_after, "polls": self.polls,
                "late": self.late, "worst_seconds": self.worst}

    @classmethod
    def from_json(cls, f: Fields) -> FallingBehind:
        return cls(window=f.number("window_seconds"), late_after=f.number("late_after_seconds"),
                   polls=f.integer("polls"), late=f.integer("late"),
                   worst=f.optional_number("worst_seconds"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockJumps:
    """The wall clock's jumps under the running agent (agent/clock_watch.py)."""

    count: int = 0
    last_seconds: float | None = None   # the last jump: + forward, - backward
    last_at: datetime | None = None     # wall time just after it

    def as_json(self) -> dict[str, object]:
        return {"jumps": self.count, "last_jump_seconds": self.last_seconds,
                "last_jump_at": _iso(self.last_at)}

    @classmethod
    def from_json(cls, f: Fields) -> ClockJumps:
        return cls(count=f.integer("jumps"), last_seconds=f.optional_number("last_jump_seconds"),
                   last_at=f.optional_time("last_jump_at"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePoll:
    """One device's polls as the agent has seen them since it started."""

    device_id: str
    protocol: str
    interval: float                     # seconds between polls
    polls: int = 0
    failures: int = 0                   # polls that got no answer
    consecutive_failures: int = 0
    overlaps: int = 0                   # skipped runs: previous poll still on, or no slot
    last_started: datetime | None = None
    last_result: str | None = None      # the result code's label: success, timeout, ...
    last_code: int | None = None        # the result code (collectors/base.py ResultCode)
    last_duration: float | None = None  # seconds
    last_error: str | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None
    reboots: int = 0                    # reboots heard of: a coldStart/warmStart trap, or
    last_reboot: datetime | None = None     # a poll's sysUpTime gone back; one each
    last_reboot_by: str | None = None   # the trap's name (coldStart, ...), or "uptime"
    # What the device said it is at its last answer (sys_name, sys_descr, model, ...):
    # its own text, for the console's drift view; absent in files of agents before it.
    identity: Mapping[str, str] = field(default_factory=dict)

    @property
    def up(self) -> bool | None:
        """Whether the last poll got an answer; None before the first poll."""
        return None if self.last_code is None else self.consecutive_failures == 0

    def as_json(self) -> dict[str, object]:
        return {"device_id": self.device_id, "protocol": self.protocol,
                "interval": self.interval, "polls": self.polls, "failures": self.failures,
                "consecutive_failures": self.consecutive_failures, "overlaps": self.overlaps,
                "last_started": _iso(self.last_started), "last_result": self.last_result,
                "last_code": self.last_code, "last_duration": self.last_duration,
                "last_error": self.last_error, "last_success": _iso(self.last_success),
                "next_run": _iso(self.next_run), "reboots": self.reboots,
                "last_reboot": _iso(self.last_reboot), "last_reboot_by": self.last_reboot_by,
                "identity": dict(self.identity)}

    @classmethod
    def from_json(cls, f: Fields) -> DevicePoll:
        told = f.has("reboots")         # absent in files of agents before them
        return cls(device_id=f.text("device_id"), protocol=f.text("protocol"),
                   interval=f.number("interval"), polls=f.integer("polls"),
                   failures=f.integer("failures"),
                   consecutive_failures=f.integer("consecutive_failures"),
                   overlaps=f.integer("overlaps"), last_started=f.optional_time("last_started"),
                   last_result=f.optional_text("last_result"),
                   last_code=f.optional_integer("last_code"),
                   last_duration=f.optional_number("last_duration"),
                   last_error=f.optional_text("last_error"),
                   last_success=f.optional_time("last_success"),
                   next_run=f.optional_time("next_run"),
                   reboots=f.integer("reboots") if told else 0,
                   last_reboot=f.optional_time("last_reboot") if told else None,
                   last_reboot_by=f.optional_text("last_reboot_by") if told else None,
                   identity=_identity(f))


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatus:
    """Everything the agent tells about itself at one moment (see the module's table)."""

    written: datetime
    written_unix: float
    agent: AgentInfo
    process: ProcessUsage
    start_lag: StartLagSummary
    sink: SinkStats | None
    alerts: AlertStatus | None
    devices: Mapping[str, DevicePoll]
    failing: tuple[Failing, ...] = ()
    clock: ClockJumps = ClockJumps()
    traps: Mapping[str, int] | None = None
    lateness: FallingBehind = FallingBehind()

    def only(self, device_ids: Iterable[str]) -> AgentStatus:
        """The same status with only these devices (each must be in it)."""
        return replace(self, devices={d: self.devices[d] for d in device_ids})

    def as_json(self) -> dict[str, object]:
        agent = self.agent
        lag = self.start_lag
        return {
            "format": STATUS_FORMAT,
            "written": self.written.isoformat(), "written_unix": self.written_unix,
            "agent": {"name": agent.name, "pid": agent.pid, "config": agent.config,
                      "started": agent.started.isoformat(),
                      "started_unix": agent.started_unix, "running": agent.running,
                      "devices": agent.devices, "in_flight": agent.in_flight,
                      "reloads": agent.reloads, "reload_failures": agent.reload_failures},
            "process": {"cpu_seconds": self.process.cpu_seconds,
                        "rss_bytes": self.process.rss_bytes},
            "start_lag": {"count": lag.count, "p50": lag.p50, "p99": lag.p99,
                          "max": lag.max, "buckets": list(lag.buckets), "total": lag.total,
                          "sum": lag.sum},
            "sink": self.sink.as_json() if self.sink is not None else None,
            "alerts": alert_status_json(self.alerts) if self.alerts is not None else None,
            "devices": {device_id: d.as_json() for device_id, d in self.devices.items()},
            "failing": [f.as_json() for f in self.failing],
            "clock": self.clock.as_json(),
            "traps": dict(self.traps) if self.traps is not None else None,
            "lateness": self.lateness.as_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> AgentStatus:
        """Read back what `as_json` wrote. Raises FieldError, naming the bad value, for
        anything else (a damaged file, or one another version of Lifeline wrote)."""
        f = Fields(data)
        if f.raw("format") != STATUS_FORMAT:
            raise FieldError(f"format: expected {STATUS_FORMAT}, got {f.raw('format')!r}")
        a, p, lag = f.child("agent"), f.child("process"), f.child("start_lag")
        devices = f.child("devices")
        return cls(
            written=f.time("written"), written_unix=f.number("written_unix"),
            agent=AgentInfo(name=a.text("name"), pid=a.integer("pid"),
                            config=a.text("config"), started=a.time("started"),
                            running=a.flag("running"), devices=a.integer("devices"),
                            in_flight=a.integer("in_flight"), reloads=a.integer("reloads"),
                            reload_failures=a.integer("reload_failures")),
            process=ProcessUsage(cpu_seconds=p.number("cpu_seconds"),
                                 rss_bytes=p.integer("rss_bytes")),
            start_lag=_start_lag(lag),
            sink=None if f.raw("sink") is None else SinkStats.from_json(f.child("sink")),
            alerts=None if f.raw("alerts") is None else _alert_status(f.child("alerts")),
            devices={key: DevicePoll.from_json(devices.child(key)) for key in devices.names()},
            failing=tuple(_failing(item) for item in f.children("failing"))
            if f.has("failing") else (),
            clock=ClockJumps.from_json(f.child("clock")) if f.has("clock") else ClockJumps(),
            traps=_traps(f),
            lateness=FallingBehind.from_json(f.child("lateness")) if f.has("lateness")
            else FallingBehind())


def _identity(f: Fields) -> dict[str, str]:
    if not f.has("identity"):
        return {}
    said = f.child("identity")
    return {name: said.text(name) for name in said.names()}


def _start_lag(lag: Fields) -> StartLagSummary:
    summary = StartLagSummary(count=lag.integer("count"), p50=lag.optional_number("p50"),
                              p99=lag.optional_number("p99"), max=lag.optional_number("max"))
    if not lag.has("buckets"):      # a file of an agent before the histogram
        return summary
    counts = lag.raw("buckets")
    if (not isinstance(counts, list) or len(counts) != len(LAG_BUCKETS)
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in counts)):
        raise lag.wrong("buckets", f"a list of {len(LAG_BUCKETS)} integers", counts)
    buckets = tuple(int(c) for c in counts)
    return replace(summary, buckets=buckets, total=lag.integer("total"),
                   sum=lag.number("sum"))


def _traps(f: Fields) -> dict[str, int] | None:
    if not f.has("traps") or f.raw("traps") is None:
        return None
    counts = f.child("traps")
    return {name: counts.integer(name) for name in counts.names()}


def _failing(f: Fields) -> Failing:
    return Failing(kind=f.text("kind"), error=f.text("error"),
                   failures=f.integer("failures"), since=f.time("since"))


def alert_status_json(status: AlertStatus) -> dict[str, object]:
    """The alerts section of the status file: the alerts (counts, the firing ones) and
    each channel's delivery, nested as the agent has always written them."""
    return {"alerts": firing_json(status),
            "delivery": {name: _channel_json(s) for name, s in sorted(status.delivery.items())}}


def firing_json(status: AlertStatus) -> dict[str, object]:
    """The alert counts and the firing alerts (also `lifeline alerts list --json`)."""
    return {"counts": asdict(status.counts),
            "firing": [{**asdict(a), "since": a.since.isoformat()} for a in status.firing]}


def _alert_status(f: Fields) -> AlertStatus:
    engine, delivery = f.child("alerts"), f.child("delivery")
    counts = engine.child("counts")
    unknown = set(counts.names()) - {field.name for field in fields(AlertCounts)}
    if unknown:
        raise FieldError(f"{counts.where}: unknown counts {', '.join(sorted(unknown))}")
    return AlertStatus(
        counts=AlertCounts(**{key: counts.integer(key) for key in counts.names()}),
        firing=tuple(_firing(alert) for alert in engine.children("firing")),
        delivery={name: _channel_stats(delivery.child(name)) for name in delivery.names()})


def _firing(f: Fields) -> FiringAlert:
    return FiringAlert(id=f.text("id"), rule=f.text("rule"), device_id=f.text("device_id"),
                       instance=f.text("instance"), severity=f.text("severity"),
                       since=f.time("since"), suppressed=f.flag("suppressed"),
                       silenced=f.flag("silenced"), acked=f.flag("acked"),
                       flapping=f.flag("flapping"),
                       closed=f.flag("closed") if f.has("closed") else False)


def _channel_json(s: ChannelStats) -> dict[str, object]:
    """One channel's figures; times as ISO 8601 with their offset."""
    return {"pending": s.pending, "delivered": s.delivered, "failed": s.failed,
            "expired": s.expired, "retries": s.retries,
            "resent_after_restart": s.resent_after_restart, "untold": s.untold,
            "retold": s.retold, "withheld": s.withheld, "last_error": s.last_error,
            "last_error_at": _iso(s.last_error_at),
            "last_delivery_at": _iso(s.last_delivery_at),
            "oldest_pending": _iso(s.oldest_pending)}


def _channel_stats(f: Fields) -> ChannelStats:
    return ChannelStats(
        pending=f.integer("pending"), delivered=f.integer("delivered"),
        failed=f.integer("failed"), expired=f.integer("expired"),
        retries=f.integer("retries"), resent_after_restart=f.integer("resent_after_restart"),
        # absent from the status file of an agent older than the lost-notice figures
        untold=f.integer("untold") if f.has("untold") else 0,
        retold=f.integer("retold") if f.has("retold") else 0,
        withheld=f.integer("withheld") if f.has("withheld") else 0,
        last_error=f.optional_text("last_error"), last_error_at=f.optional_time("last_error_at"),
        last_delivery_at=f.optional_time("last_delivery_at"),
        oldest_pending=f.optional_time("oldest_pending"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# One encoder for every device's text: `json.dumps(..., ensure_ascii=False)` builds a new
# JSONEncoder at each call, a third of the cost of a device's text. The same separators
# as json.dumps, so the file is the text it always was.
_JSON = json.JSONEncoder(ensure_ascii=False)
_DEVICES_PER_CHUNK = 1000       # about 700 KB of file a write


class StatusEncoder:
    """`AgentStatus.as_json()` as JSON text, each device's part kept between snapshots.

    With thousands of devices the devices are nearly all of the file, and few change
    between two snapshots (agent/device_states.py shares the unchanged `DevicePoll`
    records): a device's text is encoded again only when its record is another object
    than in the previous status encoded. The text is the same JSON as
    `json.dumps(status.as_json(), ensure_ascii=False)`, "devices" written last.

    Each device's text is kept as UTF-8 bytes, the file's own form, and `chunks` gives
    the file a thousand devices at a time: a snapshot never holds the whole file (20 MB
    at 30,000 devices) in memory, twice (as text, then encoded). Not thread-safe: one
    writer uses it (agent/reporter.py `StatusWriter`)."""

    def __init__(self) -> None:
        self._polls: Mapping[str, DevicePoll] = {}     # the last status's devices
        self._texts: dict[str, bytes] = {}             # '"id": {...}' of each of them

    def encode(self, status: AgentStatus) -> str:
        return b"".join(self.chunks(status)).decode("utf-8")

    def chunks(self, status: AgentStatus) -> Iterator[bytes]:
        """The file's text in pieces, each device's part encoded only if it changed."""
        self._update(status.devices)
        head = replace(status, devices={}).as_json()
        del head["devices"]
        yield (_JSON.encode(head)[:-1] + ', "devices": {').encode("utf-8")
        texts = list(self._texts.values())
        for start in range(0, len(texts), _DEVICES_PER_CHUNK):
            comma = b", " if start else b""
            yield comma + b", ".join(texts[start:start + _DEVICES_PER_CHUNK])
        yield b"}}"

    def _update(self, devices: Mapping[str, DevicePoll]) -> None:
        before, texts = self._polls, self._texts
        if list(devices) == list(before):       # the same devices, in the same order
            for device_id, poll in devices.items():
                if before[device_id] is not poll:
                    texts[device_id] = _device_text(device_id, poll)
        else:                                   # a reload: devices gone are forgotten
            self._texts = {
                device_id: texts[device_id] if before.get(device_id) is poll
                else _device_text(device_id, poll) for device_id, poll in devices.items()}
        self._polls = devices


def _device_text(device_id: str, poll: DevicePoll) -> bytes:
    return _JSON.encode({device_id: poll.as_json()})[1:-1].encode("utf-8")


def write_status(state_dir: Path, status: AgentStatus,
                 encoder: StatusEncoder | None = None) -> None:
    """Replace the status file atomically (a temporary file renamed over it; the
    temporary file is removed when the write fails). The agent passes the `encoder` it
    keeps, which remembers each device's text; without one, everything is encoded anew."""
    state_dir.mkdir(parents=True, exist_ok=True)
    final = state_dir / STATUS_FILE
    temporary = state_dir / f".{STATUS_FILE}.{os.getpid()}.tmp"
    try:
        with temporary.open("wb") as file:
            for chunk in (encoder or StatusEncoder()).chunks(status):
                file.write(chunk)
        temporary.replace(final)
    except BaseException:
        with contextlib.suppress(OSError):      # a full disk: leave it no fuller
            temporary.unlink(missing_ok=True)
        raise


def read_status(state_dir: Path) -> AgentStatus | None:
    """The last status written, or None when no agent ever ran with this state_dir.
    Raises StatusFileError for a file that cannot be read as one."""
    path = state_dir / STATUS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StatusFileError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StatusFileError(f"{path} is damaged (not JSON: {exc}); the agent rewrites "
                              "it within seconds while it runs") from None
    if isinstance(data, dict) and "format" not in data:
        raise StatusFileError(f"{path} was written by an older Lifeline agent; it is "
                              "rewritten in this version's format once this version's "
                              "`lifeline run` is running")
    try:
        return AgentStatus.from_json(data)
    except FieldError as exc:
        raise StatusFileError(f"{path} cannot be read as an agent status ({exc}): it is "
                              "damaged, or another version of Lifeline wrote it") from None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (the status file's agent, still running)."""
    if pid <= 0:                 # 0 and -1 would signal whole process groups
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:      # alive, owned by someone else
        return True
    return True
