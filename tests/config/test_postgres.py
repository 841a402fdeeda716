"""config/postgres.py against a real PostgreSQL 15 (review of issue 19): nodes that
start at once all get the schema, and a DSN's password stays out of every error, also
when libpq cannot parse the DSN and quotes it back in pieces."""
from __future__ import annotations

import threading

import pytest

from alerts.delivery.outbox_pg import SCHEMA as OUTBOX
from alerts.evaluation.store_pg import SCHEMA as ALERTS
from config.postgres import DatabaseUnavailableError, connect, open_database

from peers.postgres import PostgresServer

pytestmark = pytest.mark.peer

NODES = 8


def test_nodes_starting_at_once_all_open_the_database(postgres: PostgresServer) -> None:
    failures: list[str] = []
    for _ in range(4):          # fresh databases: the first node makes the tables
        dsn = postgres.new_database()
        start = threading.Barrier(NODES)

        def node(dsn: str = dsn, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                open_database(dsn, ALERTS, OUTBOX, node="n").close()
            except DatabaseUnavailableError as exc:
                failures.append(str(exc))
        threads = [threading.Thread(target=node) for _ in range(NODES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


@pytest.mark.parametrize("password", ["s3cr3t pw-Echo-7", "pw-Echo-7"])
def test_no_password_in_an_error_even_from_a_broken_dsn(postgres: PostgresServer,
                                                         password: str) -> None:
    # Unquoted, a password with a space is a DSN libpq cannot parse; quoted, it is one
    # for a role that does not exist.
    for dsn in (f"host=127.0.0.1 port={postgres.port} user=nobody password={password}",
                f"host=127.0.0.1 port={postgres.port} user=nobody password='{password}'",
                f"postgresql://nobody:{password.replace(' ', '%20')}@127.0.0.1:"
                f"{postgres.port}/postgres?nonsense=1"):
        with pytest.raises(DatabaseUnavailableError) as caught:
            connect(dsn).close()
        for piece in password.split():
            assert piece not in str(caught.value), (dsn, str(caught.value))
