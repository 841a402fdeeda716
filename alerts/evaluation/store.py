"""The alert store: SQLite in `state_dir/alerts.db`, opened and migrated as every state
database is (config/sqlite.py: WAL, a busy timeout, the "alerts" schema version).

Tables (the outbox keeps its own, schema "outbox", in the same file):

* `alert_state`: one row per fingerprint, the `AlertState` as JSON. Written in the same
  transaction as the notifications it causes (`Store.transaction`), so after a restart
  nothing that was sent is sent again and nothing firing is forgotten. Pending counters
  are persisted too: a restart neither loses nor restarts an outage count.
* `outages`: per device, start (first failed poll) and end of every outage that fired.
* `silences`: matchers (JSON), start, end, reason, author; `removed` when lifted early.
* `acks`: the acknowledged fingerprints of the current episode (cleared on resolve).

One `Store` per thread: sqlite3 connections are not shared. The CLI opens its own while
the agent runs; the busy timeout makes either side wait for the other's short writes.
Commands that only read (`lifeline alerts list|history`, the plan's outage counts) open
it with `Store.read_only`: nothing created, nothing migrated (a newer command never
upgrades the database of an older agent still running). Times are epoch seconds of
the wall clock; when it is stepped under the running agent, `shift_times` moves them all
by the step (docs/operations.md, "Clock jumps").
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from alerts.evaluation.state import TIME_FIELDS, TIME_LIST_FIELD, AlertState
from alerts.evaluation.store_api import Ack, Outage, SharedRecords, SilenceRecord
from config.sqlite import (
    Schema,
    SchemaError,
    check_version,
    connect,
    open_database,
    stored_version,
    transaction,
)

DB_NAME = "alerts.db"

# Migration 1 is what the code before schema versions created (IF NOT EXISTS), so it
# adopts such a database as it is.
SCHEMA = Schema("alerts", ("""
CREATE TABLE IF NOT EXISTS alert_state (
    fingerprint TEXT PRIMARY KEY, device_id TEXT NOT NULL, rule TEXT NOT NULL,
    status TEXT NOT NULL, data TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outages (
    id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, fingerprint TEXT NOT NULL,
    started REAL NOT NULL, ended REAL);
CREATE INDEX IF NOT EXISTS outages_device ON outages (device_id, started);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts REAL NOT NULL, ends REAL NOT NULL,
    reason TEXT NOT NULL, author TEXT NOT NULL, created REAL NOT NULL, removed REAL);
CREATE TABLE IF NOT EXISTS acks (
    fingerprint TEXT PRIMARY KEY, at REAL NOT NULL, author TEXT NOT NULL,
    reason TEXT NOT NULL);
""",))


__all__ = ["DB_NAME", "SCHEMA", "Ack", "Outage", "SilenceRecord", "Store"]


class Store(SharedRecords):
    """One thread's view of alerts.db, created and migrated when opened (`conn`: one
    already open, see `read_only`). Raises config.sqlite.SchemaError for a file a newer
    Lifeline wrote."""

    def __init__(self, path: Path, conn: sqlite3.Connection | None = None) -> None:
        self.path = path
        self.conn = conn if conn is not None else open_database(path, SCHEMA)

    @classmethod
    def in_dir(cls, state_dir: Path) -> Store:
        return cls(state_dir / DB_NAME)

    @classmethod
    def read_only(cls, path: Path) -> Store | None:
        """The store in `path` to read, as it is: nothing created or migrated, and SQLite
        refuses any write. None when there is none yet (no file, or no alert tables in
        it: no agent ran with this state_dir). Raises SchemaError for tables at another
        version than this code's, OSError or sqlite3.Error for a file it cannot read
        (a state_dir that is not a directory, a file that is not a database)."""
        try:
            path.stat()
        except FileNotFoundError:
            return None
        conn = connect(path, read_only=True)
        try:
            readable = _readable(conn)
        except BaseException:
            conn.close()
            raise
        if not readable:
            conn.close()
            return None
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    def _shared(self) -> sqlite3.Connection:
        return self.conn

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); yields the connection so the
        outbox can enqueue in the same transaction."""
        return transaction(self.conn)

    # ---- alert state ----------------------------------------------------------------

    def load_states(self) -> list[AlertState]:
        rows = self.conn.execute("SELECT data FROM alert_state").fetchall()
        return [AlertState.from_json(json.loads(data)) for (data,) in rows]

    def save_states(self, states: Iterable[AlertState], now: float) -> None:
        """Upserts live states and deletes the ones with nothing left to remember."""
        for s in states:
            if s.live:
                self.conn.execute(
                    "INSERT INTO alert_state VALUES (?,?,?,?,?,?) ON CONFLICT(fingerprint) DO "
                    "UPDATE SET status=excluded.status, data=excluded.data, "
                    "updated=excluded.updated",
                    (s.fingerprint, s.device_id, s.rule, s.status,
                     json.dumps(s.to_json(), ensure_ascii=False), now))
            else:
                self.conn.execute("DELETE FROM alert_state WHERE fingerprint=?", (s.fingerprint,))

    # ---- outage history -------------------------------------------------------------

    # ---- clock jumps ----------------------------------------------------------------

    def shift_times(self, delta: float) -> None:
        """The wall clock was stepped by `delta` seconds: every stored time moves by it
        (alert states, outages, silences, acks), so each interval keeps its real length
        (a `for`, a repeat, a silence's remaining time) while the times read in the new
        clock. One UPDATE per table, in the caller's transaction."""
        self.conn.execute(_SHIFT_STATES, {"d": delta})
        self.conn.execute("UPDATE outages SET started = started + :d, ended = ended + :d",
                          {"d": delta})
        self.conn.execute("UPDATE silences SET starts = starts + :d, ends = ends + :d,"
                          " created = created + :d, removed = removed + :d", {"d": delta})
        self.conn.execute("UPDATE acks SET at = at + :d", {"d": delta})


# Each time of an `AlertState` in its JSON moved by :d (null + :d stays null).
_SHIFT_STATES = ("UPDATE alert_state SET updated = updated + :d, data = json_set(data, "
                 + "".join(f"'$.{name}', json_extract(data, '$.{name}') + :d, "
                           for name in TIME_FIELDS)
                 + f"'$.{TIME_LIST_FIELD}', json((SELECT json_group_array(value + :d) FROM"
                 f" (SELECT value FROM json_each(data, '$.{TIME_LIST_FIELD}') ORDER BY key))))")


def _readable(conn: sqlite3.Connection) -> bool:
    """Whether the alert tables exist and are at this code's version. Tables a newer
    Lifeline wrote are refused (check_version), and so are older ones, which only the
    agent (or a command that writes) migrates. Tables without a version are those of the
    code before schema versions, which migration 1 adopts as they are: read as they are."""
    version = stored_version(conn, SCHEMA.store)
    check_version(SCHEMA, version)
    if version == 0:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                        " AND name = 'alert_state'").fetchone() is None:
            return False
        version = 1
    if version < SCHEMA.version:
        raise SchemaError(f"the {SCHEMA.store} tables are at schema version {version}, "
                          f"older than this Lifeline's ({SCHEMA.version}): start "
                          "`lifeline run` with this state_dir once to upgrade them")
    return True


OUTAGE_HISTORY_DAYS = 365
