"""`lifeline run`: the long-running agent, wired together and taken through its life.

One asyncio loop carries everything that waits on the network: the scheduler
(agent/jobs.py) starts each device's runs on one timer, each run (agent/polling.py)
awaits its collector (SNMP on the loop itself; HTTP and host checks in the collectors'
own thread pools), then hands the samples to the sink on a single writer thread
(agent/writer.py: order kept, disk I/O off the loop) and the result to the alert engine. Alert
notifications are delivered from a thread of their own (agent/alerting.py), so a slow
mail server never delays a poll. The status (agent/reporter.py) is refreshed every few
seconds, and served with the web console (agent/web/: pages, /api/v1, /healthz,
/metrics) on `agent.http_listen` when one is configured, in this same loop.

Signals: SIGTERM and SIGINT stop scheduling, let in-flight polls finish (bounded by their
deadline), flush the sink and the alert outbox, and write the final status; SIGHUP reloads
the configuration (agent/reload.py): a valid one replaces the running one (jobs added,
removed or rescheduled), an invalid one is logged problem by problem and the running one
kept.

`Agent` only wires the parts and owns the order in which they start and stop.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.alerting import ALERT_TICK_SECONDS, AlertCalls, Alerts, DeliveryThread
from agent.collector_set import Collectors
from agent.device_states import DeviceStates
from agent.endpoint import health
from agent.jobs import JobScheduler
from agent.notify import ServiceManager
from agent.polling import PollRunner
from agent.reload import Reloader
from agent.reporter import STATUS_EVERY_SECONDS, StatusReporter
from agent.schedule import JobChanges, poll_jobs
from agent.sinks import Sink, SpoolError, store_path
from agent.status import AgentStatus
from agent.traps import TrapHandling
from agent.write_failures import WriteFailures
from agent.writer import SinkWriter
from alerts.evaluation.store import DB_NAME as ALERTS_DB
from collectors.base import PollResult
from collectors.icmp import check_permission
from config.model import TrapSettings
from config.sqlite import DamagedDatabase, SchemaError
from inventory.model import Config

if TYPE_CHECKING:
    from agent.cluster.node import ClusterNode

ADOPT_TIMEOUT_SECONDS = 30.0

if TYPE_CHECKING:      # loaded only with a console: uvicorn and starlette stay out otherwise
    from agent.web.server import ConsoleServer

log = logging.getLogger("lifeline.agent")


class StartError(Exception):
    """The agent could not start; the message says what stood in the way."""


class Agent:
    """The running agent. Construct, then `await run()`; `request_stop()` ends it.

    `sink` and `alerts` may be given (tests); by default they are opened from the config
    when the agent starts (`with_alerts=False`: no alerts at all)."""

    def __init__(self, config: Config, *, sink: Sink | None = None,
                 alerts: Alerts | None = None, with_alerts: bool = True,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        zone = config.agent.zone
        self._clock = clock or (lambda: datetime.now(zone))
        self._stop = asyncio.Event()
        self._failures = WriteFailures(zone)
        self._writer = SinkWriter(sink, failures=self._failures)
        self._alerts = AlertCalls(alerts, enabled=with_alerts, failures=self._failures,
                                  check_clock=lambda: self._scheduler.check_clock())
        self._states = DeviceStates()
        self._runner = PollRunner(writer=self._writer, states=self._states,
                                  alerts=self._alerts, clock=self._clock,
                                  stopping=self._stop.is_set)
        self._traps = TrapHandling(writer=self._writer, runner=self._runner,
                                   alerts=self._alerts, states=self._states,
                                   clock=self._clock)
        self._scheduler = JobScheduler(zone, self._clock, poll=self._runner.poll,
                                       on_submitted=self._runner.scheduled,
                                       on_jump=self._alerts.clock_jumped)
        self._cluster = _cluster_node(config)     # None: one agent on its own
        self._reloader = Reloader(running=lambda: self.config, adopt=self._adopt,
                                  writer=self._writer, alerts=self._alerts,
                                  scope=self._alerted)
        self._reporter = StatusReporter(
            running=lambda: self.config, clock=self._clock, states=self._states,
            scheduler=self._scheduler, runner=self._runner, writer=self._writer,
            alerts=self._alerts, reloader=self._reloader, failures=self._failures,
            traps=self._traps.counts)
        self._delivery: DeliveryThread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._console: ConsoleServer | None = None
        self._service = ServiceManager.from_environment()
        self._healthy: bool | None = None

    async def run(self) -> None:
        """Start, run until `request_stop()` or a signal, stop. Raises StartError, with
        nothing left running, when the agent cannot start."""
        await self._open()
        _install_signals(asyncio.get_running_loop(), self._on_stop_signal,
                         self._reloader.on_signal)
        self._adopt(self.config)
        self._start_scheduler()
        self._reporter.refresh()
        if self._console is not None:
            scheme = "https" if self.config.console.tls else "http"
            log.info("console on %s://%s (pages, /api/v1, /healthz, /metrics)", scheme,
                     self.config.agent.http_listen)
        if self._alerts.service is not None:
            self._delivery = DeliveryThread(self._alerts.service, self._failures,
                                            self.config.agent.state_dir / ALERTS_DB)
            self._delivery.start()
            self._alerts.deliver_after_traps(self._delivery.wake)
        log.info("agent %s started: %d devices scheduled, state in %s", self.config.agent.name,
                 len(self._scheduler.jobs), self.config.agent.state_dir)
        if not self.config.alerts.channels:
            log.warning("no alert channel configured (alerts.channels): firing alerts go "
                        "to this log only")
        self._service.ready(self._summary())
        await self._stop.wait()
        await self._shutdown()

    def request_stop(self) -> None:
        """Stop after the polls in flight (call on the agent's loop)."""
        self._stop.set()

    async def reload(self) -> None:
        """What SIGHUP does: see agent/reload.py."""
        await self._reloader.reload()

    def status(self) -> AgentStatus | None:
        """The last status taken (every few seconds, and as the agent stops)."""
        return self._reporter.latest()

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self._stop.is_set():
            return
        log.info("%s: finishing %d polls in flight, then stopping", sig.name,
                 self._runner.in_flight)
        self.request_stop()

    def _adopt(self, config: Config) -> JobChanges:
        """Put `config`'s devices in effect (a cluster node: those of its buckets): their
        states, collectors and jobs."""
        if self._cluster is not None and config is not self.config:
            self._cluster.reload(config)
        watched = self._watched(config)
        jobs = poll_jobs(watched.devices, self._clock().date())
        devices = {d.id: d for d in watched.devices if d.id in jobs}
        self.config = config
        self._states.adopt(jobs, {device_id: d.poll.protocol for device_id, d in devices.items()
                                  if d.poll is not None})
        self._runner.adopt(devices, Collectors.build(config, watched.devices))
        self._traps.adopt(config)
        return self._scheduler.apply(jobs)

    def _watched(self, config: Config) -> Config:
        """`config` with the devices this agent polls and alerts on: all of them, or a
        cluster node's buckets' (agent/cluster/node.py)."""
        return config if self._cluster is None else self._cluster.scoped(config)

    def _alerted(self, config: Config) -> Config:
        """What the alerts watch: `_watched`, and a cluster's zones (a zone with no live
        node is an alert: agent/cluster/zones.py)."""
        return config if self._cluster is None else self._cluster.alerting(config)

    def _observe_cluster(self, results: list[PollResult]) -> None:
        """From the cluster node's thread: what it observed (the zones' live nodes), to
        the alert engine on the loop."""
        assert self._loop is not None

        def observe() -> None:
            for result in results:
                self._alerts.observe(result)
        self._loop.call_soon_threadsafe(observe)

    def _take_buckets(self, buckets: frozenset[str]) -> None:
        """From the cluster node's thread: put these buckets in effect, through the reload
        path (jobs added and removed, alert states loaded or forgotten); returns once
        done, so the node releases a bucket only after its devices were let go."""
        assert self._cluster is not None and self._loop is not None
        node = self._cluster

        async def take() -> None:
            node.adopted(buckets)
            changes = self._adopt(self.config)
            self._alerts.rescope(self._alerted(self.config))
            log.info("cluster: node %s holds %d buckets: %d devices added, %d removed",
                     node.name, len(buckets), len(changes.added), len(changes.removed))

        asyncio.run_coroutine_threadsafe(take(), self._loop).result(ADOPT_TIMEOUT_SECONDS)

    def _summary(self) -> str:
        return f"polling {len(self._scheduler.jobs)} devices"

    def _check_health(self) -> None:
        """The health loop: WATCHDOG=1 to systemd while the agent is healthy (the same
        test as /healthz), and a STATUS line and a log line when that changes. A stuck
        loop never gets here, and an unhealthy agent stops feeding the watchdog: either
        way systemd restarts it after WatchdogSec."""
        healthy, body = health(self._reporter.latest(), self._stop.is_set(), time.time())
        if healthy != self._healthy:
            self._healthy = healthy
            if healthy:
                self._service.status(self._summary())
            else:
                problems = body["problems"]
                text = "; ".join(map(str, problems)) if isinstance(problems, list) else ""
                if self._service.watching:
                    log.warning("unhealthy, not feeding systemd's watchdog: %s", text)
                self._service.status(f"unhealthy: {text}")
        if healthy:
            self._service.watchdog()

    def _start_scheduler(self) -> None:
        self._scheduler.every("status", STATUS_EVERY_SECONDS, self._reporter.refresh)
        if self._service.address is not None:
            every = STATUS_EVERY_SECONDS
            if self._service.watchdog_seconds is not None:
                every = min(every, self._service.watchdog_seconds / 2)
            self._scheduler.every("health", every, self._check_health)
        if self._alerts.service is not None:
            self._scheduler.every("alerts-tick", ALERT_TICK_SECONDS, self._alerts.tick)
            # Lifecycle status changes by the day: once at start, then just after midnight.
            self._scheduler.daily("lifecycle", 0, 5, self._alerts.evaluate_lifecycle)
        self._scheduler.start()

    async def _open(self) -> None:
        """What the agent needs before its first poll: the metric store, the alert store
        (on the loop thread: its connection belongs here) and the endpoint's port. What
        cannot open (a spool another agent holds, a store a newer Lifeline wrote, a port in
        use, a full disk) is a StartError; what did open is closed again."""
        state_dir = self.config.agent.state_dir
        _check_icmp(self.config)
        try:
            with _naming(store_path(self.config)):
                await self._writer.open(self.config)
            with _naming(state_dir / ALERTS_DB):
                self._alerts.open(self._alerted(self.config), scope=self._cluster)
            if self._cluster is not None:
                self._loop = asyncio.get_running_loop()
                self._cluster.start(self._take_buckets, self._observe_cluster)
            if self.config.agent.http_listen:
                await self._open_console()
            if self.config.traps is not None:
                await _open_traps(self._traps, self.config.traps)
        except (StartError, SpoolError, SchemaError, sqlite3.Error, OSError) as exc:
            if self._console is not None:
                await self._console.close()
            self._alerts.close()
            await self._writer.close()
            raise StartError(str(exc) or type(exc).__name__) from None

    async def _open_console(self) -> None:
        """The console's socket bound and served (agent/web/server.py); StartError when
        it cannot be (a port in use, a users file or TLS files it cannot read)."""
        from agent.cli import version
        from agent.web.server import ConsoleError, ConsoleServer
        from agent.web.source import AgentView

        view = AgentView(config=lambda: self.config, status=self._reporter.latest,
                         stopping=self._stop.is_set, clock=self._clock)
        console = ConsoleServer(view, version())
        try:
            await console.open()
        except ConsoleError as exc:
            raise StartError(str(exc)) from None
        self._console = console

    async def _shutdown(self) -> None:
        self._service.stopping()
        # No new runs; the polls in flight finish (and write) before anything closes.
        self._scheduler.pause()
        await self._traps.close()
        await self._runner.wait_in_flight()
        if self._cluster is not None:   # hands the buckets over at once
            await asyncio.get_running_loop().run_in_executor(None, self._cluster.stop)
        self._scheduler.shutdown()
        await self._runner.aclose()
        await self._writer.close()      # everything handed over reaches the sink first
        if self._delivery is not None:
            await self._delivery.stop()
        self._alerts.close()
        self._reporter.refresh(final=True)
        if self._console is not None:
            await self._console.close()
        log.info("agent stopped")


def _cluster_node(config: Config) -> ClusterNode | None:
    if config.cluster is None:
        return None
    from agent.cluster.node import ClusterNode  # psycopg: only for a cluster
    from alerts.delivery.outbox import PROCESS_TOKEN

    return ClusterNode(config.cluster, config, token=PROCESS_TOKEN)


async def _open_traps(traps: TrapHandling, settings: TrapSettings) -> None:
    try:
        await traps.open(settings)
    except PermissionError:
        raise StartError(f"traps.listen {settings.listen}: a port below 1024 needs root or "
                         "CAP_NET_BIND_SERVICE (or listen on a high port behind a "
                         "redirect: docs/traps.md)") from None
    except OSError as exc:
        raise StartError(f"traps.listen {settings.listen}: {exc.strerror or exc}") from None


def _check_icmp(config: Config) -> None:
    """Pinging needs a raw socket (root, CAP_NET_RAW) or the unprivileged ping sockets
    `net.ipv4.ping_group_range` allows. Without either, every camera would be reported
    down: refuse to start, saying what to grant."""
    if any(d.poll is not None and d.poll.protocol == "icmp" for d in config.devices):
        problem = check_permission()
        if problem is not None:
            raise StartError(f"devices poll with protocol icmp, but {problem}")


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """SQLite's and the schema check's errors do not say which file they are about:
    prefix it, so "cannot start" names the store. (A DamagedDatabase names it already.)"""
    try:
        yield
    except DamagedDatabase:
        raise
    except (SchemaError, sqlite3.Error) as exc:
        raise StartError(f"{path}: {exc}") from None


def _install_signals(loop: asyncio.AbstractEventLoop,
                     stop: Callable[[signal.Signals], None], hangup: Callable[[], None]) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    loop.add_signal_handler(signal.SIGHUP, hangup)


def run_agent(config: Config) -> int:
    """Run until SIGTERM/SIGINT; the exit status for the command (2: could not start)."""
    try:
        asyncio.run(Agent(config).run())
    except StartError as exc:
        log.error("cannot start: %s", exc)
        return 2
    return 0
