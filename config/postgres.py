"""The cluster's shared PostgreSQL (`cluster:` in the config), opened one way and kept at a
known schema version, as config/sqlite.py does for the state directory's files.

The stores' SQL is written once, in the dialect both engines understand (`?` parameters,
`ON CONFLICT`, `COALESCE`, standard types), and runs on SQLite as it is. `PgConnection`
lets the same statements run on PostgreSQL: it turns `?` into psycopg's `%s` (and a
literal `%` into `%%`), takes SQLite's `BEGIN IMMEDIATE` ("take the write lock now",
which PostgreSQL does row by row anyway) as `BEGIN`, and offers the few attributes the
stores read of a sqlite3 connection (`in_transaction`, `total_changes`). So
`config.sqlite.transaction` works on it unchanged, and a store needs its own PostgreSQL
code only where the engines really differ (JSON, locking, the database's clock).

Each connection is in autocommit mode (transactions explicit), names itself
(`application_name`: the node), and sets `idle_in_transaction_session_timeout`, so a
node frozen inside a transaction (SIGSTOP, a VM paused) has its transaction ended by the
server and cannot hold row locks that another node's takeover waits for.

The DSN is a secret (it may hold a password): it is never logged, and an error that
might quote it is reworded (`describe_error`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from config.sqlite import Schema, check_version, sql_statements

IDLE_IN_TRANSACTION_MS = 5000
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_MS = 30000
MIGRATION_LOCK = 0x4C4C_5343        # pg_advisory_xact_lock key of `migrate` ("LLSC")
# `?` outside quotes; a literal `%` (LIKE patterns) must be doubled for psycopg.
_QMARK = re.compile(r"'(?:[^']|'')*'|\?|%")


class DatabaseUnavailableError(ConnectionError):
    """PostgreSQL could not be reached, or the connection broke; the message never holds
    the DSN. A ConnectionError (an OSError): the agent counts it as a failing write of
    the alert state (health, one log line a minute), as it does a full disk."""


def to_format_style(sql: str) -> str:
    """`?` parameters as `%s`, literal `%` as `%%`; quoted text left alone."""
    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        return "%s" if text == "?" else "%%" if text == "%" else text
    return _QMARK.sub(swap, sql)


class PgConnection:
    """A psycopg connection speaking the stores' shared dialect (see the module). One
    thread at a time, as with sqlite3."""

    def __init__(self, conn: psycopg.Connection[Any], dsn: str, node: str) -> None:
        self.raw = conn
        self.total_changes = 0          # rows changed since opened, as sqlite3 counts them
        self._dsn, self._node = dsn, node

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        if sql.strip().upper() == "BEGIN IMMEDIATE":
            sql = "BEGIN"
        self._reconnect_if_broken()
        try:
            cursor = self.raw.execute(to_format_style(sql), tuple(parameters) or None)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(describe_error(exc, self._dsn)) from None
        if cursor.rowcount > 0 and cursor.description is None:
            self.total_changes += cursor.rowcount
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        self._reconnect_if_broken()
        try:
            cursor = self.raw.cursor()
            cursor.executemany(to_format_style(sql), [tuple(r) for r in rows])
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(describe_error(exc, self._dsn)) from None
        if cursor.rowcount > 0:
            self.total_changes += cursor.rowcount
        return cursor

    def _reconnect_if_broken(self) -> None:
        """A connection the server or the network ended is replaced, between
        transactions only (inside one, the error goes to the caller, who rolls back)."""
        if (self.raw.closed or self.raw.broken) and not self._inside():
            self.raw = _raw(self._dsn, self._node)

    def _inside(self) -> bool:
        status = self.raw.info.transaction_status
        return status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)

    @property
    def in_transaction(self) -> bool:
        return not (self.raw.closed or self.raw.broken) and self._inside()

    def close(self) -> None:
        self.raw.close()


def connect(dsn: str, *, node: str = "lifeline") -> PgConnection:
    """A new connection (autocommit, the session settings above). Raises
    DatabaseUnavailableError, worded without the DSN."""
    return PgConnection(_raw(dsn, node), dsn, node)


def _raw(dsn: str, node: str) -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = None
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                               application_name=f"lifeline {node}"[:63])
        conn.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_MS}")
        conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        conn.execute("SET TIME ZONE 'UTC'")
    except psycopg.Error as exc:
        if conn is not None:
            conn.close()
        raise DatabaseUnavailableError(describe_error(exc, dsn)) from None
    return conn


def describe_error(exc: BaseException, dsn: str = "") -> str:
    """One line about a database error, with nothing of the DSN's password in it. A DSN
    libpq cannot parse is quoted back in pieces by its errors (`missing "=" after "..."`),
    and which piece is the password is then anybody's guess: every quoted piece of the DSN
    is left out."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        secrets = {v for k, v in conninfo_to_dict(dsn).items()
                   if k == "password" and isinstance(v, str) and v}
    except psycopg.Error:
        secrets = {piece for piece in re.findall(r'"([^"]*)"', text)
                   if len(piece) > 1 and piece in dsn}
    if "://" in dsn:    # a URI: its password may also appear as written, percent-encoded
        secrets |= {m for m in re.findall(r"://[^:/@]*:([^@/]*)@", dsn) if m}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return f"PostgreSQL: {text}"


def migrate(conn: PgConnection, schema: Schema) -> None:
    """Bring `schema.store`'s tables to `schema.version` (SQL migrations only). Two
    nodes starting at once apply each step once: the version row is locked."""
    # CREATE TABLE IF NOT EXISTS is not safe against itself in PostgreSQL: two nodes
    # making the table at once can fail on pg_type's unique index. One at a time, then.
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                     "store TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (store, version) VALUES (?, 0)"
                     " ON CONFLICT (store) DO NOTHING", (schema.store,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    while True:
        conn.execute("BEGIN")
        try:
            row = conn.execute("SELECT version FROM schema_version WHERE store = ?"
                               " FOR UPDATE", (schema.store,)).fetchone()
            current = int(row[0]) if row is not None else 0
            check_version(schema, current)
            if current == schema.version:
                conn.execute("COMMIT")
                return
            step = schema.migrations[current]
            assert isinstance(step, str), "PostgreSQL migrations are SQL"
            for statement in sql_statements(step):
                conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ? WHERE store = ?",
                         (current + 1, schema.store))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def open_database(dsn: str, *schemas: Schema, node: str = "lifeline") -> PgConnection:
    """`connect` then `migrate` every schema. Raises DatabaseUnavailableError, SchemaError."""
    conn = connect(dsn, node=node)
    try:
        for schema in schemas:
            migrate(conn, schema)
    except psycopg.Error as exc:
        conn.close()
        raise DatabaseUnavailableError(describe_error(exc, dsn)) from None
    except BaseException:
        conn.close()
        raise
    return conn
