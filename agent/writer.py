"""The sink writer: the one thread between the agent's loop and its sink.

Polls hand their samples over with `await writer.write(...)`. Every write runs on a single
thread, so points reach the sink in the order they were handed over, and the sink's disk
I/O stays off the loop. Opening the sink, replacing it on reload (`swap`) and closing it
are jobs on the same thread: every write handed over before a swap lands on the old sink
and every one after it on the new one, and none is lost in between.

Group commit. The writes handed over while the thread was busy (and for at most
LINGER_SECONDS after the first of them) go to the sink as one `Sink.write`: one SQLite
transaction or one spool append for many polls instead of one each, and one hand-off back
to the loop for all of them instead of a thread pool round trip each (measured in
bench/RESULTS.md, "The whole pipeline"). No guarantee is weakened: `write` still returns
only once the sink has the samples (a point acknowledged is on disk). A batch that fails
for the disk (full, read-only) fails every write in it, as each would have alone; one that
fails otherwise (a value the store cannot hold, a bug) is written again poll by poll, so
one bad device's points never cost the others theirs.

A write the disk refuses (full, read-only, a damaged file) is reported to the agent's
`WriteFailures` as the metric store's or the spool's (agent/write_failures.py: health,
and one log line a minute), and the next write that goes through clears it.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

from agent.sinks import Sink, SinkStats, open_sink, spool_dir, store_path
from agent.write_failures import METRIC_STORE, SPOOL, WRITE_ERRORS, WriteFailures, describe
from collectors.base import Sample
from inventory.model import Config

log = logging.getLogger("lifeline.agent")

SINK_CLOSE_SECONDS = 10.0
# How long the thread waits, after the first write of a batch, for more to join it. Small
# against a poll (a poll's task ends this much later; what it wrote is no less durable),
# long enough that at hundreds of polls a second a batch holds several. Each batch costs
# a commit and two thread hand-offs whatever its size: at 167 polls a second the writer
# thread took 0.23 ms a poll at 20 ms, 0.16 at 50 and 0.14 at 100 (bench/writer_path.py).
LINGER_SECONDS = 0.05
T = TypeVar("T")


def sink_settings(config: Config) -> tuple[object, ...]:
    """What the sink is opened from: a reload that changes these reopens it."""
    return (config.influxdb, config.agent.state_dir, config.agent.retention_days)


def _target(config: Config) -> tuple[str, Path]:
    """The kind of write (for WriteFailures) and where on disk the sink writes."""
    if config.influxdb is not None:
        return SPOOL, spool_dir(config)
    return METRIC_STORE, store_path(config)


@dataclass(frozen=True, slots=True)
class _Write:
    """One poll's samples, and the future its `write` awaits."""

    device_id: str
    samples: Sequence[Sample]
    done: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class _Call:
    """A job on the writer thread (open, swap); its result or error goes to `done`."""

    function: Callable[..., Any]
    args: tuple[object, ...]
    done: asyncio.Future[Any]


class SinkWriter:
    """Owns the sink and its writer thread. `sink` may be given (tests); otherwise `open`
    opens the one the configuration asks for. Failed writes go to `failures`."""

    def __init__(self, sink: Sink | None = None, *,
                 failures: WriteFailures | None = None,
                 linger: float = LINGER_SECONDS) -> None:
        self._sink = sink
        self._settings: tuple[object, ...] | None = None
        self._failures = failures or WriteFailures(UTC)
        self._kind, self._where = METRIC_STORE, Path()
        self._linger = linger
        self._jobs: deque[_Write | _Call] = deque()   # appended by the loop, taken by the thread
        self._wake = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.batches = 0        # batches written, and the poll writes they carried (the
        self.writes = 0         # tests read them)

    async def open(self, config: Config) -> None:
        self._settings = sink_settings(config)
        self._kind, self._where = _target(config)
        if self._sink is None:
            self._sink = await self._on_thread(open_sink, config)

    async def write(self, device_id: str, samples: Sequence[Sample]) -> None:
        """Returns once the sink has the samples (or the error is logged)."""
        if self._sink is not None:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._submit(_Write(device_id, samples, done))
            await done

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
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            await loop.run_in_executor(None, self._thread.join)
        if self._sink is not None:
            await loop.run_in_executor(None, self._sink.close, SINK_CLOSE_SECONDS)

    async def _on_thread(self, function: Callable[..., T], *args: object) -> T:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._submit(_Call(function, args, done))
        return await done

    def _submit(self, job: _Write | _Call) -> None:
        with self._wake:
            if self._closing:
                raise RuntimeError("the sink writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lifeline-writer",
                                                daemon=True)
                self._thread.start()
            self._jobs.append(job)
            if len(self._jobs) == 1:
                self._wake.notify()

    # ---- on the writer thread ---------------------------------------------------------

    def _run(self) -> None:
        # An Event nobody sets, for the linger: time.sleep fails (EINVAL) under
        # libfaketime with a real monotonic clock (tests/agent/test_clock_jumps.py), a
        # timed wait on a lock does not.
        linger = threading.Event()
        while True:
            with self._wake:
                while not self._jobs and not self._closing:
                    self._wake.wait()
                if not self._jobs:
                    return          # closing, and everything handed over is done
            if self._linger and not self._closing and isinstance(self._jobs[0], _Write):
                linger.wait(self._linger)
            with self._wake:
                jobs = list(self._jobs)
                self._jobs.clear()
            try:
                self._do(jobs)
            except Exception as exc:    # a bug here must not leave the polls waiting
                log.exception("sink writer failed; its jobs are let go")
                _settle([(job.done, None, None if isinstance(job, _Write) else exc)
                         for job in jobs])

    def _do(self, jobs: list[_Write | _Call]) -> None:
        """The jobs in order: each run of writes as one batch, each call alone."""
        for is_write, run in itertools.groupby(jobs, key=lambda job: isinstance(job, _Write)):
            if is_write:
                writes = [job for job in run if isinstance(job, _Write)]
                self._write_batch(writes)
                _settle([(w.done, None, None) for w in writes])
            else:
                for call in run:
                    assert isinstance(call, _Call)
                    try:
                        result = call.function(*call.args)
                    except BaseException as exc:   # handed to the awaiting coroutine
                        _settle([(call.done, None, exc)])
                    else:
                        _settle([(call.done, result, None)])

    def _write_batch(self, writes: list[_Write]) -> None:
        if self._sink is None:
            return
        self.batches += 1
        self.writes += len(writes)
        if len(writes) == 1:
            self._write(writes[0].device_id, writes[0].samples)
            return
        samples = [s for w in writes for s in w.samples]
        try:
            self._sink.write(samples)
        except WRITE_ERRORS as exc:
            # The disk: each write would have failed alike, and the sink kept none.
            self._failures.failed(self._kind, describe(exc, self._where))
            return
        except Exception:
            # Not the disk: find the poll whose points the sink refuses, keep the others.
            for write in writes:
                self._write(write.device_id, write.samples)
            return
        if samples:
            self._failures.succeeded(self._kind)

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


def _settle(outcomes: list[tuple[asyncio.Future[Any], object, BaseException | None]]) -> None:
    """Resolve futures of the loop from the writer thread: one hand-off for all of them."""
    if not outcomes:
        return
    loop = outcomes[0][0].get_loop()

    def resolve() -> None:
        for future, result, error in outcomes:
            if future.done():           # its awaiting task was cancelled
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    try:
        loop.call_soon_threadsafe(resolve)
    except RuntimeError:                # the loop is closed: nobody waits any more
        pass
