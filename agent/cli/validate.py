"""`lifeline validate CONFIG`: exit 0 with a summary, or 1 with every problem."""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import add_config_argument, load_or_report
from config.model import SecretError
from inventory.model import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    for warning in secret_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    assets = sum(d.quantity for d in config.devices)
    polled = sum(1 for d in config.devices if d.poll is not None)
    print(f"{config.path}: OK: {len(config.devices)} records ({assets:,} assets, {polled} polled), "
          f"{len(config.credentials)} credentials, {len(config.categories)} categories, "
          f"{len(config.files)} files")
    return 0


def secret_warnings(config: Config) -> list[str]:
    """Secrets that cannot be read now. Not errors: the agent may run with another
    environment; but a poll or a channel using them will fail. Values never shown."""
    named = [(f"credentials {c.name}", ref) for c in config.credentials.values()
             for ref in c.secrets()]
    named += [(f"alert channel {ch.name}", ref) for ch in config.alerts.channels
              for ref in ch.secrets()]
    if config.influxdb is not None:
        named += [("storage.influxdb", ref) for ref in config.influxdb.secrets()]
    warnings = []
    for owner, ref in named:
        try:
            ref.reveal()
        except SecretError as exc:
            warnings.append(f"{owner}: {exc}")
    return warnings
