"""The real agent as a peer: `lifeline run` in a subprocess, with a config written for it.

Tests talk to it the way an operator does: signals, `status.json` (what `lifeline status`
reads), its log on stderr, its HTTP endpoint.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kits.waiting import PATIENCE, eventually

ROOT = Path(__file__).resolve().parents[2]


def snmp_devices_yaml(address: str, count: int, *, interval: str = "1s", prefix: str = "sw",
                      timeout: str = "800ms", profile: str = "switch",
                      category: str = "switch") -> str:
    """`count` switch records polling the same SNMP agent (the ids tell them apart). The
    timeout is as long as a 1 s interval allows: snmpd answers in a millisecond, but a
    busy machine may hold the answer for a while, and the tests expect it to arrive."""
    return "".join(
        f"  - id: {prefix}-{i}\n    name: {prefix} {i}\n    category: {category}\n"
        f"    site: district-hall\n"
        f"    poll: {{protocol: snmp, address: \"{address}\", credentials: v2, "
        f"profile: {profile}, interval: {interval}, timeout: {timeout}, retries: 0}}\n"
        for i in range(count))


def agent_config(directory: Path, devices_yaml: str, *, agent_extra: str = "",
                 top_extra: str = "") -> Path:
    """A config with the test community credentials and the given device records."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lifeline.yaml"
    path.write_text(
        f"agent:\n  name: test-agent\n  state_dir: {directory / 'var'}\n{agent_extra}"
        "credentials:\n  v2: {version: 2c, community_env: LL_TEST_COMMUNITY}\n"
        f"{top_extra}devices:\n{devices_yaml}", encoding="utf-8")
    return path


@dataclass
class AgentProcess:
    """A running `lifeline run CONFIG`; stderr goes to a file the test can read."""

    config: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def state_dir(self) -> Path:
        return self.config.parent / "var"

    def start(self) -> AgentProcess:
        self.log_path = self.config.parent / f"agent-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "run", str(self.config), *self.args],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log_path.open("wb"),
            env={**os.environ, **self.env})
        return self

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path else ""

    def status(self) -> dict[str, Any] | None:
        """status.json as a user's script reads it (the keys are the contract)."""
        try:
            return json.loads((self.state_dir / "status.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = PATIENCE) -> Any:
        """Poll `check` until it returns something truthy; fail with the agent's log."""
        def check_alive() -> Any:
            value = check()
            if not value and self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"agent exited ({self.proc.returncode}) while waiting for "
                                     f"{what}:\n{self.log()}")
            return value
        return eventually(check_alive, what, timeout=timeout,
                          explain=lambda: f":\n{self.log()[-4000:]}")

    def wait_polls(self, device_id: str, polls: int, timeout: float = PATIENCE) -> dict[str, Any]:
        def enough() -> dict[str, Any] | None:
            status = self.status() or {}
            if self.proc is None or status.get("agent", {}).get("pid") != self.proc.pid:
                return None         # a snapshot left by an earlier run of the agent
            device = status.get("devices", {}).get(device_id)
            return device if device and device.get("polls", 0) >= polls else None
        return self.wait_for(f"{polls} polls of {device_id}", enough, timeout)

    def send(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal and wait; the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"agent did not stop on {sig.name}:\n{self.log()}") from None
