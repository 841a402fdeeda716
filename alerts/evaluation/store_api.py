"""The alert store's interface and its records, with two implementations:

    Store     alerts/evaluation/store.py     SQLite in `state_dir/alerts.db` (one agent)
    PgStore   alerts/evaluation/store_pg.py  the cluster's PostgreSQL (several nodes)

The engine, the gates and the commands use only this. tests/alerts/test_store_contract.py
runs one suite over both.
"""
from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from alerts.evaluation.state import AlertState
from config.db import Connection


class Fenced(Exception):  # noqa: N818  # a state, as in the literature ("fenced off")
    """A cluster node no longer holds a bucket it was about to write (at its epoch):
    the transaction rolls back (alerts/evaluation/store_pg.py)."""


@dataclass(frozen=True, slots=True)
class Outage:
    device_id: str
    started: float
    ended: float | None          # None: still down


@dataclass(frozen=True, slots=True)
class SilenceRecord:
    id: str
    matchers: tuple[str, ...]    # as written: label=value, label!=value, label=~regex
    starts: float
    ends: float
    reason: str
    author: str
    created: float
    removed: float | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    fingerprint: str
    at: float
    author: str
    reason: str


class AlertStore(Protocol):
    """Alert states, outage history, silences and acks. One per thread. The state
    methods and the outage and ack-clearing ones run inside `transaction()`, whose
    connection the outbox enqueues on, so a change and its notices commit together."""

    @property
    def conn(self) -> Connection: ...

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[Connection]: ...

    def load_states(self) -> list[AlertState]:
        """The states this store holds for this agent (a cluster node: its buckets')."""

    def save_states(self, states: Iterable[AlertState], now: float) -> None:
        """Upserts live states, deletes the others (in the open transaction)."""

    def open_outage(self, device_id: str, fp: str, started: float) -> None: ...

    def close_outage(self, fp: str, ended: float) -> None: ...

    def outages(self, device_id: str | None = None, since: float = 0.0) -> list[Outage]: ...

    def outage_counts(self, since: float) -> dict[str, int]: ...

    def add_silence(self, matchers: Iterable[str], starts: float, ends: float, reason: str,
                    author: str) -> SilenceRecord: ...

    def remove_silence(self, silence_id: str, now: float) -> bool: ...

    def silences(self, now: float | None = None) -> list[SilenceRecord]: ...

    def ack(self, fp: str, at: float, author: str, reason: str) -> None: ...

    def acks(self) -> dict[str, Ack]: ...

    def clear_ack(self, fp: str) -> None: ...

    def shift_times(self, delta: float) -> None:
        """This process's wall clock was stepped by `delta` (in the caller's transaction)."""
