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

A damaged file is refused too (`DamagedDatabase`, naming the file): one that is not SQLite
(garbage, or empty) or whose pages SQLite finds corrupt. An empty file is never taken as a
new store: the alert store would then forget what it sent and notify every firing alert
again. So a new database is built beside its final name and linked into place whole
(`open_database`): no process ever sees it empty, and an empty file at a store's name
means damage. A damaged file is moved aside only when the operator asks
(`lifeline repair-state`, `move_aside`); nothing here replaces it.

Reading commands open with `read_only=True` (`mode=ro`: nothing created or changed). A
WAL database also needs its `-shm` index, which a reader creates when it is missing; in a
directory it cannot write (a read-only mount, a copied backup) that fails. The file is
then opened `immutable=1`: SQLite reads the main file without locks or the index. That
is safe there because nothing can write a file in a read-only directory, but it does not
see transactions still in a `-wal` file that was never checkpointed (an agent killed, not
stopped, before the directory became read-only): those read as they were before them.
"""
from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from config.db import Connection
from config.private import FILE_MODE, make_private_dir

BUSY_TIMEOUT_SECONDS = 10.0
# The first 16 bytes of every SQLite database file (https://sqlite.org/fileformat.html).
SQLITE_HEADER = b"SQLite format 3\x00"
# The files SQLite keeps beside a database in WAL mode; they belong to it.
COMPANIONS = ("-wal", "-shm")
REPAIR_HINT = "`lifeline repair-state CONFIG` moves it aside"
_NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV)

# A migration is SQL (one or more statements) or a function for what SQL cannot say
# conditionally, such as adding a column that databases written by older code lack.
Migration = str | Callable[[sqlite3.Connection], None]
C = TypeVar("C", bound=Connection)


class SchemaError(Exception):
    """The database was written by a newer Lifeline; the message says which store."""


class DamagedDatabase(sqlite3.DatabaseError):
    """The file is not a usable SQLite database: empty, not SQLite, or corrupt. A
    sqlite3.DatabaseError, so whoever handles SQLite's errors handles it; the message
    names the file and what is wrong with it."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        self.detail = f"damaged ({reason}); {REPAIR_HINT}"     # without the file's name
        super().__init__(f"{path}: {self.detail}")


@dataclass(frozen=True, slots=True)
class Schema:
    """One store's tables: `migrations[0]` creates them, later ones change them."""

    store: str
    migrations: tuple[Migration, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)


def damage(path: Path) -> str | None:
    """What is wrong with the file at `path` at first sight (empty, not SQLite), or None
    (also when there is no file). Raises OSError when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    if not head:
        return "empty: 0 bytes, not a database"
    if head != SQLITE_HEADER:
        return "not a database: no SQLite header"
    return None


def is_corruption(exc: BaseException) -> bool:
    """Whether SQLite's error says the file itself is bad (not busy, full or missing)."""
    return (isinstance(exc, sqlite3.DatabaseError)
            and getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_CORRUPT,
                                                           sqlite3.SQLITE_NOTADB))


