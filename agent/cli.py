"""The `lifeline` command line.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; this module only registers them. Exit codes (contract): 0 success,
1 bad input (config, inventory, arguments), 2 runtime failure.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

EXIT_OK, EXIT_BAD_INPUT, EXIT_RUNTIME = 0, 1, 2

# name -> (module, one-line help). Every module is imported to build the help; each keeps
# its heavy imports (pysnmp, openpyxl) inside `run`, so `lifeline validate` stays light.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("agent.validate_command", "check a configuration; list every problem"),
    "inventory": ("agent.inventory_command", "devices with their lifecycle status"),
    "plan": ("agent.plan_command", "the replacement plan for a budget year"),
    "import": ("agent.import_command", "turn an asset spreadsheet (csv/xlsx) into inventory YAML"),
    "poll": ("agent.poll_command", "poll every (or the named) device once and print the results"),
    "alerts": ("agent.alerts_command", "alerts firing, ack, silence, outage history"),
    "metrics": ("agent.metrics_command", "a device's points read back from the embedded store"),
    "run": ("agent.run_command", "the agent: poll on schedule, store metrics, raise alerts"),
    "status": ("agent.status_command", "what the running agent is doing: devices, sink, alerts"),
    "demo": ("agent.demo_command", "a simulated district on loopback, the agent on it, a scenario"),
}


class _Parser(argparse.ArgumentParser):
    """Argument errors exit 1 (bad input), as the contract says, not argparse's 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lifeline", description="Infrastructure monitoring and "
                     "asset-lifecycle agent: inventory, service life, replacement plans, polling.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._module.run(args))
    except KeyboardInterrupt:
        return EXIT_RUNTIME
    except BrokenPipeError:          # `lifeline inventory ... | head`
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
