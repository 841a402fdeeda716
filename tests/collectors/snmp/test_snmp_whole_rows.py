"""Keeping whole rows of a walk cut short (collectors/snmp/whole_rows.py)."""
from __future__ import annotations

from collectors.snmp import ber
from collectors.snmp.whole_rows import frontier, keep_whole_rows

OPER, ADMIN, ALIAS = b"oper", b"admin", b"alias"


def ix(*subids: int) -> bytes:
    """An encoded index suffix, as the walker stores it (what follows `1.3`'s byte)."""
    return ber.encode_oid((1, 3, *subids))[1:]


def table(**columns: list[int]) -> dict[bytes, dict[bytes, str]]:
    return {name.encode(): {ix(i): f"{name}.{i}" for i in rows}
            for name, rows in columns.items()}


def rows_of(columns: dict[bytes, dict[bytes, str]], name: bytes) -> list[tuple[int, ...]]:
    return sorted(ber.decode_subids(s) for s in columns[name])


def test_rows_past_the_lowest_point_an_unfinished_column_reached_are_dropped() -> None:
    # oper reached row 5, admin row 3, both unfinished; alias finished at row 6.
    cols = table(oper=[1, 2, 3, 4, 5], admin=[1, 2, 3], alias=[1, 2, 3, 4, 5, 6])
    kept = keep_whole_rows(cols, [OPER, ADMIN, ALIAS], {OPER: ix(5), ADMIN: ix(3)})
    assert kept == 3
    for name in (OPER, ADMIN, ALIAS):       # finished columns are trimmed too
        assert rows_of(cols, name) == [(1,), (2,), (3,)]


def test_a_row_a_finished_column_lacks_is_kept() -> None:
    # admin finished: the device has no admin status for row 2, and row 2 stays.
    cols = table(oper=[1, 2, 3, 4], admin=[1, 3, 4])
    kept = keep_whole_rows(cols, [OPER, ADMIN], {OPER: ix(3)})
    assert kept == 3
    assert rows_of(cols, OPER) == [(1,), (2,), (3,)]
    assert rows_of(cols, ADMIN) == [(1,), (3,)]


def test_a_sparse_unfinished_column_keeps_the_rows_it_walked_past() -> None:
    # errors has rows 2 and 7 only; unfinished after row 7: rows 3..6 genuinely lack it.
    cols = table(oper=[1, 2, 3, 4, 5, 6, 7, 8], errors=[2, 7])
    kept = keep_whole_rows(cols, [OPER, b"errors"], {b"errors": ix(7)})
    assert kept == 7 and rows_of(cols, OPER)[-1] == (7,)


def test_an_unfinished_column_that_reached_no_row_leaves_none() -> None:
    cols = table(oper=[1, 2, 3], admin=[])
    assert keep_whole_rows(cols, [OPER, ADMIN], {ADMIN: None}) == 0
    assert cols[OPER] == {} and cols[ADMIN] == {}
    assert frontier([ix(4), None]) is None


def test_every_column_finished_drops_nothing() -> None:
    cols = table(oper=[1, 2, 3], admin=[2])
    assert keep_whole_rows(cols, [OPER, ADMIN], {}) == 3
    assert rows_of(cols, OPER) == [(1,), (2,), (3,)] and rows_of(cols, ADMIN) == [(2,)]


def test_rows_are_compared_as_numbers_not_as_encoded_bytes() -> None:
    # 16383 encodes as ff 7f and 16384 as 81 80 00: byte order would put 16384 first.
    assert ix(16384) < ix(16383)
    cols = table(oper=[5, 16383, 16384, 20000], admin=[5, 16383])
    assert keep_whole_rows(cols, [OPER, ADMIN], {ADMIN: ix(16383)}) == 2
    assert rows_of(cols, OPER) == [(5,), (16383,)]
    assert frontier([ix(16384), ix(16383)]) == (16383,)


def test_multi_part_indexes_order_by_their_parts() -> None:
    cols = table(oper=[], admin=[])
    for parts in [(1, 9), (1, 10), (2, 1), (10, 1)]:
        cols[OPER][ix(*parts)] = "x"
    kept = keep_whole_rows(cols, [OPER, ADMIN], {OPER: ix(1, 10), ADMIN: ix(2, 1)})
    assert kept == 2 and rows_of(cols, OPER) == [(1, 9), (1, 10)]


def test_columns_not_walked_at_all_are_ignored() -> None:
    cols = table(oper=[1, 2, 3])
    assert keep_whole_rows(cols, [OPER, b"never-asked"], {OPER: ix(2)}) == 2
    assert b"never-asked" not in cols
