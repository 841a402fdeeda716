"""SIGHUP: read the configuration file again and replace the running one, or keep it.

A new configuration takes effect only if it is valid and its metric store opens: then
the sink is swapped (on the writer thread, agent/writer.py), the agent adopts the
devices (jobs added, removed or rescheduled) and the alert service its rules and
channels. Otherwise every problem is logged, `FILE:LINE: ...`, the running configuration
and sink stay, and the refusal is counted (`lifeline status` shows it).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from agent.alerting import AlertCalls
from agent.heap import release_free_memory
from agent.schedule import JobChanges
from agent.writer import SinkWriter
from config.errors import ConfigError
from inventory.load import load_config
from inventory.model import Config

log = logging.getLogger("lifeline.agent")


class Reloader:
    """`running()` is the configuration in effect; `adopt(config)` puts a new one in
    effect for the devices and says what changed in the schedule."""

    def __init__(self, *, running: Callable[[], Config], adopt: Callable[[Config], JobChanges],
                 writer: SinkWriter, alerts: AlertCalls,
                 scope: Callable[[Config], Config] = lambda config: config) -> None:
        self._running = running
        self._adopt = adopt
        self._scope = scope     # the devices the alerts watch (a cluster node: its buckets')
        self._writer = writer
        self._alerts = alerts
        self._signalled: set[asyncio.Task[None]] = set()
        self.reloads = 0
        self.failures = 0

    def on_signal(self) -> None:
        """SIGHUP, on the loop: reload in a task of its own."""
        task = asyncio.ensure_future(self._reload_logged())
        self._signalled.add(task)
        task.add_done_callback(self._signalled.discard)

    async def reload(self) -> None:
        """Load the file again; replace the running config only if it is valid and its
        metric store opens. Otherwise the running config (and store) stay."""
        running = self._running()
        path = running.path
        try:
            config = await asyncio.get_running_loop().run_in_executor(None, load_config, path)
        except ConfigError as exc:
            self._refuse(path, [str(p) for p in exc.problems])
            return
        try:
            await self._writer.swap(running, config)
        except Exception as exc:
            self._refuse(path, [f"cannot open the metric store for it: "
                                f"{type(exc).__name__}: {exc}"])
            return
        changes = self._adopt(config)
        self._alerts.reload(self._scope(config))
        del running             # the old configuration's last reference here
        release_free_memory()   # what the load made and the old configuration held
        self.reloads += 1
        log.info("configuration reloaded from %s: %d devices added, %d removed, %d rescheduled",
                 path, len(changes.added), len(changes.removed), len(changes.rescheduled))

    async def _reload_logged(self) -> None:
        try:
            await self.reload()
        except Exception:       # a task's exception would otherwise vanish unlogged
            self.failures += 1
            log.exception("reload failed")

    def _refuse(self, path: Path, problems: list[str]) -> None:
        self.failures += 1
        for problem in problems:
            log.error("reload refused: %s", problem)
        log.error("reload refused: %d problem(s) in %s; still running the previous "
                  "configuration", len(problems), path)
