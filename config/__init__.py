"""The foundation every package builds on (nothing here imports another package of ours).

Reading the configuration: `source` (YAML that remembers lines), `schema` (the pydantic
models of the file), `loader` (files, includes, validation, settings), `schema_errors`
(pydantic's errors as FILE:LINE problems), `errors`, `durations`, `expectations`
(`expect_json`), `model` (the settings records). `inventory.load` builds the inventory on
top of it.

The two helpers every store and every delivery shares: `sqlite` (opening the databases in
`agent.state_dir` one way, with schema versions and migrations) and `retry` (backoff and
`Retry-After`, for the alert outbox and the InfluxDB sink).

And the shipped files beside the code: `service_life.yaml`, `example.yaml` with its
`inventory/`, the demo's recordings, the Grafana dashboards and the systemd unit.
"""
from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """Path of a shipped file, e.g. shipped("service_life.yaml")."""
    return CONFIG_DIR / name
