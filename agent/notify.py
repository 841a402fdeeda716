"""Telling systemd how the agent is (the notify protocol of sd_notify(3), in a few lines).

Under `Type=notify` systemd passes `$NOTIFY_SOCKET`: a Unix datagram socket, a path or,
starting with "@", an abstract name. Each message is one datagram of `KEY=value` lines:

    READY=1       the agent has opened its stores and scheduled its polls
    WATCHDOG=1    sent by the agent's health loop while the agent is healthy (agent/endpoint.py
                  `health`: the status is fresh, every write to the state_dir goes through);
                  when these stop for `WatchdogSec`, systemd kills and restarts the agent
    STATUS=...    one line for `systemctl status`: what the agent does, or why it is unhealthy
    STOPPING=1    the agent is finishing its polls and flushing before it exits

Without `$NOTIFY_SOCKET` (a terminal, a container, the tests) every call does nothing. A
message that cannot be sent is logged once and never stops the agent.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("lifeline.agent")


class ServiceManager:
    """The notify socket of the service manager that started this process, if any."""

    def __init__(self, address: str | None, watchdog_seconds: float | None) -> None:
        self.address = address
        self.watchdog_seconds = watchdog_seconds
        self._failed = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServiceManager:
        """The socket in `$NOTIFY_SOCKET`, and the watchdog interval in `$WATCHDOG_USEC`
        when `$WATCHDOG_PID` is unset or this process's."""
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and not address.startswith(("/", "@")):
            log.warning("NOTIFY_SOCKET %r is not a Unix socket path or abstract name: "
                        "systemd will not hear from the agent", address)
            address = None
        return cls(address, _watchdog_seconds(env))

    @property
    def watching(self) -> bool:
        """Whether systemd expects WATCHDOG=1 messages."""
        return self.address is not None and self.watchdog_seconds is not None

    def ready(self, status: str) -> None:
        self.notify(READY="1", STATUS=status)

    def stopping(self) -> None:
        self.notify(STOPPING="1", STATUS="stopping: finishing the polls in flight")

    def watchdog(self) -> None:
        if self.watching:
            self.notify(WATCHDOG="1")

    def status(self, text: str) -> None:
        self.notify(STATUS=text)

    def notify(self, **fields: str) -> bool:
        """Sends one datagram of KEY=value lines; False when there is no socket or the
        send failed (logged the first time)."""
        if self.address is None:
            return False
        message = "\n".join(f"{key}={value.replace(chr(10), ' ')}"
                            for key, value in fields.items()).encode()
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(message, target)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify systemd at %s: %s", self.address,
                            exc.strerror or exc)
                self._failed = True
            return False
        self._failed = False
        return True


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None     # meant for another process (the one that started us)
    return int(usec) / 1_000_000
