"""The alert store a configuration uses, opened for the operator's tools: `lifeline
alerts` and the web console read it, and record acks, silences and unsilences in it
(each with who and when, the store's own calls).

    with reading(config, "console") as store:        # AlertStore | None
    with changing(config, "alerts command") as store:  # AlertStore

Without `cluster:` it is SQLite `state_dir/alerts.db`: read read-only (nothing created
or migrated; None while no agent has run with this state_dir), changed on a connection
that creates and migrates it as the agent does. With `cluster:` it is the cluster's
PostgreSQL, seen whole (every node's alert states: `EverythingScope`). Silences, acks and
outage history are shared by the nodes, and neither an operator's reads nor these
changes are fenced (only a node's alert-state commits are). Reading creates nothing
there either (None while no node has made the alert tables) on a read-only session.

Whatever keeps the store from being used, opening it or inside the block, comes out as
`AlertStoreUnavailableError`: one line saying where the store is (for PostgreSQL, where its
DSN is read from, never the DSN) and why. Other errors inside the block (a closed pipe
while printing) are the caller's and pass unchanged.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from alerts.evaluation.store import DB_NAME, OUTAGE_HISTORY_DAYS, Store
from alerts.evaluation.store_api import AlertStore
from config.model import ClusterSettings, SecretError
from config.sqlite import DamagedDatabase, SchemaError, check_version
from inventory.model import Config

if TYPE_CHECKING:       # psycopg is imported only when a cluster is configured
    from config.postgres import PgConnection

__all__ = ["AlertStoreUnavailableError", "alerts_db", "changing", "plan_outages", "reading"]

S = TypeVar("S", bound="AlertStore | None")
Errors = tuple[type[BaseException], ...]


class AlertStoreUnavailableError(Exception):
    """The alert store cannot be opened or failed while in use. `str()` is `said("en")`.
    `path`: the SQLite file (None: the cluster's PostgreSQL); `cause`: the error behind
    it, already worded without the DSN."""

    def __init__(self, where: tuple[str, str], reason: str, path: Path | None,
                 cause: BaseException) -> None:
        self.where, self.reason, self.path, self.cause = where, reason, path, cause
        super().__init__(self.said("en"))

    def said(self, lang: str) -> str:
        """One line in `lang` (ko or en); the reason is the engine's own words."""
        if lang == "ko":
            return f"경보 저장소({self.where[1]})를 사용할 수 없습니다: {self.reason}"
        return f"cannot use {self.where[0]}: {self.reason}"


def alerts_db(config: Config) -> Path:
    """Where a single agent keeps its alert store (and outbox)."""
    return Path(config.agent.state_dir) / DB_NAME


def reading(config: Config, client: str) -> AbstractContextManager[AlertStore | None]:
    """The store to read, closed after the block; None while there is none yet.
    `client`: who reads, named in PostgreSQL's application_name (e.g. "console")."""
    if config.cluster is None:
        path = alerts_db(config)
        return _guarded(_Sqlite(path), lambda: Store.read_only(path))
    database = _Postgres(config.cluster, client)
    return _guarded(database, database.open_reading)


def changing(config: Config, client: str) -> AbstractContextManager[AlertStore]:
    """The store to record an operator's change in (created and migrated if need be),
    closed after the block."""
    if config.cluster is None:
        path = alerts_db(config)
        return _guarded(_Sqlite(path), lambda: Store(path))
    database = _Postgres(config.cluster, client)
    return _guarded(database, database.open_changing)


def plan_outages(config: Config, now: datetime, client: str) -> dict[str, int] | None:
    """Outages per device in the year before `now` (the plan's outage_history), read
    from the store this config uses; None while there is none. Raises
    AlertStoreUnavailableError."""
    with reading(config, client) as store:
        if store is None:
            return None
        return store.outage_counts((now - timedelta(days=OUTAGE_HISTORY_DAYS)).timestamp())


class _Place:
    """Where a store lives: what opening it and using it may raise, said in one line."""

    opening: Errors
    using: Errors

    def unavailable(self, exc: BaseException) -> AlertStoreUnavailableError:
        raise NotImplementedError


@contextmanager
def _guarded(place: _Place, open_store: Callable[[], S]) -> Iterator[S]:
    try:
        store = open_store()
    except place.opening as exc:
        raise place.unavailable(exc) from None
    try:
        yield store
    except place.using as exc:
        raise place.unavailable(exc) from None
    finally:
        if store is not None:
            store.close()


class _Sqlite(_Place):
    # Opening may also meet an OSError (a state_dir that is not a directory); inside the
    # block an OSError is the caller's (stdout closed), not the store's.
    opening: Errors = (SchemaError, sqlite3.Error, OSError)
    using: Errors = (SchemaError, sqlite3.Error)

    def __init__(self, path: Path) -> None:
        self.path = path

    def unavailable(self, exc: BaseException) -> AlertStoreUnavailableError:
        if isinstance(exc, DamagedDatabase):
            reason = exc.detail
        else:
            reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
        return AlertStoreUnavailableError((str(self.path), str(self.path)), reason, self.path, exc)


class _Postgres(_Place):
    def __init__(self, settings: ClusterSettings, client: str) -> None:
        import psycopg  # a cluster only

        from config.postgres import DatabaseUnavailableError

        self.settings, self.node = settings, f"{settings.node} {client}"
        self._dsn = ""
        # DatabaseUnavailableError is an OSError: a broken connection inside the block.
        self.opening = (SchemaError, SecretError, DatabaseUnavailableError, psycopg.Error)
        self.using = (SchemaError, DatabaseUnavailableError, psycopg.Error)

    def _reveal(self) -> str:
        self._dsn = self.settings.dsn.reveal()
        return self._dsn

    def open_reading(self) -> AlertStore | None:
        from alerts.evaluation.store_pg import EverythingScope, PgStore
        from config.postgres import connect

        conn = connect(self._reveal(), node=self.node)
        try:
            conn.execute("SET default_transaction_read_only = on")
            if not _pg_readable(conn):
                conn.close()
                return None
        except BaseException:
            conn.close()
            raise
        return PgStore(conn, EverythingScope())

    def open_changing(self) -> AlertStore:
        from alerts.evaluation.store_pg import EverythingScope, PgStore

        return PgStore.open(self._reveal(), EverythingScope(), node=self.node)

    def unavailable(self, exc: BaseException) -> AlertStoreUnavailableError:
        import psycopg

        from config.postgres import describe_error

        # DatabaseUnavailableError and SecretError are worded without the DSN already.
        reason = describe_error(exc, self._dsn) if isinstance(exc, psycopg.Error) else str(exc)
        dsn = self.settings.dsn
        source_ko = f"환경 변수 {dsn.env}" if dsn.env else f"파일 {dsn.file}"
        where = (f"the cluster's PostgreSQL (DSN from {dsn.describe()})",
                 f"클러스터 PostgreSQL, DSN: {source_ko}")
        return AlertStoreUnavailableError(where, reason, None, exc)


def _pg_readable(conn: PgConnection) -> bool:
    """Whether a node made the alert tables, at this code's version (a newer or older
    version is refused, as `Store.read_only` refuses one; only a node migrates)."""
    from alerts.evaluation.store_pg import SCHEMA

    made = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not made or not made[0]:
        return False
    row = conn.execute("SELECT version FROM schema_version WHERE store = ?",
                       (SCHEMA.store,)).fetchone()
    version = int(row[0]) if row is not None else 0
    check_version(SCHEMA, version)
    if version == 0:
        return False
    if version < SCHEMA.version:
        raise SchemaError(f"the {SCHEMA.store} tables are at schema version {version}, "
                          f"older than this Lifeline's ({SCHEMA.version}): start a node "
                          "(`lifeline run`) once to upgrade them")
    return True
