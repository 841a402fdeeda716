"""Free loopback ports for the peers the fixtures start."""
from __future__ import annotations

import socket


def free_tcp_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may still take it: start soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
