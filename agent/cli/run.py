"""`lifeline run CONFIG`: the agent, until SIGTERM or SIGINT (SIGHUP reloads the config)."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from agent.cli.common import add_config_argument, load_or_report
from agent.heap import limit_malloc_arenas
from config.private import keep_private, make_private_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--log-format", choices=("plain", "json"),
                        help="override agent.log_format")
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error"))


def run(args: argparse.Namespace) -> int:
    limit_malloc_arenas()       # before any thread starts (agent/heap.py)
    # In English, as the rest of the agent's log (stderr is the journal under systemd).
    config = load_or_report(args.config, lang="en")
    if config is None:
        return 1
    from agent.logs import configure_logging

    configure_logging(args.log_format or config.agent.log_format,
                      config.agent.zone, getattr(logging, args.log_level.upper()))
    state_dir = config.agent.state_dir
    keep_private()      # everything the agent writes is state: 0600 files, 0700 directories
    try:
        make_private_dir(state_dir)
    except OSError as exc:
        print(f"lifeline run: cannot create state_dir {state_dir}: {exc.strerror}",
              file=sys.stderr)
        return 2
    if not os.access(state_dir, os.W_OK):
        print(f"lifeline run: state_dir {state_dir} is not writable", file=sys.stderr)
        return 2
    from agent.daemon import run_agent  # imports the collectors and the scheduler

    return run_agent(config)
