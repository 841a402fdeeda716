"""The alert store's interface and its records, with two implementations:

    Store     alerts/evaluation/store.py     SQLite in `state_dir/alerts.db` (one agent)
    PgStore   alerts/evaluation/store_pg.py  the cluster's PostgreSQL (several nodes)

The engine, the gates and the commands use only this. tests/alerts/test_store_contract.py
runs one suite over both.
"""
from __future__ import annotations

import json
import secrets
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


class SharedRecords:
    """Outage history, silences and acks: the same SQL on both engines (in the dialect
    both speak, config/postgres.py), so Store and PgStore inherit it rather than each
    keeping a copy. A subclass gives its connection (`_shared`) and `transaction`."""

    def _shared(self) -> Connection:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def open_outage(self, device_id: str, fp: str, started: float) -> None:
        still = self._shared().execute("SELECT 1 FROM outages WHERE fingerprint=?"
                                       " AND ended IS NULL", (fp,)).fetchone()
        if still is None:
            self._shared().execute("INSERT INTO outages (device_id, fingerprint, started) "
                                   "VALUES (?,?,?)", (device_id, fp, started))

    def close_outage(self, fp: str, ended: float) -> None:
        self._shared().execute("UPDATE outages SET ended=? WHERE fingerprint=?"
                               " AND ended IS NULL", (ended, fp))

    def outages(self, device_id: str | None = None, since: float = 0.0) -> list[Outage]:
        """Outages that were still going on at or after `since`, oldest first."""
        sql = ("SELECT device_id, started, ended FROM outages "
               "WHERE (ended IS NULL OR ended >= ?)")
        args: list[object] = [since]
        if device_id is not None:
            sql += " AND device_id = ?"
            args.append(device_id)
        rows = self._shared().execute(sql + " ORDER BY started", args).fetchall()
        return [Outage(*row) for row in rows]

    def outage_counts(self, since: float) -> dict[str, int]:
        """Outages started at or after `since`, per device (the plan's outage_history)."""
        rows = self._shared().execute("SELECT device_id, COUNT(*) FROM outages"
                                      " WHERE started >= ? GROUP BY device_id",
                                      (since,)).fetchall()
        return {device: int(count) for device, count in rows}

    def add_silence(self, matchers: Iterable[str], starts: float, ends: float, reason: str,
                    author: str) -> SilenceRecord:
        record = SilenceRecord(secrets.token_hex(4), tuple(matchers), starts, ends, reason,
                               author, starts)
        with self.transaction():
            self._shared().execute("INSERT INTO silences VALUES (?,?,?,?,?,?,?,NULL)",
                                   (record.id, json.dumps(record.matchers,
                                                          ensure_ascii=False),
                                    starts, ends, reason, author, record.created))
        return record

    def remove_silence(self, silence_id: str, now: float) -> bool:
        with self.transaction():
            cursor = self._shared().execute(
                "UPDATE silences SET removed=? WHERE id=? AND removed IS NULL AND ends > ?",
                (now, silence_id, now))
        return bool(cursor.rowcount > 0)

    def silences(self, now: float | None = None) -> list[SilenceRecord]:
        """Silences in force at `now` (all not lifted ones when `now` is None)."""
        rows = self._shared().execute("SELECT * FROM silences WHERE removed IS NULL "
                                      "ORDER BY starts").fetchall()
        found = [SilenceRecord(r[0], tuple(json.loads(r[1])), *r[2:]) for r in rows]
        return [s for s in found if now is None or s.starts <= now < s.ends]

    def ack(self, fp: str, at: float, author: str, reason: str) -> None:
        with self.transaction():
            self._shared().execute("INSERT INTO acks VALUES (?,?,?,?) ON CONFLICT"
                                   " (fingerprint) DO UPDATE SET at = excluded.at,"
                                   " author = excluded.author, reason = excluded.reason",
                                   (fp, at, author, reason))

    def acks(self) -> dict[str, Ack]:
        rows = self._shared().execute("SELECT * FROM acks").fetchall()
        return {r[0]: Ack(*r) for r in rows}

    def clear_ack(self, fp: str) -> None:
        self._shared().execute("DELETE FROM acks WHERE fingerprint=?", (fp,))
