"""Where the agent's points go: InfluxDB through a disk spool, or the embedded SQLite store.

    sink = open_sink(config)     # storage.influxdb set: InfluxSink; else EmbeddedStore
    sink.write(samples)          # durable when it returns; thread-safe; no network wait
    sink.stats()                 # SinkStats (for `lifeline status`)
    sink.close(timeout=10.0)     # flush what can go; the rest stays on disk for next time

Both keep their files under `config.agent.state_dir`: `spool/` for InfluxDB,
`metrics.sqlite3` for the embedded store.
"""
from __future__ import annotations

from pathlib import Path

from agent.sinks.base import Sink, SinkStats
from agent.sinks.influx import InfluxSink, RetryPolicy
from agent.sinks.spool import Spool, SpoolError
from agent.sinks.store import STORE_FILE, EmbeddedStore
from inventory.model import Config

__all__ = ["Sink", "SinkStats", "SpoolError", "open_sink", "spool_dir", "store_path"]


def spool_dir(config: Config) -> Path:
    return Path(config.agent.state_dir) / "spool"


def store_path(config: Config) -> Path:
    return Path(config.agent.state_dir) / STORE_FILE


def open_sink(config: Config, *, retry: RetryPolicy | None = None) -> Sink:
    """The sink the config asks for, with what an earlier run left on disk recovered.

    Raises SpoolError if another process holds the spool (two agents on one state_dir)."""
    zone = config.agent.zone
    settings = config.influxdb
    if settings is None:
        return EmbeddedStore(store_path(config), config.agent.retention_days, zone=zone)
    spool = Spool(spool_dir(config), settings.spool_max_bytes)
    return InfluxSink(settings, spool, retry=retry, zone=zone)
