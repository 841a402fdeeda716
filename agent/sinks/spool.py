"""A write-ahead spool of line protocol on disk, with a persisted delivery cursor.

Layout under the spool directory:

    seg-0000000000000001.lp   segment files: complete lines of line protocol, appended
    seg-0000000000000002.lp   in order; a new one past `segment_bytes`
    cursor.json               {"segment": N, "offset": B}: everything before byte B of
                              segment N has been delivered (or dropped); replaced
                              atomically (write + rename) after each 2xx
    lock                      flock: one process per spool

`append` returns once the lines are written to the segment file (in the OS page cache:
they survive the process being killed, SIGKILL included; `sync()` or `fsync=True` for a
power cut). The sender `peek`s the oldest undelivered lines as a `Batch`, sends them,
and `commit`s (cursor advanced and persisted, finished segments deleted) or `release`s
them (they stay, and are offered again). Delivery is in append order.

Recovery on open: segments before the cursor's are deleted, a torn last line (the process
died inside a write, which therefore was never acknowledged) is cut off, and everything
from the cursor on is pending again.

Bound: when the pending bytes pass `max_bytes`, the oldest lines are dropped (the cursor
moves past them, counted) until they fit. Never while a batch is in flight: then the
bound is enforced when the attempt ends, so the spool may exceed it by what is written
during one HTTP request.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20
SEGMENT_PREFIX, SEGMENT_SUFFIX = "seg-", ".lp"


class SpoolError(Exception):
    """The spool cannot be used: locked by another process, or unreadable."""


@dataclass(frozen=True, slots=True)
class Batch:
    """The oldest undelivered lines of one segment: `payload` ends with a newline."""

    payload: bytes
    count: int
    segment: int
    start: int
    end: int


@dataclass(slots=True)
class _Segment:
    seq: int
    path: Path
    size: int
    lines: int


@dataclass(frozen=True, slots=True)
class SpoolState:
    """What is waiting in a spool directory (read without opening it for writing)."""

    points: int
    bytes: int
    segments: int


def _segment_path(directory: Path, seq: int) -> Path:
    return directory / f"{SEGMENT_PREFIX}{seq:016d}{SEGMENT_SUFFIX}"


def _segment_files(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
        digits = path.name[len(SEGMENT_PREFIX):-len(SEGMENT_SUFFIX)]
        if digits.isdigit():
            found.append((int(digits), path))
    return sorted(found)


def _count_lines(path: Path, start: int = 0, end: int | None = None) -> int:
    count = 0
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            chunk = handle.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
            if not chunk:
                break
            count += chunk.count(b"\n")
            if remaining is not None:
                remaining -= len(chunk)
    return count


def _complete_size(path: Path) -> int:
    """The size up to and including the last newline: a torn last line does not count."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb") as handle:
        pos = size
        while pos > 0:
            step = min(_CHUNK, pos)
            handle.seek(pos - step)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                return pos - step + newline + 1
            pos -= step
    return 0


def _read_cursor(directory: Path) -> tuple[int, int]:
    try:
        data = json.loads((directory / "cursor.json").read_text(encoding="utf-8"))
        return int(data["segment"]), int(data["offset"])
    except FileNotFoundError:
        return 0, 0
    except (ValueError, KeyError, TypeError) as exc:
        # Only ever written by rename, so a bad one was edited by hand: replaying from
        # the oldest segment may repeat points, which InfluxDB overwrites; losing is worse.
        raise SpoolError(f"{directory / 'cursor.json'}: unreadable cursor ({exc}); "
                         "delete it to replay the whole spool") from None


