"""The demo's cameras: an RTSP port per camera on 127.0.0.1 that answers OPTIONS.

Every address in 127.0.0.0/8 answers a ping, so a camera on loopback cannot go dark to
ICMP. The demo checks its cameras the other way Lifeline can (`poll.protocol: tcp`,
RTSP OPTIONS, expecting `RTSP/1.0 200`), and a camera whose PoE switch dies stops
listening: connection refused, as a camera without power is refused by nobody but is
unreachable all the same. One thread serves every camera (selectors); `close()` stops it.
"""
from __future__ import annotations

import selectors
import socket
import threading
from dataclasses import dataclass, field

OPTIONS_REPLY = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n"


@dataclass
class _Camera:
    port: int
    listener: socket.socket | None = None


@dataclass
class CameraLab:
    """Cameras by device id; `set_answering(id, False)` closes its port."""

    cameras: dict[str, _Camera] = field(default_factory=dict)
    _selector: selectors.DefaultSelector = field(default_factory=selectors.DefaultSelector)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, device_id: str) -> int:
        camera = _Camera(0)
        self._listen(camera)
        self.cameras[device_id] = camera
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="demo-cameras",
                                            daemon=True)
            self._thread.start()
        return camera.port

    def set_answering(self, device_id: str, answering: bool) -> None:
        camera = self.cameras[device_id]
        with self._lock:
            if answering and camera.listener is None:
                self._listen(camera)
            elif not answering and camera.listener is not None:
                self._selector.unregister(camera.listener)
                camera.listener.close()
                camera.listener = None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for device_id in list(self.cameras):
            self.set_answering(device_id, False)
        self._selector.close()

    def _listen(self, camera: _Camera) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", camera.port))
        listener.listen(16)
        listener.setblocking(False)
        camera.port, camera.listener = listener.getsockname()[1], listener
        self._selector.register(listener, selectors.EVENT_READ, "listener")

    def _serve(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                ready = self._selector.select(timeout=0.05)
                for key, _ in ready:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        if key.data == "listener":
                            conn, _ = sock.accept()
                            conn.setblocking(False)
                            self._selector.register(conn, selectors.EVENT_READ, "client")
                        else:
                            self._answer(sock)
                    except OSError:
                        pass

    def _answer(self, conn: socket.socket) -> None:
        data = conn.recv(4096)
        if data:
            conn.sendall(OPTIONS_REPLY)
        self._selector.unregister(conn)
        conn.close()
