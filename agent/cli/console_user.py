"""`lifeline console-user NAME [-o USERS_FILE]`: a line for the console's users file
(`console.users_file`), `NAME:ARGON2-HASH`. The password is read from the terminal
(asked twice, not echoed) or, when stdin is not a terminal, from its first line; it is
never an argument (it would stay in the shell's history and the process list). With -o
the line is added to FILE (created 0600; an earlier line for NAME replaced), else
printed. Exit 1 for a bad name, an empty or mistyped password, or a FILE it cannot write.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from agent.cli.common import EXIT_BAD_INPUT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the user's login name")
    parser.add_argument("-o", "--users-file", type=Path, metavar="FILE",
                        help="add the line to this users file instead of printing it")


def _password() -> str | None:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        return None
    return first


def run(args: argparse.Namespace) -> int:
    from agent.web.users import entry_line

    password = _password()
    if not password:
        print("lifeline console-user: no password, or the two did not match",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        line = entry_line(args.name, password)
    except ValueError as exc:
        print(f"lifeline console-user: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.users_file is None:
        print(line)
        return 0
    try:
        _add(args.users_file, args.name, line)
    except OSError as exc:
        print(f"lifeline console-user: cannot write {args.users_file}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.users_file}: {args.name} set", file=sys.stderr)
    return 0


def _add(path: Path, name: str, line: str) -> None:
    """Replaces NAME's line (or adds one), written whole to a 0600 file."""
    try:
        kept = [old for old in path.read_text(encoding="utf-8").splitlines()
                if old.partition(":")[0] != name]
    except FileNotFoundError:
        kept = []
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join([*kept, line]) + "\n")
    temporary.replace(path)
