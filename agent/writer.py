"""The sink writer: the one thread between the agent's loop and its sink.

Polls hand their samples over with `await writer.write(...)`. Every write runs on a single
thread, so points reach the sink in the order they were handed over, and the sink's disk
I/O stays off the loop. Opening the sink, replacing it on reload (`swap`) and closing it
are jobs on the same thread: every write handed over before a swap lands on the old sink
and every one after it on the new one, and none is lost in between.

A write the disk refuses (full, read-only, a damaged file) is reported to the agent's
`WriteFailures` as the metric store's or the spool's (agent/write_failures.py: health,
and one log line a minute), and the next write that goes through clears it.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import TypeVar

from agent.sinks import Sink, SinkStats, open_sink, spool_dir, store_path
from agent.write_failures import METRIC_STORE, SPOOL, WRITE_ERRORS, WriteFailures, describe
from collectors.base import Sample
from inventory.model import Config

log = logging.getLogger("lifeline.agent")

SINK_CLOSE_SECONDS = 10.0
T = TypeVar("T")


def sink_settings(config: Config) -> tuple[object, ...]:
    """What the sink is opened from: a reload that changes these reopens it."""
    return (config.influxdb, config.agent.state_dir, config.agent.retention_days)


def _target(config: Config) -> tuple[str, Path]:
    """The kind of write (for WriteFailures) and where on disk the sink writes."""
    if config.influxdb is not None:
        return SPOOL, spool_dir(config)
    return METRIC_STORE, store_path(config)


class SinkWriter:
    """Owns the sink and its writer thread. `sink` may be given (tests); otherwise `open`
    opens the one the configuration asks for. Failed writes go to `failures`."""

    def __init__(self, sink: Sink | None = None, *,
                 failures: WriteFailures | None = None) -> None:
        self._sink = sink
        self._settings: tuple[object, ...] | None = None
        self._failures = failures or WriteFailures(UTC)
        self._kind, self._where = METRIC_STORE, Path()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifeline-writer")

    async def open(self, config: Config) -> None:
        self._settings = sink_settings(config)
        self._kind, self._where = _target(config)
        if self._sink is None:
            self._sink = await self._on_thread(open_sink, config)

    async def write(self, device_id: str, samples: Sequence[Sample]) -> None:
        """Returns once the sink has the samples (or the error is logged)."""
        if self._sink is not None:
            await self._on_thread(self._write, device_id, samples)

    async def swap(self, running: Config, new: Config) -> None:
        """Reopen the sink if `new` changes its settings. If the new sink cannot open,
        the running one is opened again and the error raised."""
        if self._sink is None or self._settings == sink_settings(new):
            return
        await self._on_thread(self._swap, running, new)
        self._settings = sink_settings(new)
        # The old sink's failures were its own: the new one is judged by its own writes.
        self._failures.succeeded(self._kind)
        self._kind, self._where = _target(new)

    def stats(self) -> SinkStats | None:
        return self._sink.stats() if self._sink is not None else None

    async def close(self) -> None:
        """Once everything handed over is written: close the sink, which flushes what it
        can within SINK_CLOSE_SECONDS."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._thread.shutdown, True)
        if self._sink is not None:
            await loop.run_in_executor(None, self._sink.close, SINK_CLOSE_SECONDS)

    async def _on_thread(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    def _write(self, device_id: str, samples: Sequence[Sample]) -> None:
        assert self._sink is not None
        try:
            self._sink.write(samples)
        except WRITE_ERRORS as exc:
            # The sink spools what it cannot send; an error here is the disk itself.
            self._failures.failed(self._kind, describe(exc, self._where))
            return
        except Exception:               # not the disk: a bug, worth its traceback
            log.exception("could not store %d points", len(samples),
                          extra={"device_id": device_id})
            return
        if samples:                     # an empty write proves nothing about the disk
            self._failures.succeeded(self._kind)

    def _swap(self, running: Config, new: Config) -> None:
        assert self._sink is not None
        # Close first: the new sink may use the same spool, which admits one holder.
        self._sink.close(SINK_CLOSE_SECONDS)
        try:
            self._sink = open_sink(new)
        except Exception:
            self._sink = open_sink(running)     # back to what ran; the error goes up
            raise
