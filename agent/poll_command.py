"""`lifeline poll CONFIG [--device ID ...] [--json]`: one poll of every (or the named) device."""
from __future__ import annotations

import argparse
import sys

from agent.common import add_config_argument, load_or_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--device", action="append", metavar="ID", dest="devices",
                        help="poll only this device (repeatable)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per device instead of a table")


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    from agent.poll import run_poll   # imports pysnmp: only when polling

    return run_poll(config, args.devices, args.json, sys.stdout)
