"""What the stores use of a database connection, on either engine.

The alert store and the outbox write their SQL once, in a dialect SQLite and PostgreSQL
both understand (config/postgres.py says which), and take any connection with this
shape: a `sqlite3.Connection` as it is, or a `config.postgres.PgConnection`.
"""
from __future__ import annotations

from typing import Any, Protocol


class Connection(Protocol):
    """The DB-API subset the stores call (autocommit mode, transactions explicit)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    @property
    def in_transaction(self) -> bool: ...

    @property
    def total_changes(self) -> int: ...
