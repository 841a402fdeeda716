"""The sink writer's group commit (agent/writer.py) on a real embedded store: the writes
handed over together go to SQLite as one transaction, and still none returns before its
points are on disk; a poll whose points the store refuses costs the others nothing."""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.sinks.store import EmbeddedStore, read_points
from agent.writer import SinkWriter
from collectors.base import Sample

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _samples(device_id: str, value: object = 1) -> tuple[Sample, ...]:
    tags = {"device_id": device_id, "category": "switch"}
    return (Sample("lifeline_poll", tags, {"up": value}, T0),       # type: ignore[dict-item]
            Sample("snmp", tags, {"uptime": 100}, T0))


def _stored(path: Path, device_id: str) -> int:
    """Points of the device another connection sees: what is committed to the file."""
    return len(list(read_points(path, device_id)))


def test_a_write_returns_only_once_its_points_are_on_disk_and_writes_share_commits(
        tmp_path: Path) -> None:
    path = tmp_path / "metrics.sqlite3"
    store = EmbeddedStore(path, prune_every=None)
    writer = SinkWriter(store)
    seen_at_ack: dict[str, int] = {}

    async def poll(device_id: str) -> None:
        await writer.write(device_id, _samples(device_id))
        seen_at_ack[device_id] = _stored(path, device_id)

    async def main() -> None:
        await asyncio.gather(*(poll(f"sw-{i}") for i in range(60)))
        await writer.close()

    asyncio.run(main())
    assert seen_at_ack == {f"sw-{i}": 2 for i in range(60)}
    # Handed over at once, they were written in fewer commits than polls.
    assert writer.writes == 60 and writer.batches < 60


def test_a_poll_whose_points_the_store_refuses_costs_the_others_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "metrics.sqlite3"
    writer = SinkWriter(EmbeddedStore(path, prune_every=None))

    async def main() -> None:
        # bytes is no field type: JSON cannot hold it, the store refuses the whole write.
        await asyncio.gather(writer.write("good-1", _samples("good-1")),
                             writer.write("bad", _samples("bad", value=b"\x00")),
                             writer.write("good-2", _samples("good-2")))
        await writer.close()

    with caplog.at_level(logging.ERROR, logger="lifeline.agent"):
        asyncio.run(main())
    assert writer.batches < writer.writes == 3      # they did share a batch first
    assert (_stored(path, "good-1"), _stored(path, "good-2"), _stored(path, "bad")) == (2, 2, 0)
    refused = [r for r in caplog.records if "could not store" in r.getMessage()]
    assert [getattr(r, "device_id", None) for r in refused] == ["bad"]


def test_writes_keep_their_order_around_a_job_on_the_writer_thread(tmp_path: Path) -> None:
    """A reload's swap is a job between writes: everything handed over before it lands
    before it, everything after it after it (here the job reads the store's count)."""
    path = tmp_path / "metrics.sqlite3"
    writer = SinkWriter(EmbeddedStore(path, prune_every=None))

    async def main() -> int:
        before = [asyncio.ensure_future(writer.write(f"a-{i}", _samples(f"a-{i}")))
                  for i in range(5)]
        counted = asyncio.ensure_future(writer._on_thread(
            lambda: sum(_stored(path, f"a-{i}") for i in range(5))))
        after = [asyncio.ensure_future(writer.write(f"b-{i}", _samples(f"b-{i}")))
                 for i in range(5)]
        await asyncio.gather(*before, *after)
        await writer.close()
        return await counted

    assert asyncio.run(main()) == 10
    assert all(_stored(path, f"b-{i}") == 2 for i in range(5))