def connect(path: Path, *, read_only: bool = False,
            busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A connection usable from any one thread at a time (the caller serialises).
    `read_only` opens an existing file without creating or changing anything, also in a
    directory it cannot write (see the module's note). Raises DamagedDatabase for a file
    that is there but is not SQLite."""
    reason = damage(path)
    if reason is not None:
        raise DamagedDatabase(path, reason)
    if read_only:
        conn = _connect_read_only(path, busy_timeout)
    else:
        make_private_dir(path.parent)
        new = not path.exists()
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               timeout=busy_timeout)
        if new:     # made 0644 less the umask, and its -wal and -shm will copy its mode
            os.chmod(path, FILE_MODE)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _named(path, exc) from None
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    return conn


def _connect_read_only(path: Path, busy_timeout: float) -> sqlite3.Connection:
    def open_uri(parameters: str) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{path}?{parameters}", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=busy_timeout)
        try:        # SQLite opens lazily: read the schema now, so a failure shows here
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    try:
        return open_uri("mode=ro")
    except sqlite3.OperationalError as exc:
        if (getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_CANTOPEN
                or not path.exists() or os.access(path.parent, os.W_OK)):
            raise _named(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise _named(path, exc) from None
    # A WAL database without its -shm index in a directory we cannot write: see above.
    try:
        return open_uri("mode=ro&immutable=1")
    except sqlite3.DatabaseError as exc:
        raise _named(path, exc) from None


def _named(path: Path, exc: sqlite3.DatabaseError) -> sqlite3.DatabaseError:
    """Corruption as DamagedDatabase (naming the file); other errors unchanged."""
    return DamagedDatabase(path, str(exc)) if is_corruption(exc) else exc


@contextmanager
def transaction(conn: C, *, immediate: bool = True) -> Iterator[C]:
    """BEGIN (IMMEDIATE: take the write lock now, so a busy wait happens here and not
    halfway through) ... COMMIT, or ROLLBACK on any error, COMMIT's own included. Any
    connection of config/db.py's shape (a PostgreSQL one takes BEGIN IMMEDIATE as BEGIN)."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back itself (a full disk, an I/O error) or, when COMMIT
        # failed, kept the transaction open: end it either way, or every later BEGIN on
        # this connection fails and the store never recovers when space returns.
        if conn.in_transaction:
            with suppress(Exception):           # the error being raised says more
                conn.execute("ROLLBACK")
        raise


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
    """`connect` then `migrate` every schema: the one way a store opens its file. A file
    that is not there yet is created whole first (`_create`). Raises DamagedDatabase for
    a damaged one, SchemaError for one a newer Lifeline wrote."""
    if not path.exists():
        _create(path, schemas)
    conn = connect(path)
    try:
        for schema in schemas:
            migrate(conn, schema)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _named(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _create(path: Path, schemas: tuple[Schema, ...]) -> None:
    """Build the database under a private name and link it to `path` only when its tables
    exist, so `path` never exists empty (an empty file there is damage, see above). If
    another process created `path` meanwhile, its file is kept and this one dropped."""
    make_private_dir(path.parent)
    building = path.with_name(f".{path.name}.new-{os.getpid()}")
    try:
        for stale in (building, *(Path(f"{building}{c}") for c in COMPANIONS)):
            stale.unlink(missing_ok=True)      # left by a process that died building
        with closing(connect(building)) as conn:
            for schema in schemas:
                migrate(conn, schema)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            os.link(building, path)            # unlike rename, never replaces a file
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            if not path.exists():              # a file system without hard links
                os.rename(building, path)
    finally:
        for leftover in (building, *(Path(f"{building}{c}") for c in COMPANIONS)):
            leftover.unlink(missing_ok=True)


def check_integrity(path: Path) -> str | None:
    """What is wrong with the database at `path` (read-only, SQLite's quick_check over
    every page: slow on a big file), or None when it is sound or absent. A schema version
    is not looked at (a newer Lifeline's file is not damaged). Raises OSError or
    sqlite3.OperationalError when it cannot be read at all."""
    if not path.exists():
        return None
    try:
        conn = connect(path, read_only=True)
    except DamagedDatabase as exc:
        return exc.reason
    try:
        rows = [row[0] for row in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows[:3])


def move_aside(path: Path, when: datetime) -> Path:
    """Rename a damaged database (and its -wal and -shm, which belong to it and would
    otherwise be read as part of a new file) to `NAME.damaged-TIMESTAMP`; returns the new
    name. Nothing is deleted. Raises OSError."""
    target = path.with_name(f"{path.name}.damaged-{when:%Y%m%dT%H%M%S}")
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}.damaged-{when:%Y%m%dT%H%M%S}-{number}")
    for companion in COMPANIONS:      # first: a -wal left behind would join a new file
        moving = Path(f"{path}{companion}")
        if moving.exists():
            moving.rename(Path(f"{target}{companion}"))
    path.rename(target)
    return target
