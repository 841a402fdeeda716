"""The local host collector (`poll.protocol: host`): CPU, memory, disks, network counters
and load of the machine the agent runs on, through psutil, with Telegraf's names.

Public API: `HostCollector.from_config(config)`, a `collectors.base.Collector`;
`ENTRIES` and `TAGS`, this collector's part of the metric catalogue.

psutil calls are blocking (a stale network mount can hang `statvfs`), so one poll runs in
a small thread pool of its own and the event loop only awaits it, at most `poll.deadline`.

CPU percentages are computed from `cpu_times()` deltas between polls, as Telegraf does.
The first poll of a device has no previous snapshot (and one taken less than
`FIRST_CPU_INTERVAL` ago is too recent to measure against): it then measures over that
short interval in the worker thread, so that a one-shot `lifeline poll` reports CPU too.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time as _time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psutil

from collectors.base import Identity, PollResult, ResultCode, Sample, device_tags, poll_sample
from collectors.catalogue_entry import Entry, MeasurementTags

if TYPE_CHECKING:
    from inventory.model import Config, Device

log = logging.getLogger(__name__)

FIRST_CPU_INTERVAL = 0.2     # seconds the first poll measures CPU over
# Telegraf's `inputs.disk` ignore_fs default: pseudo and read-only image filesystems.
IGNORE_FS = frozenset({"tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs",
                       "squashfs", "proc", "sysfs", "cgroup", "cgroup2", "nsfs", "autofs"})
# cpu_times() fields whose time Linux already counts in user/nice: not added to the total.
_GUEST = ("guest", "guest_nice")
_MEM_FIELDS = {"total": "total", "available": "available", "used": "used", "free": "free",
               "active": "active", "inactive": "inactive", "buffers": "buffered",
               "cached": "cached", "shared": "shared", "slab": "slab", "wired": "wired"}
_NET_FIELDS = {"bytes_sent": "bytes_sent", "bytes_recv": "bytes_recv",
               "packets_sent": "packets_sent", "packets_recv": "packets_recv",
               "errin": "err_in", "errout": "err_out", "dropin": "drop_in",
               "dropout": "drop_out"}


def _cpu_entries() -> list[Entry]:
    names = ["user", "system", "idle", "nice", "iowait", "irq", "softirq", "steal", "guest",
             "guest_nice"]
    rows = [Entry("cpu", f"usage_{n}", "gauge", "percent",
                  f"share of CPU time in {n} since the previous poll (all CPUs)")
            for n in names]
    rows.append(Entry("cpu", "usage_active", "gauge", "percent",
                      "100 - usage_idle: share of CPU time not idle since the previous poll"))
    return rows


ENTRIES: tuple[Entry, ...] = (
    *_cpu_entries(),
    *(Entry("mem", name, "gauge", "bytes", f"virtual memory: {name} (psutil {src})")
      for src, name in _MEM_FIELDS.items()),
    Entry("mem", "used_percent", "gauge", "percent", "used / total x 100"),
    Entry("mem", "available_percent", "gauge", "percent", "available / total x 100"),
    Entry("disk", "total", "gauge", "bytes", "filesystem size"),
    Entry("disk", "free", "gauge", "bytes", "bytes free for unprivileged users"),
    Entry("disk", "used", "gauge", "bytes", "bytes used"),
    Entry("disk", "used_percent", "gauge", "percent", "used / (used + free) x 100"),
    Entry("disk", "inodes_total", "gauge", "inodes", "inodes in the filesystem"),
    Entry("disk", "inodes_free", "gauge", "inodes", "inodes free"),
    Entry("disk", "inodes_used", "gauge", "inodes", "inodes used"),
    *(Entry("net", name, "counter", "bytes" if name.startswith("bytes") else "packets",
            f"{name.replace('_', ' ')} since boot (raw counter)")
      for name in _NET_FIELDS.values()),
    Entry("system", "load1", "gauge", "", "1-minute load average"),
    Entry("system", "load5", "gauge", "", "5-minute load average"),
    Entry("system", "load15", "gauge", "", "15-minute load average"),
    Entry("system", "n_cpus", "gauge", "CPUs", "logical CPUs"),
    Entry("system", "uptime", "gauge", "seconds", "time since the host booted"),
)
TAGS: MeasurementTags = {"cpu": ["cpu"], "mem": [], "disk": ["path", "device", "fstype", "mode"],
                         "net": ["interface"], "system": []}


@dataclass(slots=True)
class _Gathered:
    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class HostCollector:
    """Polls the local machine. One per process; thread-safe per device (the agent never
    runs two polls of one device at once)."""

    def __init__(self, *, max_workers: int = 2,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="lifeline-host")
        self._now = now
        # device id -> (cpu_times() as a dict, time.monotonic() when taken)
        self._cpu: dict[str, tuple[dict[str, float], float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> HostCollector:
        return cls()

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def collect(self, device: Device) -> PollResult:
        """Gather once; failures come back as a result code and an error."""
        started = self._now()
        t0 = _time.perf_counter()
        hostname = socket.gethostname()
        agent_host = (device.poll.address if device.poll else None) or "localhost"
        tags = device_tags(device, agent_host=agent_host, hostname=hostname)
        deadline = device.poll.deadline if device.poll else 5.0
        loop = asyncio.get_running_loop()
        try:
            got = await asyncio.wait_for(
                loop.run_in_executor(self._pool, self._gather, device.id, tags, started),
                deadline)
            code = ResultCode.PARTIAL if got.problems else ResultCode.SUCCESS
            if not got.samples:
                code = ResultCode.BAD_RESPONSE
            error = "; ".join(got.problems) or None
        except TimeoutError:
            got, code = _Gathered(), ResultCode.TIMEOUT
            error = f"host metrics not gathered within {deadline:g}s (a hung mount?)"
        except Exception as exc:    # a bug must not stop the other devices' polls
            log.exception("host poll of %s failed unexpectedly", device.id)
            got, code, error = _Gathered(), ResultCode.BAD_RESPONSE, (
                f"internal error: {type(exc).__name__}")
        duration = _time.perf_counter() - t0
        samples = (*got.samples, poll_sample(code, duration, tags, started))
        return PollResult(device_id=device.id, code=code, started=started, duration=duration,
                          error=error, samples=samples, identity=Identity(sys_name=hostname))

    # --- in the worker thread ---------------------------------------------------------

    def _gather(self, device_id: str, tags: dict[str, str], at: datetime) -> _Gathered:
        got = _Gathered()
        parts: list[tuple[str, Callable[[], list[Sample]]]] = [
            ("cpu", lambda: self._cpu_samples(device_id, tags, at)),
            ("mem", lambda: [_mem_sample(tags, at)]),
            ("disk", lambda: _disk_samples(tags, at, got.problems)),
            ("net", lambda: _net_samples(tags, at)),
            ("system", lambda: [_system_sample(tags, at)]),
        ]
        for name, part in parts:
            try:
                got.samples += part()
            except (OSError, psutil.Error, ValueError) as exc:
                got.problems.append(f"{name}: {exc}")
        return got

    def _cpu_samples(self, device_id: str, tags: dict[str, str], at: datetime
                     ) -> list[Sample]:
        with self._lock:
            previous = self._cpu.get(device_id)
        if previous is None or _time.monotonic() - previous[1] < FIRST_CPU_INTERVAL:
            # No previous snapshot, or one too recent to measure against (ticks are 10 ms)
            before = psutil.cpu_times()._asdict()
            _time.sleep(FIRST_CPU_INTERVAL)
        else:
            before = previous[0]
        now = psutil.cpu_times()._asdict()
        with self._lock:
            self._cpu[device_id] = (now, _time.monotonic())
        fields = cpu_usage(before, now)
        if not fields:
            return []
        return [Sample("cpu", {**tags, "cpu": "cpu-total"}, fields, at)]


def cpu_usage(before: dict[str, float], now: dict[str, float]) -> dict[str, float]:
    """Telegraf's `usage_*` percentages from two `cpu_times()` snapshots; {} when no CPU
    time passed or the total went backwards. Linux's iowait may step back a little: a
    negative part counts as 0."""
    if sum(now[k] - before.get(k, 0.0) for k in now if k not in _GUEST) <= 0:
        return {}
    delta = {k: max(0.0, now[k] - before.get(k, 0.0)) for k in now}
    total = sum(v for k, v in delta.items() if k not in _GUEST)
    fields = {f"usage_{k}": _percent(v, total) for k, v in delta.items()}
    fields["usage_active"] = _percent(total - delta.get("idle", 0.0), total)
    return fields


def _percent(part: float, whole: float) -> float:
    return round(min(100.0, max(0.0, 100.0 * part / whole)), 4) if whole else 0.0


def _mem_sample(tags: dict[str, str], at: datetime) -> Sample:
    vm = psutil.virtual_memory()._asdict()
    fields: dict[str, int | float] = {name: int(vm[src]) for src, name in _MEM_FIELDS.items()
                                      if src in vm}
    total = vm["total"]
    fields["used_percent"] = _percent(vm["used"], total)
    fields["available_percent"] = _percent(vm["available"], total)
    return Sample("mem", dict(tags), fields, at)


def _disk_samples(tags: dict[str, str], at: datetime, problems: list[str]) -> list[Sample]:
    out = []
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        # The root filesystem is reported whatever it is (in a container it is overlay).
        if part.mountpoint in seen or (part.fstype in IGNORE_FS and part.mountpoint != "/"):
            continue
        seen.add(part.mountpoint)
        try:
            usage = psutil.disk_usage(part.mountpoint)
            st = os.statvfs(part.mountpoint)
        except OSError as exc:
            problems.append(f"disk {part.mountpoint}: {exc.strerror or exc}")
            continue
        opts = part.opts.split(",")
        disk_tags = {**tags, "path": part.mountpoint,
                     "device": part.device.removeprefix("/dev/") or part.device,
                     "fstype": part.fstype, "mode": "ro" if "ro" in opts else "rw"}
        used_free = usage.used + usage.free
        out.append(Sample("disk", disk_tags, {
            "total": int(usage.total), "free": int(usage.free), "used": int(usage.used),
            "used_percent": _percent(usage.used, used_free),
            "inodes_total": int(st.f_files), "inodes_free": int(st.f_ffree),
            "inodes_used": int(st.f_files - st.f_ffree)}, at))
    return out


def _net_samples(tags: dict[str, str], at: datetime) -> list[Sample]:
    stats = psutil.net_if_stats()
    out = []
    for name, counters in sorted(psutil.net_io_counters(pernic=True).items()):
        st = stats.get(name)
        # Telegraf's defaults: loopback and interfaces that are down are left out.
        if st is None or not st.isup or "loopback" in getattr(st, "flags", "") or name == "lo":
            continue
        values = counters._asdict()
        out.append(Sample("net", {**tags, "interface": name},
                          {dst: int(values[src]) for src, dst in _NET_FIELDS.items()}, at))
    return out


def _system_sample(tags: dict[str, str], at: datetime) -> Sample:
    load1, load5, load15 = os.getloadavg()
    return Sample("system", dict(tags), {
        "load1": round(load1, 2), "load5": round(load5, 2), "load15": round(load15, 2),
        "n_cpus": psutil.cpu_count() or 1,
        "uptime": max(0, int(_time.time() - psutil.boot_time()))}, at)


__all__ = ["ENTRIES", "FIRST_CPU_INTERVAL", "IGNORE_FS", "TAGS", "HostCollector", "cpu_usage"]
