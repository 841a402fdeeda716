"""Keeping only whole rows of a table whose walk stopped before its end.

The columns of a table are walked side by side, each from its last OID, so when a walk
stops (the poll's time ran out, a request went unanswered) every unfinished column has
reached some row and no further. A row past that point lacks that column because the walk
never got there, not because the device has no value: kept, it would be a fragment (an
interface with only its `ifIndex`, or only its oper status) that reads as a real state.
So rows up to the lowest point an unfinished column reached are kept, and the rest are
dropped from every column of the table.

A finished column decides nothing here: it went past its last row, so a row it lacks is
one the device lacks, and that row stays.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import TypeVar

from collectors.snmp import ber

Index = tuple[int, ...]
V = TypeVar("V")


def frontier(reached: Iterable[bytes | None]) -> Index | None:
    """The last row index every unfinished column reached; None when one reached no row.

    `reached` holds, for each unfinished column, the encoded index suffix of the last row
    it received, or None if it received none."""
    lowest: Index | None = None
    for suffix in reached:
        if suffix is None:
            return None
        index = ber.decode_subids(suffix)
        if lowest is None or index < lowest:
            lowest = index
    return lowest


def keep_whole_rows(columns: MutableMapping[bytes, dict[bytes, V]],
                    table: Iterable[bytes], reached: Mapping[bytes, bytes | None]) -> int:
    """Drops, from every column of `table` (column OIDs), the rows past the frontier of
    the unfinished columns in `reached` (column OID -> last index suffix received, None
    for none). Returns how many rows the table keeps. Nothing is dropped when `reached`
    is empty: every column finished."""
    oids = [oid for oid in table if oid in columns]
    if reached:
        limit = frontier(reached.values())
        for oid in oids:
            values = columns[oid]
            past = [suffix for suffix in values
                    if limit is None or ber.decode_subids(suffix) > limit]
            for suffix in past:
                del values[suffix]
    return len({suffix for oid in oids for suffix in columns[oid]})


__all__ = ["frontier", "keep_whole_rows"]
