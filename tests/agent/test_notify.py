"""`lifeline run` under systemd's Type=notify: a real `lifeline run` talks to a real Unix
datagram socket listening where `$NOTIFY_SOCKET` says (a path, or an abstract name), as
systemd's would: READY=1 once started, WATCHDOG=1 from the health loop only while the
agent is healthy, a STATUS line saying why when it is not, STOPPING=1 on SIGTERM."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kits.waiting import PATIENCE, eventually
from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.ports import free_tcp_port


class NotifyListener:
    """A bound AF_UNIX datagram socket; `messages` are the datagrams, one dict each."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []

    def receive(self) -> None:
        try:
            while True:
                data = self.sock.recv(4096)
                fields = dict(line.split("=", 1) for line in data.decode().splitlines())
                self.messages.append(fields)
        except TimeoutError:
            pass

    def wait_for(self, what: str, key: str, value: str | None = None,
                 after: int = 0) -> int:
        """The index of the first message from `after` on with `key` (=`value`)."""
        def found() -> int | None:
            self.receive()
            for index, message in enumerate(self.messages[after:], start=after):
                if key in message and (value is None or message[key].startswith(value)):
                    return index + 1     # truthy even for the first message
            return None
        return eventually(found, what, explain=lambda: f": got {self.messages}") - 1


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a socket's path must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="ll-notify-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _health(port: int) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return dict(json.load(answer))
    except urllib.error.HTTPError as error:
        return dict(json.load(error))


def test_ready_watchdog_only_while_healthy_and_stopping(tmp_path: Path,
                                                       short_dir: Path) -> None:
    listener = NotifyListener(str(short_dir / "notify"))
    port = free_tcp_port()
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1, interval="60s"),
                          agent_extra=f"  http_listen: 127.0.0.1:{port}\n")
    # WATCHDOG_USEC of 2 s: the health loop then runs every second.
    agent = AgentProcess(config, env={"NOTIFY_SOCKET": str(short_dir / "notify"),
                                      "WATCHDOG_USEC": "2000000"}).start()
    try:
        ready = listener.wait_for("READY=1", "READY", "1")
        assert listener.messages[ready]["STATUS"] == "polling 1 devices"
        listener.wait_for("a first WATCHDOG=1", "WATCHDOG", "1", after=ready)

        # The state_dir cannot take the status file any more: the agent is unhealthy.
        status_file = agent.state_dir / "status.json"
        status_file.unlink()
        status_file.mkdir()
        sick = listener.wait_for("STATUS=unhealthy", "STATUS", "unhealthy:", after=ready)
        assert "status file" in listener.messages[sick]["STATUS"], listener.messages[sick]
        # Several health rounds pass while it stays unhealthy (/healthz counts the failed
        # writes, each a status refresh; the health loop runs more often than those).
        agent.wait_for("failed status writes", lambda: any(
            f["failures"] >= 3 for f in _health(port)["failing"]))   # type: ignore[attr-defined]

        status_file.rmdir()
        well = listener.wait_for("STATUS back to polling", "STATUS", "polling", after=sick)
        listener.wait_for("WATCHDOG=1 again", "WATCHDOG", "1", after=well)
        while_sick = listener.messages[sick + 1:well]
        assert not any("WATCHDOG" in m for m in while_sick), while_sick
    finally:
        exit_code = agent.stop(signal.SIGTERM)
    assert exit_code == 0, agent.log()
    listener.receive()
    listener.sock.close()
    assert listener.messages[-1].get("STOPPING") == "1", listener.messages
    assert "unhealthy, not feeding systemd's watchdog" in agent.log()


def test_an_abstract_notify_socket(tmp_path: Path) -> None:
    name = f"lifeline-test-{os.getpid()}-{tmp_path.name}"
    listener = NotifyListener("\0" + name)
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1, interval="60s"))
    agent = AgentProcess(config, env={"NOTIFY_SOCKET": "@" + name}).start()
    try:
        listener.wait_for("READY=1", "READY", "1")
    finally:
        exit_code = agent.stop(signal.SIGTERM)
    assert exit_code == 0, agent.log()
    listener.wait_for("STOPPING=1", "STOPPING", "1")
    # No WATCHDOG_USEC: systemd watches nothing, the agent feeds nothing.
    assert not any("WATCHDOG" in m for m in listener.messages), listener.messages
    listener.sock.close()


def test_no_notify_socket_no_messages_and_a_bad_one_is_said(tmp_path: Path) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1, interval="60s"))
    agent = AgentProcess(config, env={"NOTIFY_SOCKET": "/nonexistent/notify"}).start()
    try:
        agent.wait_polls("sw-0", 1, timeout=PATIENCE)
    finally:
        assert agent.stop() == 0, agent.log()
    assert "cannot notify systemd at /nonexistent/notify" in agent.log()
