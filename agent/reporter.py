"""The agent's status, taken from its running parts every STATUS_EVERY_SECONDS and once
more as it stops: kept for the HTTP endpoint (`latest`) and written to
`STATE_DIR/status.json` (agent/status.py) for `lifeline status`. The endpoint serves this
snapshot, never the live structures, so a scrape cannot race the polling loop.

Taking the snapshot is the loop thread's part, and is kept short: the devices changed
since the last one are read out of their states (agent/device_states.py), the rest shared.
Turning it into text and writing the file (20 MB at 30,000 devices) is `StatusWriter`'s,
on a thread of its own, so a snapshot does not hold up the polls due meanwhile.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

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

log = logging.getLogger("lifeline.agent")

# What a write's outcome is told to: the snapshot, where, and the error (None: written).
Written = Callable[[AgentStatus, Path, OSError | None], None]


class StatusWriter:
    """Writes the snapshots handed to it (`submit`) to `state_dir/status.json`, on a
    thread of its own, one at a time and in the order taken; a snapshot handed over while
    another is being written replaces any still waiting (the newest is what the file is
    for), so two writes never race and an older snapshot never overwrites a newer one.
    Each outcome goes to `written`, on that thread; a write that fails (a full disk) or
    raises does not stop the next. The thread starts with the first snapshot and ends
    with `close()`, which writes what is waiting first."""

    def __init__(self, written: Written) -> None:
        self._written = written
        self._encoder = StatusEncoder()     # used on the writing thread only
        self._changed = threading.Condition()
        self._waiting: tuple[AgentStatus, Path] | None = None
        self._writing = False
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, status: AgentStatus, state_dir: Path) -> None:
        with self._changed:
            self._waiting = (status, state_dir)
            if self._thread is None:
                self._closing = False
                self._thread = threading.Thread(target=self._run, name="lifeline-status",
                                                daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def wait(self) -> None:
        """Until every snapshot handed over is written, or its write failed."""
        with self._changed:
            self._changed.wait_for(lambda: self._waiting is None and not self._writing)

    def close(self) -> None:
        """Write the snapshot waiting, if any, and end the thread."""
        with self._changed:
            thread, self._closing = self._thread, True
            self._changed.notify_all()
        if thread is not None:
            thread.join()
        with self._changed:
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._waiting is not None or self._closing)
                if self._waiting is None:
                    return
                (status, state_dir), self._waiting = self._waiting, None
                self._writing = True
            try:
                self._write(status, state_dir)
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()

    def _write(self, status: AgentStatus, state_dir: Path) -> None:
        try:
            write_status(state_dir, status, self._encoder)
        except OSError as exc:
            error: OSError | None = exc
        except Exception:
            # A bug, not the disk: said with its traceback; the thread goes on, and so
            # does the agent (a scheduled job's exception was logged the same way).
            log.exception("writing the status file")
            return
        else:
            error = None
        try:
            self._written(status, state_dir, error)
        except Exception:
            log.exception("after writing the status file")


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
        self._latest_lock = threading.Lock()    # the loop sets it, and the writer after it
        self._status_file = StatusWriter(self._written)

    def latest(self) -> AgentStatus | None:
        """The last status taken; None before the first. Safe from any thread."""
        return self._latest

    def refresh(self, *, final: bool = False) -> None:
        """Take the status now and hand it to the writing thread; `final` as the agent
        stops, which returns once it is written. The endpoint's copy says, once written,
        whether this very write failed (a full disk)."""
        self._states.set_next_runs(self._scheduler.next_runs())
        status = self._take(final)
        with self._latest_lock:
            self._latest = status
        self._status_file.submit(status, self._running().agent.state_dir)
        if final:
            self._status_file.close()

    def wait_written(self) -> None:
        """Until the snapshots taken so far are written (or failed to be)."""
        self._status_file.wait()

    def _written(self, status: AgentStatus, state_dir: Path, error: OSError | None) -> None:
        if error is not None:
            self._failures.failed(STATUS_FILE, describe(error, state_dir / STATUS_FILE_NAME))
        else:
            self._failures.succeeded(STATUS_FILE)
        failing = self._failures.failing()
        with self._latest_lock:
            if self._latest is status:      # not if a newer one was taken meanwhile
                self._latest = replace(status, failing=failing)

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
