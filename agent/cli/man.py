"""`lifeline man`: the manual page lifeline(1) in roff, generated from the parser (see
`agent.cli.completion`). `lifeline man | man -l -` reads it; the wheel installs the same
page as share/man/man1/lifeline.1 (docs/lifeline.1, kept current by a test)."""
from __future__ import annotations

import argparse
import sys

from agent.cli.completion import manpage, read_parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments."""


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(manpage(read_parser()))
    return 0
