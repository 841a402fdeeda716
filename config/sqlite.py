"""The SQLite databases Lifeline keeps in its state directory (`agent.state_dir`), opened
one way and kept at a known schema version.

Three stores use it: the alert store and the delivery outbox (both in `alerts.db`) and the
embedded metric store (`metrics.sqlite3`). Each connection is in autocommit mode
(transactions are explicit: `transaction()`), in WAL mode so that the running agent and a
command (`lifeline alerts ack`, `lifeline metrics`) work side by side, with
`synchronous=NORMAL` (a committed transaction survives a crash of the process; a power
cut may lose the last one but never corrupts the file) and a busy timeout, so either side
waits for the other's short writes instead of failing.

Each store declares its tables as a `Schema`: numbered migrations, applied in order, each
in its own transaction, the version reached recorded per store in `schema_version`.
Several stores may share one file. A database written by a newer Lifeline (a version this
code does not know) is refused rather than misread.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from config.private import FILE_MODE, make_private_dir

BUSY_TIMEOUT_SECONDS = 10.0

# A migration is SQL (one or more statements) or a function for what SQL cannot say
# conditionally, such as adding a column that databases written by older code lack.
Migration = str | Callable[[sqlite3.Connection], None]


class SchemaError(Exception):
    """The database was written by a newer Lifeline; the message says which store."""


@dataclass(frozen=True, slots=True)
class Schema:
    """One store's tables: `migrations[0]` creates them, later ones change them."""

    store: str
    migrations: tuple[Migration, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)


def connect(path: Path, *, read_only: bool = False,
            busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A connection usable from any one thread at a time (the caller serialises).
    `read_only` opens an existing file without creating or changing anything."""
    if read_only:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=busy_timeout)
    else:
        make_private_dir(path.parent)
        new = not path.exists()
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               timeout=busy_timeout)
        if new:     # made 0644 less the umask, and its -wal and -shm will copy its mode
            os.chmod(path, FILE_MODE)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True
                ) -> Iterator[sqlite3.Connection]:
    """BEGIN (IMMEDIATE: take the write lock now, so a busy wait happens here and not
    halfway through) ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, schema: Schema) -> None:
    """Bring `schema.store`'s tables to `schema.version`. Raises SchemaError for a
    database a newer Lifeline wrote. Each step reads the version again inside its own
    write transaction, so two processes opening a new file at once (the agent and a
    command) apply each migration once."""
    with transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                     "store TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    while True:
        with transaction(conn):
            current = stored_version(conn, schema.store)
            check_version(schema, current)
            if current == schema.version:
                return
            _apply(conn, schema.migrations[current])
            conn.execute("INSERT INTO schema_version (store, version) VALUES (?, ?) "
                         "ON CONFLICT (store) DO UPDATE SET version = excluded.version",
                         (schema.store, current + 1))


def check_version(schema: Schema, current: int) -> None:
    """SchemaError when the stored version is newer than this code knows."""
    if current > schema.version:
        raise SchemaError(f"the {schema.store} tables are at schema version {current}, "
                          f"newer than this Lifeline knows ({schema.version}): "
                          "run the Lifeline that wrote them, or move the file away")


def _apply(conn: sqlite3.Connection, step: Migration) -> None:
    if isinstance(step, str):
        for statement in sql_statements(step):
            conn.execute(statement)
    else:
        step(conn)


def sql_statements(script: str) -> list[str]:
    """The statements of an SQL script, split where SQLite says a statement is complete,
    so a `;` inside a string or a comment does not cut one in two. (`executescript` would
    split it for us, but it commits first, outside the migration's transaction.)"""
    statements, current = [], ""
    pieces = script.split(";")
    for number, piece in enumerate(pieces, 1):
        current += piece if number == len(pieces) else piece + ";"
        if sqlite3.complete_statement(current):
            if not _only_comments(current):
                statements.append(current)
            current = ""
    if not _only_comments(current):
        if not sqlite3.complete_statement(current + ";"):   # an unclosed string or comment
            raise ValueError(f"incomplete SQL statement at the end: {current.strip()[:60]!r}")
        statements.append(current)                          # the last one needs no `;`
    return statements


def _only_comments(text: str) -> bool:
    lines = (line.strip() for line in text.replace(";", "").splitlines())
    return all(not line or line.startswith("--") for line in lines)


def stored_version(conn: sqlite3.Connection, store: str) -> int:
    """The version `store`'s tables are at; 0 when they were never created."""
    try:
        row = conn.execute("SELECT version FROM schema_version WHERE store = ?",
                           (store,)).fetchone()
    except sqlite3.OperationalError:      # no schema_version table: nothing migrated yet
        return 0
    return int(row[0]) if row else 0


def open_database(path: Path, *schemas: Schema) -> sqlite3.Connection:
    """`connect` then `migrate` every schema: the one way a store opens its file."""
    conn = connect(path)
    try:
        for schema in schemas:
            migrate(conn, schema)
    except BaseException:
        conn.close()
        raise
    return conn
