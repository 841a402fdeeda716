"""Helpers for the alert engine tests: configs, poll results, an engine on a real store
with a list standing in for the outbox (and the fake clock, from kits.alerts_clock)."""
from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alerts.evaluation.engine import Engine
from alerts.evaluation.store import Store
from alerts.model import Notification
from collectors.base import PollResult, ResultCode, Sample
from inventory.load import load_config
from inventory.model import Config

from kits.alerts_clock import SEOUL as SEOUL  # re-exported: the engine tests' zone
from kits.alerts_clock import FakeClock as FakeClock

# A polled device in the YAML of `write_config`
SNMP = "{protocol: snmp, address: 127.0.0.1, credentials: v2}"


class ListOutbox:
    """Stands in for the outbox: keeps the notifications the engine emits in a list."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def enqueue(self, conn: sqlite3.Connection, notifications: Sequence[Notification]) -> None:
        self.notifications.extend(notifications)


def write_config(tmp: Path, devices: str, alerts: str = "", state_dir: Path | None = None
                 ) -> Config:
    """A config with the given `devices:` YAML (indented as a list) and optional alerts."""
    text = textwrap.dedent(f"""\
        agent: {{name: test, state_dir: {state_dir or tmp / 'var'}, timezone: Asia/Seoul}}
        credentials:
          v2: {{version: 2c, community_env: LL_TEST_COMMUNITY}}
        devices:
        """) + textwrap.indent(textwrap.dedent(devices), "  ")
    if alerts:
        text += "alerts:\n" + textwrap.indent(textwrap.dedent(alerts), "  ")
    path = tmp / "lifeline.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def down(device_id: str, clock: FakeClock, code: ResultCode = ResultCode.TIMEOUT) -> PollResult:
    return PollResult(device_id=device_id, code=code, started=clock(), duration=2.0,
                      error="no answer")


def up(device_id: str, clock: FakeClock, samples: Iterable[Sample] = (),
       code: ResultCode = ResultCode.SUCCESS) -> PollResult:
    return PollResult(device_id=device_id, code=code, started=clock(), duration=0.01,
                      samples=tuple(samples))


def sample(measurement: str, fields: Mapping[str, object], clock: FakeClock,
           **tags: str) -> Sample:
    return Sample(measurement, tags, dict(fields), clock())   # type: ignore[arg-type]


@dataclass
class Rig:
    """An engine on a real store in a temporary state_dir, with a list sink."""

    config: Config
    clock: FakeClock
    sink: ListOutbox = field(default_factory=ListOutbox)
    engine: Engine = field(init=False)
    store: Store = field(init=False)

    def __post_init__(self) -> None:
        self.store = Store.in_dir(self.config.agent.state_dir)
        self.engine = Engine(self.config, self.store, self.sink, self.clock)

    def restart(self) -> None:
        """A new engine on the same database, as after an agent restart."""
        self.store.close()
        self.__post_init__.__func__(self)  # type: ignore[attr-defined]

    def sent(self, event: str | None = None) -> list[Notification]:
        return [n for n in self.sink.notifications if event is None or n.event == event]

    def events(self) -> list[tuple[str, str, str]]:
        """(event, rule, device_id) of everything sent so far."""
        return [(n.event, n.alert.rule, n.alert.device_id) for n in self.sink.notifications]

    def poll(self, result_of, ids: Iterable[str], every: float = 60.0, rounds: int = 1) -> None:
        """`rounds` poll rounds of `ids`, each result from `result_of(id, clock)`, a tick
        after each poll, the clock moved `every` seconds after each round."""
        for _ in range(rounds):
            for device_id in ids:
                self.engine.observe(result_of(device_id, self.clock))
                self.engine.tick()
            self.clock.advance(every)
