"""alerts.db as the code before schema versions wrote it: the CREATE statements of that
code, verbatim (no `schema_version` table), for the upgrade tests. Older still, the
outbox table had no `batch` column."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

ALERT_TABLES = """
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
    fingerprint TEXT PRIMARY KEY, at REAL NOT NULL, author TEXT NOT NULL, reason TEXT NOT NULL);
"""

OUTBOX_TABLES = """
CREATE TABLE IF NOT EXISTS delivery_outbox (
    notification_id TEXT NOT NULL,
    channel         TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    group_labels    TEXT NOT NULL,              -- JSON object
    fingerprint     TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,              -- the Notification as JSON
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending|sending|delivered|failed|expired
    enqueued        REAL NOT NULL,              -- epoch seconds of the injected clock
    due             REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,                       -- the Outbox instance that claimed it
    finished        REAL,
    last_error      TEXT,
    batch           TEXT,                       -- set when first claimed; kept for re-sends
    PRIMARY KEY (notification_id, channel)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_outbox_due ON delivery_outbox (state, due);
CREATE TABLE IF NOT EXISTS delivery_channels (
    channel              TEXT PRIMARY KEY,
    delivered            INTEGER NOT NULL DEFAULT 0,
    failed               INTEGER NOT NULL DEFAULT 0,
    expired              INTEGER NOT NULL DEFAULT 0,
    retries              INTEGER NOT NULL DEFAULT 0,
    resent_after_restart INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    last_error_at        TEXT,
    last_delivery_at     TEXT
);
CREATE TABLE IF NOT EXISTS delivery_groups (
    channel   TEXT NOT NULL,
    group_key TEXT NOT NULL,
    last_sent REAL NOT NULL,
    PRIMARY KEY (channel, group_key)
) WITHOUT ROWID;
"""

OUTBOX_TABLES_BEFORE_BATCH_IDS = OUTBOX_TABLES.replace(
    "    batch           TEXT,                       -- set when first claimed; kept for"
    " re-sends\n", "")
assert "batch" not in OUTBOX_TABLES_BEFORE_BATCH_IDS.split("delivery_channels")[0]


def write_old_database(path: Path, *, batch_ids: bool = True) -> None:
    """Empty tables, as the old Store and Outbox left them (the file in WAL mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(ALERT_TABLES)
        conn.executescript(OUTBOX_TABLES if batch_ids else OUTBOX_TABLES_BEFORE_BATCH_IDS)


def insert_outbox_row(conn: sqlite3.Connection, *, notification_id: str, channel: str,
                      fingerprint: str, event: str, payload: str, state: str, at: float,
                      owner: str | None = None, group_key: str = "k") -> None:
    """A row as the old outbox wrote it (no batch id: columns named, so either table)."""
    conn.execute("INSERT INTO delivery_outbox (notification_id, channel, group_key,"
                 " group_labels, fingerprint, event, payload, state, enqueued, due, owner)"
                 " VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?)",
                 (notification_id, channel, group_key, fingerprint, event, payload, state,
                  at, at, owner))
