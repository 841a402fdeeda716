"""The agent's status, taken from its running parts every STATUS_EVERY_SECONDS and once
more as it stops: kept for the HTTP endpoint (`latest`) and written to
`STATE_DIR/status.json` (agent/status.py) for `lifeline status`. The endpoint serves this
snapshot, never the live structures, so a scrape cannot race the polling loop.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import psutil

from agent.alerting import AlertCalls
from agent.device_states import DeviceStates
from agent.jobs import JobScheduler
from agent.polling import PollRunner
from agent.reload import Reloader
from agent.status import STATUS_FILE as STATUS_FILE_NAME
from agent.status import AgentInfo, AgentStatus, ProcessUsage, StatusEncoder, write_status
from agent.write_failures import STATUS_FILE, WriteFailures, describe
from agent.writer import SinkWriter
from collectors.snmp.traps import TrapCounts
from inventory.model import Config

STATUS_EVERY_SECONDS = 5.0


class StatusReporter:
    """Builds `AgentStatus` records from the parts it is given; call on the loop thread."""

    def __init__(self, *, running: Callable[[], Config], clock: Callable[[], datetime],
                 states: DeviceStates, scheduler: JobScheduler, runner: PollRunner,
                 writer: SinkWriter, alerts: AlertCalls, reloader: Reloader,
                 failures: WriteFailures,
                 traps: Callable[[], TrapCounts | None] = lambda: None) -> None:
        self._running = running
        self._traps = traps
        self._failures = failures
        self._clock = clock
        self._states = states
        self._scheduler = scheduler
        self._runner = runner
        self._writer = writer
        self._alerts = alerts
        self._reloader = reloader
        self._process = psutil.Process()
        self._started = clock()
        self._latest: AgentStatus | None = None
        self._encoder = StatusEncoder()

    def latest(self) -> AgentStatus | None:
        """The last status taken; None before the first. Safe from any thread."""
        return self._latest

    def refresh(self, *, final: bool = False) -> None:
        """Take the status now and write the file; `final` as the agent stops. The
        endpoint's copy says whether this very write failed (a full disk)."""
        self._states.set_next_runs(self._scheduler.next_runs())
        status = self._take(final)
        self._latest = status
        state_dir = self._running().agent.state_dir
        try:
            write_status(state_dir, status, self._encoder)
        except OSError as exc:
            self._failures.failed(STATUS_FILE, describe(exc, state_dir / STATUS_FILE_NAME))
        else:
            self._failures.succeeded(STATUS_FILE)
        self._latest = replace(status, failing=self._failures.failing())

    def _take(self, final: bool) -> AgentStatus:
        config = self._running()
        cpu = self._process.cpu_times()
        return AgentStatus(
            written=self._clock(), written_unix=time.time(),
            agent=AgentInfo(name=config.agent.name, pid=os.getpid(), config=str(config.path),
                            started=self._started, running=not final,
                            devices=len(self._scheduler.jobs),
                            in_flight=self._runner.in_flight,
                            reloads=self._reloader.reloads,
                            reload_failures=self._reloader.failures),
            process=ProcessUsage(cpu_seconds=round(cpu.user + cpu.system, 3),
                                 rss_bytes=self._process.memory_info().rss),
            start_lag=self._runner.start_lag.summary(),
            sink=self._writer.stats(),
            alerts=self._alerts.status(),
            devices=self._states.snapshot(),
            failing=self._failures.failing(),
            clock=self._scheduler.clock_jumps(),
            traps=traps.as_dict() if (traps := self._traps()) is not None else None,
            lateness=self._runner.lateness.summary())
