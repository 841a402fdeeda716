"""`lifeline run`: the long-running agent.

One asyncio loop carries everything that waits on the network: APScheduler's
AsyncIOScheduler fires one job per device (agent/schedule.py), each job awaits its
collector (SNMP on the loop itself; HTTP and host checks in the collectors' own thread
pools), then hands the samples to the sink on a single writer thread (order kept, disk I/O
off the loop) and the result to the alert engine. Alert notifications are delivered from a
thread of their own, so a slow mail server never delays a poll.

Signals: SIGTERM and SIGINT stop scheduling, let in-flight polls finish (bounded by their
deadline), flush the sink and the alert outbox, and write the final status; SIGHUP reloads
the configuration: a valid one replaces the running one (jobs added, removed or
rescheduled), an invalid one is logged problem by problem and the running one kept.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from agent.collector_set import Collectors
from agent.endpoint import AgentEndpoint
from agent.schedule import JOB_PREFIX, JobChanges, PollJob, diff_jobs, poll_jobs
from agent.status import DeviceState, StartLag, write_status
from collectors.base import PollResult, ResultCode, device_tags, poll_sample
from config.errors import ConfigError
from inventory.load import load_config
from inventory.model import Config, Device

if TYPE_CHECKING:
    from agent.sinks import Sink

log = logging.getLogger("lifeline.agent")

STATUS_EVERY_SECONDS = 5.0
ALERT_TICK_SECONDS = 5.0
DELIVERY_EVERY_SECONDS = 2.0
# A collector that overruns its own deadline by this much is cut off: a stuck poll must
# not hold its device's only job slot forever.
OVERRUN_GRACE_SECONDS = 5.0
SINK_CLOSE_SECONDS = 10.0


class Agent:
    """The running agent. Construct, then `await run()`; `request_stop()` ends it.

    `sink` and `alerts` may be given (tests); by default they are opened from the config.
    """

    def __init__(self, config: Config, *, sink: Sink | None = None, alerts: Any = None,
                 with_alerts: bool = True,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.zone = config.agent.zone
        self.clock = clock or (lambda: datetime.now(self.zone))
        self.sink = sink
        self.alerts = alerts
        self.with_alerts = with_alerts
        self.sink_settings = _sink_settings(config)
        self.devices: dict[str, Device] = {}
        self.jobs: dict[str, PollJob] = {}
        self.states: dict[str, DeviceState] = {}
        self.collectors = Collectors({})
        self.start_lag = StartLag()
        self.intended: dict[str, datetime] = {}
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.reloads = 0
        self.reload_failures = 0
        self.started = self.clock()
        self.process = psutil.Process()
        self._stop = asyncio.Event()
        self._stopping = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifeline-writer")
        self._snapshot: dict[str, Any] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._endpoint: AgentEndpoint | None = None
        self._delivery: threading.Thread | None = None
        self._delivery_stop = threading.Event()

    # ---- life cycle ---------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._install_signals(loop)
        await self._open_outputs()
        self._apply_config(self.config)
        self._start_scheduler()
        self._start_endpoint()
        self._start_delivery()
        log.info("agent %s started: %d devices scheduled, state in %s", self.config.agent.name,
                 len(self.jobs), self.config.agent.state_dir)
        self._refresh_status()
        await self._stop.wait()
        await self._shutdown()

    def request_stop(self) -> None:
        self._stopping = True
        self._stop.set()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._on_sighup()))

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self._stopping:
            return
        log.info("%s: finishing %d polls in flight, then stopping", sig.name, len(self.in_flight))
        self.request_stop()

    async def _open_outputs(self) -> None:
        loop = asyncio.get_running_loop()
        if self.sink is None:
            self.sink = await loop.run_in_executor(self._writer, _open_sink, self.config)
        if self.alerts is None and self.with_alerts:
            # On the loop thread: the engine's database connection belongs to it.
            self.alerts = _open_alerts(self.config)

    def _start_scheduler(self) -> None:
        scheduler = AsyncIOScheduler(timezone=self.zone)
        scheduler.add_listener(self._on_job_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)
        now = self.clock()
        for job in self.jobs.values():
            scheduler.add_job(self._poll, job.trigger(now), args=(job.device_id,),
                              **job.job_options())
        scheduler.add_job(self._refresh_status_job, IntervalTrigger(seconds=STATUS_EVERY_SECONDS),
                          id="status", coalesce=True, max_instances=1)
        if self.alerts is not None:
            scheduler.add_job(self._alert_tick, IntervalTrigger(seconds=ALERT_TICK_SECONDS),
                              id="alerts-tick", coalesce=True, max_instances=1)
            # Lifecycle status changes by the day: once at start, then just after midnight.
            scheduler.add_job(self._evaluate_lifecycle, CronTrigger(hour=0, minute=5),
                              id="lifecycle", coalesce=True, max_instances=1,
                              misfire_grace_time=3600, next_run_time=now)
        scheduler.start()
        self._scheduler = scheduler

    def _start_endpoint(self) -> None:
        listen = self.config.agent.http_listen
        if listen:
            self._endpoint = AgentEndpoint(listen, lambda: self._snapshot, lambda: self._stopping)
            self._endpoint.start()
            log.info("agent endpoint on http://%s (/healthz, /metrics)", listen)

    def _start_delivery(self) -> None:
        if self.alerts is None:
            return
        self._delivery = threading.Thread(target=self._deliver_loop, name="lifeline-delivery",
                                          daemon=True)
        self._delivery.start()

    def _deliver_loop(self) -> None:
        while not self._delivery_stop.wait(DELIVERY_EVERY_SECONDS):
            self._deliver_once()

    def _deliver_once(self) -> None:
        try:
            self.alerts.deliver_due()
        except Exception:           # a channel bug must not end delivery for the others
            log.exception("alert delivery failed; retrying in %.0f s", DELIVERY_EVERY_SECONDS)

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        # Pause first and shut down after the polls in flight are done: APScheduler's
        # shutdown cancels the coroutine jobs still running, and those polls would be lost.
        if self._scheduler is not None:
            self._scheduler.pause()
        if self.in_flight:
            longest = max((d.poll.deadline for d in self.devices.values() if d.poll), default=0)
            await asyncio.wait(set(self.in_flight), timeout=longest + OVERRUN_GRACE_SECONDS)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        await self.collectors.aclose()
        # Everything handed to the writer reaches the sink before the sink closes.
        await loop.run_in_executor(None, self._writer.shutdown, True)
        if self.sink is not None:
            await loop.run_in_executor(None, self.sink.close, SINK_CLOSE_SECONDS)
        if self._delivery is not None:
            self._delivery_stop.set()
            await loop.run_in_executor(None, self._delivery.join)
            await loop.run_in_executor(None, self._deliver_once)   # what the last polls raised
        if self.alerts is not None:
            self.alerts.close()
        self._refresh_status(final=True)
        if self._endpoint is not None:
            self._endpoint.stop()
        log.info("agent stopped")

    # ---- configuration ------------------------------------------------------------------

    def _apply_config(self, config: Config) -> JobChanges:
        """Adopt `config`: devices, jobs, per-device state (kept for devices that stay)."""
        today = self.clock().date()
        new_jobs = poll_jobs(config.devices, today)
        changes = diff_jobs(self.jobs, new_jobs)
        self.config = config
        self.devices = {d.id: d for d in config.devices if d.id in new_jobs}
        self.states = {device_id: self.states.get(device_id) or DeviceState(
            device_id, self.devices[device_id].poll.protocol, job.interval)
            for device_id, job in new_jobs.items()}
        for device_id, job in new_jobs.items():
            self.states[device_id].interval = job.interval
            self.states[device_id].protocol = self.devices[device_id].poll.protocol
        self.jobs = new_jobs
        self.collectors = Collectors.build(config, config.devices)
        return changes

    async def _on_sighup(self) -> None:
        try:
            await self.reload()
        except Exception:       # a task's exception would otherwise vanish unlogged
            self.reload_failures += 1
            log.exception("reload failed")

    async def reload(self) -> None:
        """SIGHUP: load the file again; replace the running config only if it is valid
        and its metric store opens. Otherwise the running config (and store) stay."""
        path = self.config.path
        loop = asyncio.get_running_loop()
        try:
            config = await loop.run_in_executor(None, load_config, path)
        except ConfigError as exc:
            self._refuse_reload(path, [str(p) for p in exc.problems])
            return
        try:
            await self._swap_sink(config)
        except Exception as exc:
            self._refuse_reload(path, [f"cannot open the metric store for it: "
                                       f"{type(exc).__name__}: {exc}"])
            return
        old_collectors = self.collectors
        changes = self._apply_config(config)
        self._reschedule(changes)
        if self.alerts is not None:
            self.alerts.reload(config)
        self.reloads += 1
        log.info("configuration reloaded from %s: %d devices added, %d removed, %d rescheduled",
                 path, len(changes.added), len(changes.removed), len(changes.rescheduled))
        # Polls already running keep the collectors they started with.
        asyncio.ensure_future(self._close_after_in_flight(old_collectors))

    def _refuse_reload(self, path: Path, problems: list[str]) -> None:
        self.reload_failures += 1
        for problem in problems:
            log.error("reload refused: %s", problem)
        log.error("reload refused: %d problem(s) in %s; still running the previous "
                  "configuration", len(problems), path)

    def _reschedule(self, changes: JobChanges) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        now = self.clock()
        for job_id in changes.removed:
            if scheduler.get_job(job_id) is not None:
                scheduler.remove_job(job_id)
        for job in changes.added + changes.rescheduled:
            scheduler.add_job(self._poll, job.trigger(now), args=(job.device_id,),
                              **job.job_options())

    async def _swap_sink(self, config: Config) -> None:
        """Reopen the sink if the new config changes its settings. One job on the writer
        thread, so every write queued before or after lands on one sink or the other."""
        if self.sink is None or self.sink_settings == _sink_settings(config):
            return
        await asyncio.get_running_loop().run_in_executor(self._writer, self._swap_on_writer,
                                                         config)
        self.sink_settings = _sink_settings(config)

    def _swap_on_writer(self, config: Config) -> None:
        old_config = self.config
        # Close first: the new sink may use the same spool, which admits one holder.
        self.sink.close(SINK_CLOSE_SECONDS)
        try:
            self.sink = _open_sink(config)
        except Exception:
            self.sink = _open_sink(old_config)     # back to what ran; the error goes up
            raise

    async def _close_after_in_flight(self, collectors: Collectors) -> None:
        if self.in_flight:
            await asyncio.wait(set(self.in_flight))
        await collectors.aclose()

    # ---- polling ------------------------------------------------------------------------

    def _on_job_event(self, event: JobSubmissionEvent) -> None:
        if not event.job_id.startswith(JOB_PREFIX):
            return
        device_id = event.job_id[len(JOB_PREFIX):]
        if event.code == EVENT_JOB_MAX_INSTANCES:
            state = self.states.get(device_id)
            if state is not None:
                state.overlaps += 1
            log.warning("previous poll still running; this run skipped",
                        extra={"device_id": device_id})
        elif event.scheduled_run_times:
            self.intended[device_id] = event.scheduled_run_times[-1]

    async def _poll(self, device_id: str) -> None:
        device = self.devices.get(device_id)
        collector = self.collectors.for_device(device) if device else None
        if device is None or collector is None or self._stopping:
            return
        started = self.clock()
        intended = self.intended.pop(device_id, None)
        if intended is not None:
            self.start_lag.add((started - intended).total_seconds())
        task = asyncio.current_task()
        assert task is not None
        self.in_flight.add(task)
        try:
            result = await self._collect(collector, device, started)
            await self._hand_on(device, result)
        finally:
            self.in_flight.discard(task)

    async def _collect(self, collector: Any, device: Device, started: datetime) -> PollResult:
        limit = device.poll.deadline + OVERRUN_GRACE_SECONDS
        try:
            return await asyncio.wait_for(collector.collect(device), timeout=limit)
        except TimeoutError:
            return _failed(device, started, ResultCode.TIMEOUT,
                           f"collector overran the poll deadline ({limit:.0f} s) and was cut off")
        except Exception as exc:    # a collector bug: this device fails, the others go on
            log.exception("collector raised", extra={"device_id": device.id})
            return _failed(device, started, ResultCode.BAD_RESPONSE,
                           f"collector error: {type(exc).__name__}")

    async def _hand_on(self, device: Device, result: PollResult) -> None:
        state = self.states.get(device.id)
        if state is not None and state.record(result):
            if result.reachable:
                log.info("answering again (%s)", result.code.label, extra={"device_id": device.id})
            else:
                log.warning("not answering: %s", result.error or result.code.label,
                            extra={"device_id": device.id})
        if result.samples and self.sink is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._writer, self._write, device.id, result.samples)
        if self.alerts is not None:
            try:
                self.alerts.observe(result)
            except Exception:
                log.exception("alert engine failed on this poll", extra={"device_id": device.id})

    def _write(self, device_id: str, samples: Any) -> None:
        try:
            self.sink.write(samples)
        except Exception:
            # The sink spools what it cannot send; an error here is the disk itself.
            log.exception("could not store %d points", len(samples),
                          extra={"device_id": device_id})

    # Scheduled functions are coroutines on purpose: APScheduler runs plain functions on
    # a thread pool, and the alert engine and the device states belong to the loop thread.

    async def _alert_tick(self) -> None:
        try:
            self.alerts.tick()
        except Exception:
            log.exception("alert timers failed")

    async def _evaluate_lifecycle(self) -> None:
        try:
            self.alerts.evaluate_lifecycle()
        except Exception:
            log.exception("lifecycle evaluation failed")

    # ---- status -------------------------------------------------------------------------

    async def _refresh_status_job(self) -> None:
        self._refresh_status()

    def _refresh_status(self, final: bool = False) -> None:
        """Rebuild the snapshot served by /metrics and written to status.json."""
        self._update_next_runs()
        snapshot = self._build_snapshot(final)
        self._snapshot = snapshot
        try:
            write_status(self.config.agent.state_dir, snapshot)
        except OSError as exc:
            log.error("cannot write status to %s: %s", self.config.agent.state_dir, exc.strerror)

    def _update_next_runs(self) -> None:
        if self._scheduler is None or not self._scheduler.running:
            return
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id[len(JOB_PREFIX):] in self.states:
                self.states[job.id[len(JOB_PREFIX):]].next_run = job.next_run_time

    def _build_snapshot(self, final: bool) -> dict[str, Any]:
        now = self.clock()
        cpu = self.process.cpu_times()
        return {
            "written": now.isoformat(), "written_unix": time.time(),
            "agent": {"name": self.config.agent.name, "pid": os.getpid(),
                      "config": str(self.config.path), "started": self.started.isoformat(),
                      "started_unix": self.started.timestamp(),
                      "running": not final, "devices": len(self.jobs),
                      "in_flight": len(self.in_flight), "reloads": self.reloads,
                      "reload_failures": self.reload_failures},
            "process": {"cpu_seconds": round(cpu.user + cpu.system, 3),
                        "rss_bytes": self.process.memory_info().rss},
            "start_lag": self.start_lag.summary(),
            "sink": self.sink.stats().for_status() if self.sink is not None else None,
            "alerts": self._alert_status(),
            "devices": {device_id: s.as_json() for device_id, s in self.states.items()},
        }

    def _alert_status(self) -> dict[str, Any] | None:
        if self.alerts is None:
            return None
        try:
            return self.alerts.status()
        except Exception as exc:
            log.exception("alert status failed")
            return {"error": type(exc).__name__}


def _failed(device: Device, started: datetime, code: ResultCode, error: str) -> PollResult:
    """A result for a poll the collector could not finish itself."""
    duration = max(0.0, (datetime.now(started.tzinfo) - started).total_seconds())
    tags = device_tags(device, agent_host=device.poll.address if device.poll else None,
                       hostname=None)
    return PollResult(device_id=device.id, code=code, started=started, duration=duration,
                      error=error, samples=(poll_sample(code, duration, tags, started),))


def _sink_settings(config: Config) -> tuple[object, ...]:
    """What the sink is opened from: a reload that changes these reopens it."""
    return (config.influxdb, config.agent.state_dir, config.agent.retention_days)


def _open_sink(config: Config) -> Sink:
    from agent.sinks import open_sink
    return open_sink(config)


def _open_alerts(config: Config) -> Any:
    from alerts.service import AlertService
    return AlertService.open(config)


def run_agent(config: Config) -> int:
    """Run until SIGTERM/SIGINT; the exit status for the command."""
    agent = Agent(config)
    asyncio.run(agent.run())
    return 0
