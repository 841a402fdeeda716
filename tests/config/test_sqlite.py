"""The one way Lifeline opens its SQLite databases and keeps their schema version."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from config.sqlite import (
    Schema,
    SchemaError,
    migrate,
    open_database,
    sql_statements,
    stored_version,
)

TABLES = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,   -- one note; the id is SQLite's rowid
    text TEXT NOT NULL DEFAULT 'a;b'
);
CREATE INDEX IF NOT EXISTS notes_text ON notes (text);
"""


def add_author(conn: sqlite3.Connection) -> None:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(notes)")}
    if "author" not in columns:
        conn.execute("ALTER TABLE notes ADD COLUMN author TEXT")


def test_statements_split_where_sqlite_says_they_end() -> None:
    assert len(sql_statements(TABLES)) == 2
    assert sql_statements("-- nothing here;\n") == []
    assert sql_statements("CREATE TABLE t (x TEXT)") == ["CREATE TABLE t (x TEXT)"]
    with pytest.raises(ValueError, match="incomplete SQL statement"):
        sql_statements("CREATE TABLE t (x TEXT); CREATE TABLE u (y TEXT DEFAULT 'a")


def test_migrations_run_once_in_order_and_the_version_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "notes.db"       # the folder is made
    conn = open_database(path, Schema("notes", (TABLES,)))
    conn.execute("INSERT INTO notes (text) VALUES ('kept')")
    assert stored_version(conn, "notes") == 1
    conn.close()
    conn = open_database(path, Schema("notes", (TABLES, add_author)))
    assert stored_version(conn, "notes") == 2
    assert conn.execute("SELECT text, author FROM notes").fetchall() == [("kept", None)]
    migrate(conn, Schema("notes", (TABLES, add_author)))            # nothing left to do
    assert stored_version(conn, "notes") == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_made_before_versions_opens_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(TABLES + "INSERT INTO notes (text) VALUES ('from before');")
    old.close()
    conn = open_database(path, Schema("notes", (TABLES,)))
    assert conn.execute("SELECT text FROM notes").fetchall() == [("from before",)]


def test_two_stores_share_a_file_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    conn = open_database(path, Schema("notes", (TABLES,)),
                         Schema("more", ("CREATE TABLE IF NOT EXISTS more (x TEXT)",)))
    assert (stored_version(conn, "notes"), stored_version(conn, "more")) == (1, 1)
    conn.execute("UPDATE schema_version SET version = 5 WHERE store = 'more'")
    conn.close()
    with pytest.raises(SchemaError, match=r"more.*version 5"):
        open_database(path, Schema("more", ("CREATE TABLE IF NOT EXISTS more (x TEXT)",)))


def test_a_failed_migration_leaves_the_version_where_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    open_database(path, Schema("notes", (TABLES,))).close()
    with pytest.raises(sqlite3.OperationalError):
        open_database(path, Schema("notes", (TABLES, "ALTER TABLE nowhere ADD COLUMN x")))
    conn = open_database(path, Schema("notes", (TABLES,)))
    assert stored_version(conn, "notes") == 1
