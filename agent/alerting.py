"""How the agent drives the alert service (alerts/service.py), each call on its thread.

`AlertCalls`, on the loop thread (the engine's database connection belongs to it): every
poll's result (`observe`), what a trap says (`observe_trap`), the timers every few seconds
(`tick`), the lifecycle evaluation at start and daily (`evaluate_lifecycle`), `status`,
`reload`, `close`. A failure in observe, a trap, tick, lifecycle or status is logged and
never stops polling. One the disk causes (full, read-only) is the alert state's failure in
`WriteFailures` (health, one log line a minute, agent/write_failures.py) rather than a
traceback per poll; it clears when a call next writes to the store (`rows_written` moved:
a call that wrote nothing proves nothing).

`DeliveryThread`: notifications are delivered from a thread of its own, every
DELIVERY_EVERY_SECONDS, so a slow mail server never delays a poll; at once after a trap
(`wake`), so a trap's alert is not held for a round; once more at stop, for what the last
polls raised.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agent.write_failures import (
    ALERT_DELIVERY,
    ALERT_STATE,
    WRITE_ERRORS,
    WriteFailures,
    describe,
)
from alerts.evaluation.store import DB_NAME
from alerts.evaluation.store_api import Fenced
from alerts.model import AlertStatus
from collectors.base import PollResult
from collectors.snmp.traps import TrapSays
from inventory.model import Config

if TYPE_CHECKING:       # psycopg is imported only when a cluster is configured
    from alerts.evaluation.store_pg import Scope

log = logging.getLogger("lifeline.agent")

ALERT_TICK_SECONDS = 5.0          # how often the daemon has the timers ticked
DELIVERY_EVERY_SECONDS = 2.0


class Alerts(Protocol):
    """What the agent uses of `alerts.service.AlertService`: its public methods only."""

    def observe(self, result: PollResult) -> None: ...

    def observe_trap(self, device_id: str, says: TrapSays) -> None: ...

    def tick(self) -> None: ...

    def evaluate_lifecycle(self) -> None: ...

    def clock_jumped(self, delta: float) -> None: ...

    def deliver_due(self) -> None: ...

    def rows_written(self) -> int: ...

    def status(self) -> AlertStatus: ...

    def reload(self, config: Config) -> None: ...

    def rescope(self, config: Config) -> None: ...

    def close(self) -> None: ...


def open_alerts(config: Config, scope: Scope | None = None) -> Alerts:
    from alerts.service import AlertService  # loaded only when alerts are on

    return AlertService.open(config, scope=scope)


class AlertCalls:
    """The loop thread's calls into the alert service; all no-ops while it is off."""

    def __init__(self, service: Alerts | None = None, *, enabled: bool = True,
                 failures: WriteFailures | None = None,
                 check_clock: Callable[[], None] = lambda: None) -> None:
        self.service = service
        self._check_clock = check_clock
        self._enabled = enabled
        self._failures = failures or WriteFailures(UTC)
        self._where = Path(DB_NAME)
        self._deliver_soon: Callable[[], None] = lambda: None

    def deliver_after_traps(self, wake: Callable[[], None]) -> None:
        """`wake` is called after each trap the engine heard (the delivery thread's
        `wake`): a trap's alert goes out at once, not at the next delivery round, so an
        on-battery trap reaches its channel in well under DELIVERY_EVERY_SECONDS. Polls do
        not wake it: at thousands a minute the rounds already come as often as is useful."""
        self._deliver_soon = wake

    def open(self, config: Config, scope: Scope | None = None) -> None:
        """Opens the service for `config` unless one was given or alerts are off
        (`scope`: a cluster node's buckets, agent/cluster/node.py)."""
        self._where = Path(config.agent.state_dir) / DB_NAME
        if self.service is None and self._enabled:
            self.service = open_alerts(config, scope)

    def observe(self, result: PollResult) -> None:
        if self.service is not None:
            self._check_clock()
            self._writing(self.service, self.service.observe, result,
                          what="alert engine failed on this poll",
                          extra={"device_id": result.device_id})

    def observe_trap(self, device_id: str, says: TrapSays) -> None:
        if self.service is not None:
            self._check_clock()
            self._writing(self.service, self.service.observe_trap, device_id, says,
                          what="alert engine failed on this trap",
                          extra={"device_id": device_id})
            self._deliver_soon()

    def tick(self) -> None:
        if self.service is not None:
            self._writing(self.service, self.service.tick, what="alert timers failed")

    def evaluate_lifecycle(self) -> None:
        if self.service is not None:
            self._writing(self.service, self.service.evaluate_lifecycle,
                          what="lifecycle evaluation failed")

    def clock_jumped(self, delta: float) -> None:
        """The wall clock was stepped by `delta` seconds (agent/jobs.py noticed it): the
        alert times move with it. `observe` and `observe_trap` check the clock first
        (`check_clock`), so a result never reaches the engine with the new clock and the
        old times."""
        if self.service is not None:
            log.warning("alert times moved by %+.0f s with the wall clock (pending `for`, "
                        "repeats, silences, acks, the outbox's waits)", delta)
            self._writing(self.service, self.service.clock_jumped, delta,
                          what="moving the alert times after a clock jump failed")

    def _writing(self, service: Alerts, call: Callable[..., None], *args: object,
                 what: str, extra: dict[str, object] | None = None) -> None:
        """`call(*args)`, its failures sorted: the disk's to WriteFailures, bugs logged
        with their traceback."""
        before = service.rows_written()
        try:
            call(*args)
        except Fenced:      # a cluster node past its lease: logged by the node's fence
            return
        except WRITE_ERRORS as exc:
            self._failures.failed(ALERT_STATE, describe(exc, self._where))
            return
        except Exception:
            log.exception(what, extra=extra)
            return
        if service.rows_written() != before:
            self._failures.succeeded(ALERT_STATE)

    def status(self) -> AlertStatus | None:
        """None while alerts are off, or when their status cannot be read (logged)."""
        if self.service is None:
            return None
        try:
            return self.service.status()
        except Exception:
            log.exception("alert status failed")     # the status shows no alert section
            return None

    def reload(self, config: Config) -> None:
        """Raises what the service raises: the reload is then reported as failed."""
        if self.service is not None:
            self.service.reload(config)

    def rescope(self, config: Config) -> None:
        """A cluster node's buckets changed: raises what the service raises."""
        if self.service is not None:
            self.service.rescope(config)

    def close(self) -> None:
        if self.service is not None:
            self.service.close()


