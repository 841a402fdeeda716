"""`lifeline demo [--dir DIR] [--fast]`: a simulated district on loopback, the agent
running on it, and a scenario to watch (see agent/demo.py)."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, metavar="DIR",
                        help="write the demo's config, state, alerts and plan here "
                             "(default: a new temporary folder, kept and printed)")
    parser.add_argument("--fast", action="store_true",
                        help="play the scenario in under a minute (default: a few minutes, "
                             "at a watchable pace)")
    parser.add_argument("--keep", action="store_true",
                        help="after the scenario, keep the simulated district, the agent and "
                             "its web console running until Ctrl-C")


def run(args: argparse.Namespace) -> int:
    from agent.demo.scenario import run_demo

    return run_demo(args.dir, args.fast, keep=args.keep)
