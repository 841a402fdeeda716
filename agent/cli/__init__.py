"""The `lifeline` command line.

Each subcommand lives in its own module of this package, exposing `add_arguments(parser)`
and `run(args) -> int`; this module only registers them. What several commands share is
in `common` (loading the config, dates, output files) and `table` (terminal tables).
Exit codes (contract): 0 success, 1 bad input (config, inventory, arguments), 2 runtime
failure.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from typing import Protocol

# Each module keeps its heavy imports (pysnmp, openpyxl, the scheduler) inside `run`, so
# building the parser, and `lifeline validate`, stay light.
from agent.cli import (
    alerts,
    cluster,
    completion,
    console_user,
    demo,
    import_sheet,
    inventory,
    man,
    metrics,
    plan,
    poll,
    repair_state,
    run,
    status,
    validate,
)
from agent.cli.common import EXIT_BAD_INPUT, EXIT_OK, EXIT_RUNTIME


class Command(Protocol):
    """What a command module provides."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# name -> (module, one-line help): the whole list; nothing registers itself.
COMMANDS: dict[str, tuple[Command, str]] = {
    "validate": (validate, "check a configuration; list every problem"),
    "inventory": (inventory, "devices with their lifecycle status"),
    "plan": (plan, "the replacement plan for a budget year"),
    "import": (import_sheet, "turn an asset spreadsheet (csv/xlsx) into inventory YAML"),
    "poll": (poll, "poll every (or the named) device once and print the results"),
    "alerts": (alerts, "alerts firing, ack, silence, outage history"),
    "metrics": (metrics, "a device's points read back from the embedded store"),
    "run": (run, "the agent: poll on schedule, store metrics, raise alerts"),
    "status": (status, "what the running agent is doing: devices, sink, alerts"),
    "cluster": (cluster, "a cluster's nodes, buckets and leases (cluster: only)"),
    "repair-state": (repair_state, "move damaged stores of the state_dir aside, saying so"),
    "demo": (demo, "a simulated district on loopback, the agent on it, a scenario"),
    "console-user": (console_user, "a NAME:HASH line for the console's users file"),
    "completion": (completion, "shell completion for bash or zsh, from this parser"),
    "man": (man, "the manual page lifeline(1) in roff, from this parser"),
}


def version() -> str:
    """The installed distribution's version (pyproject.toml's `version`)."""
    try:
        return installed_version("lifeline")
    except PackageNotFoundError:      # run from a checkout that was never installed
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """Argument errors exit 1 (bad input), as the contract says, not argparse's 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lifeline", description="Infrastructure monitoring and "
                     "asset-lifecycle agent: inventory, service life, replacement plans, polling.")
    parser.add_argument("--version", action="version", version=f"lifeline {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


# Set to 1 to get the traceback of an unexpected error (for a bug report) as well.
DEBUG_ENV = "LIFELINE_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return EXIT_RUNTIME
    except BrokenPipeError:          # `lifeline inventory ... | head`
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:         # a bug of ours: one line, never a traceback
        return _unexpected(args.command, exc)


def _unexpected(command: str, exc: Exception) -> int:
    """A command that failed in a way it does not handle: says so in one line (the
    exception's type only: its text may hold a value that is not ours to print) and exits
    2, the runtime-failure code; LIFELINE_DEBUG=1 adds the traceback for a bug report."""
    print(f"lifeline {command}: internal error ({type(exc).__name__}); "
          f"run again with {DEBUG_ENV}=1 for the details and report it", file=sys.stderr)
    if os.environ.get(DEBUG_ENV) == "1":
        traceback.print_exception(exc)
    return EXIT_RUNTIME