class DeliveryThread:
    """Calls `deliver_due` every DELIVERY_EVERY_SECONDS on a thread of its own. A round
    the disk stops (its claims are writes) is the alert delivery's failure in `failures`;
    the next round that ends well clears it."""

    def __init__(self, service: Alerts, failures: WriteFailures | None = None,
                 where: Path = Path(DB_NAME)) -> None:
        self._service = service
        self._failures = failures or WriteFailures(UTC)
        self._where = where
        self._stop = threading.Event()
        self._woken = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lifeline-delivery",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Deliver now rather than at the end of this round's wait (thread-safe)."""
        self._woken.set()

    async def stop(self) -> None:
        """Ends the thread, then delivers once more: what the last polls raised."""
        loop = asyncio.get_running_loop()
        self._stop.set()
        self._woken.set()
        await loop.run_in_executor(None, self._thread.join)
        await loop.run_in_executor(None, self._deliver_once)

    def _run(self) -> None:
        while True:
            self._woken.wait(DELIVERY_EVERY_SECONDS)
            self._woken.clear()
            if self._stop.is_set():
                return
            self._deliver_once()

    def _deliver_once(self) -> None:
        try:
            self._service.deliver_due()
        except WRITE_ERRORS as exc:
            self._failures.failed(ALERT_DELIVERY, describe(exc, self._where))
            return
        except Exception:           # a channel bug must not end delivery for the others
            log.exception("alert delivery failed; retrying in %.0f s", DELIVERY_EVERY_SECONDS)
            return
        self._failures.succeeded(ALERT_DELIVERY)