def inspect(directory: Path) -> SpoolState:
    """Pending points and bytes of a spool directory, read-only (safe while the agent runs:
    at worst a moment out of date)."""
    if not directory.is_dir():
        return SpoolState(0, 0, 0)
    seq0, offset = _read_cursor(directory)
    points = size = segments = 0
    for seq, path in _segment_files(directory):
        if seq < seq0:
            continue
        start = offset if seq == seq0 else 0
        end = _complete_size(path)
        if end > start:
            points += _count_lines(path, start, end)
            size += end - start
            segments += 1
    return SpoolState(points, size, segments)


class Spool:
    """The write-ahead spool of one InfluxDB sink. Thread-safe; one process at a time."""

    def __init__(self, directory: Path, max_bytes: int, *, segment_bytes: int | None = None,
                 fsync: bool = False) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        # Small enough that dropping or deleting works in steps, big enough to batch well.
        self.segment_bytes = segment_bytes or max(64 * 1024, min(8 << 20, max_bytes // 8))
        self._fsync = fsync
        self._lock = threading.Lock()
        self._in_flight: Batch | None = None
        self._closed = False
        self._dirty = False
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolError(f"{self.directory} is in use by another process "
                             "(is another agent running on this state_dir?)") from None
        self._recover()

    # --- opening ------------------------------------------------------------------------

    def _recover(self) -> None:
        seq0, offset = _read_cursor(self.directory)
        self._segments: list[_Segment] = []
        for seq, path in _segment_files(self.directory):
            if seq < seq0:
                path.unlink()            # delivered; deleted late by a crash
                continue
            size = _complete_size(path)
            if size != path.stat().st_size:
                os.truncate(path, size)  # torn last line: that write was never acknowledged
            self._segments.append(_Segment(seq, path, size, _count_lines(path)))
        if not self._segments or self._segments[0].seq != seq0:
            offset = 0
        if not self._segments:
            self._segments.append(self._new_segment(max(seq0, 1)))
        head = self._segments[0]
        self._offset = min(offset, head.size)
        self._head_done = _count_lines(head.path, 0, self._offset) if self._offset else 0
        self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)
        self._save_cursor()

    def _new_segment(self, seq: int) -> _Segment:
        path = _segment_path(self.directory, seq)
        path.touch()
        return _Segment(seq, path, 0, 0)

    # --- what it holds --------------------------------------------------------------------

    @property
    def pending_points(self) -> int:
        with self._lock:
            return self._pending_points()

    @property
    def pending_bytes(self) -> int:
        with self._lock:
            return self._pending_bytes()

    def _pending_points(self) -> int:
        return sum(s.lines for s in self._segments) - self._head_done

    def _pending_bytes(self) -> int:
        return sum(s.size for s in self._segments) - self._offset

    # --- writing ----------------------------------------------------------------------------

    def append(self, lines: Sequence[bytes]) -> int:
        """Appends lines (no newlines inside); returns how many old points were dropped to
        stay within the bound. Returns once the bytes are in the file."""
        if not lines:
            return 0
        data = b"\n".join(lines) + b"\n"
        with self._lock:
            if self._closed:
                raise SpoolError(f"{self.directory}: spool is closed")
            active = self._segments[-1]
            if active.size >= self.segment_bytes:
                active = self._rotate()
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._fd, data[written:])
            except OSError:
                os.ftruncate(self._fd, active.size)   # no half line for the next append
                raise
            if self._fsync:
                os.fdatasync(self._fd)
            else:
                self._dirty = True
            active.size += len(data)
            active.lines += len(lines)
            return 0 if self._in_flight else self._enforce_bound()

    def _rotate(self) -> _Segment:
        os.fdatasync(self._fd)           # a finished segment is made durable once
        os.close(self._fd)
        segment = self._new_segment(self._segments[-1].seq + 1)
        self._segments.append(segment)
        self._fd = os.open(segment.path, os.O_WRONLY | os.O_APPEND)
        return segment

    def sync(self) -> None:
        """Flushes appended lines to the disk itself (power-cut safety), if any are new."""
        with self._lock:
            if self._dirty and not self._closed:
                os.fdatasync(self._fd)
                self._dirty = False

    # --- delivering ---------------------------------------------------------------------

    def peek(self, max_lines: int) -> Batch | None:
        """The oldest undelivered lines (at most `max_lines`, from one segment), now in
        flight until `commit` or `release`; None when nothing is pending."""
        with self._lock:
            if self._closed or self._in_flight is not None:
                return None
            self._skip_finished_segments()
            head = self._segments[0]
            if self._offset >= head.size:
                return None
            data = self._read_lines(head, self._offset, max_lines)
            batch = Batch(data, data.count(b"\n"), head.seq, self._offset,
                          self._offset + len(data))
            self._in_flight = batch
            return batch

    def _read_lines(self, segment: _Segment, start: int, max_lines: int) -> bytes:
        want = max(64 * 1024, max_lines * 512)
        with open(segment.path, "rb") as handle:
            while True:
                handle.seek(start)
                data = handle.read(min(want, segment.size - start))
                if data.count(b"\n") >= 1:
                    break
                want *= 4                 # one very long line
        if data.count(b"\n") <= max_lines:
            return data[:data.rfind(b"\n") + 1]
        end = -1
        for _ in range(max_lines):
            end = data.index(b"\n", end + 1)
        return data[:end + 1]

    def commit(self, batch: Batch) -> None:
        """`batch` was delivered: the cursor moves past it (persisted before returning)."""
        with self._lock:
            if self._closed or self._in_flight != batch:
                return                    # closed meanwhile: the next sink sends it again
            self._in_flight = None
            self._offset = batch.end
            self._head_done += batch.count
            self._skip_finished_segments()
            self._save_cursor()

    def release(self, batch: Batch) -> int:
        """`batch` was not delivered: it stays, oldest first. Returns points dropped now
        to enforce the bound (deferred while the batch was in flight)."""
        with self._lock:
            if self._in_flight != batch:
                return 0
            self._in_flight = None
            return 0 if self._closed else self._enforce_bound()

    def _skip_finished_segments(self) -> None:
        while len(self._segments) > 1 and self._offset >= self._segments[0].size:
            finished = self._segments.pop(0)
            self._offset = self._head_done = 0
            self._save_cursor()           # cursor first: a crash between leaves a file
            finished.path.unlink(missing_ok=True)   # that recovery deletes

    def _save_cursor(self) -> None:
        target = self.directory / "cursor.json"
        temporary = self.directory / "cursor.json.tmp"
        temporary.write_text(json.dumps({"segment": self._segments[0].seq,
                                         "offset": self._offset}), encoding="utf-8")
        if self._fsync:
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, target)

    # --- the bound --------------------------------------------------------------------------

    def _enforce_bound(self) -> int:
        excess = self._pending_bytes() - self.max_bytes
        if excess <= 0:
            return 0
        dropped = 0
        while excess > 0:
            head = self._segments[0]
            remaining = head.size - self._offset
            if remaining <= excess and len(self._segments) > 1:
                dropped += head.lines - self._head_done
                self._offset = head.size
                self._skip_finished_segments()
                excess -= remaining
                continue
            with open(head.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read(min(remaining, excess + 64 * 1024))
            end = 0
            while end < excess:
                newline = data.find(b"\n", end)
                if newline < 0:       # longer than what we read: drop the rest of it too
                    data += self._read_more(head, self._offset + len(data))
                    continue
                end = newline + 1
                dropped += 1
            self._offset += end
            self._head_done += data.count(b"\n", 0, end)
            excess -= end
            self._skip_finished_segments()
        self._save_cursor()
        return dropped

    def _read_more(self, segment: _Segment, start: int) -> bytes:
        with open(segment.path, "rb") as handle:
            handle.seek(start)
            return handle.read(64 * 1024)

    # --- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Syncs, and releases the lock. A batch still in flight is not committed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.fdatasync(self._fd)
            os.close(self._fd)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
