"""A network fault injector for UDP tests: a relay between a client and a real agent that
slows every answer down, or stops relaying altogether after a number of answers.

It stands where the network would be, so the collector under test and the agent behind
it (snmpsim, snmpd) are both the real ones: a device that answers slowly over a long
walk, or one that goes silent in the middle of it, without a line of either changed.
Loopback only; one thread; stopped when its `with` block ends.
"""
from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class FaultyLink:
    """The relay's address (what the client polls) and what went through it."""

    address: str
    answers_relayed: int = 0
    requests_dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@contextlib.contextmanager
def faulty_link(upstream: str, *, answer_delay: float = 0.0,
                silent_after: int | None = None) -> Iterator[FaultyLink]:
    """Relays datagrams from its own loopback port to `upstream` (host:port) and the
    answers back, each answer held `answer_delay` seconds first. After `silent_after`
    answers it relays nothing more in either direction, as a device that stopped
    answering would."""
    host, port = upstream.rsplit(":", 1)
    agent = (host, int(port))
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("127.0.0.1", 0))
    link = FaultyLink(f"127.0.0.1:{front.getsockname()[1]}")
    stop = threading.Event()

    def silent() -> bool:
        return silent_after is not None and link.answers_relayed >= silent_after

    def relay() -> None:
        client: tuple[str, int] | None = None
        with selectors.DefaultSelector() as sel:
            sel.register(front, selectors.EVENT_READ)
            sel.register(back, selectors.EVENT_READ)
            while not stop.is_set():
                for key, _ in sel.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    data, source = sock.recvfrom(65535)
                    if sock is front:
                        client = source
                        if silent():
                            with link._lock:
                                link.requests_dropped += 1
                        else:
                            back.sendto(data, agent)
                    elif client is not None and not silent():
                        # Held here, one at a time: the collector has one request
                        # outstanding per device, so this is that device's latency.
                        time.sleep(answer_delay)
                        front.sendto(data, client)
                        with link._lock:
                            link.answers_relayed += 1

    thread = threading.Thread(target=relay, name="faulty-link", daemon=True)
    thread.start()
    try:
        yield link
    finally:
        stop.set()
        thread.join(timeout=5)
        front.close()
        back.close()
