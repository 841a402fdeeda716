"""Shipped YAML: service-life defaults, the example configuration, the demo lab."""
from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """Path of a shipped YAML file, e.g. shipped("service_life.yaml")."""
    return CONFIG_DIR / name
