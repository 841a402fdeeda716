"""`lifeline repair-state CONFIG`: move the damaged stores of the state_dir aside, because
the operator asks.

Every command that uses a damaged store (empty, not SQLite, or corrupt) refuses it in one
line naming the file and exits 2, and `lifeline run` does not start: replacing it silently
would lose what it held (the alert store's memory of what was already sent, so every
firing alert would be notified again). This command is the one place that acts on it. It
checks each SQLite store in the state_dir (`alerts.db`: alert states, outbox, silences,
acks, outage history; `metrics.sqlite3`: the embedded metric store) with SQLite's
quick_check and renames each damaged one, with its `-wal` and `-shm`, to
`NAME.damaged-YYYYMMDDTHHMMSS`, saying so; the next `lifeline run` starts that store
afresh. Nothing is deleted, nothing sound is touched, a store a newer Lifeline wrote is
not damage. Refused while an agent runs on the state_dir (it holds the files open).

Exit 0 when every store is sound or was moved aside; 1 for bad input; 2 when an agent is
running, or a store could not be checked or moved.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from agent.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_RUNTIME,
    STORE_ERRORS,
    add_config_argument,
    cannot_use,
    load_or_report,
)
from agent.sinks.store import STORE_FILE
from agent.status import StatusFileError, process_alive, read_status
from alerts.evaluation.store import DB_NAME
from config.sqlite import check_integrity, move_aside

# Each store file, and what starting it afresh means for the operator.
STORES: tuple[tuple[str, str], ...] = (
    (DB_NAME, "alert states, silences, acks and outage history start empty: alerts still "
              "firing are notified again when they fire"),
    (STORE_FILE, "the embedded metric store starts empty"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_BAD_INPUT
    state_dir = Path(config.agent.state_dir)
    running = _running_agent(state_dir)
    if running is not None:
        print(f"lifeline repair-state: an agent (pid {running}) is running on {state_dir}: "
              "stop it first", file=sys.stderr)
        return EXIT_RUNTIME
    code = EXIT_OK
    now = datetime.now(config.agent.zone)
    for name, consequence in STORES:
        path = state_dir / name
        try:
            reason = check_integrity(path)
            if reason is None:
                print(f"{path}: {'sound, left as it is' if path.exists() else 'none yet'}")
                continue
            moved = move_aside(path, now)
        except STORE_ERRORS as exc:
            print(f"lifeline repair-state: {cannot_use(path, exc)}", file=sys.stderr)
            code = EXIT_RUNTIME
            continue
        print(f"{path}: damaged ({reason}): moved to {moved}; {consequence}")
    return code


def _running_agent(state_dir: Path) -> int | None:
    """The pid of an agent running on `state_dir`, from its status file; None when none
    is (or its status file cannot tell: a running agent rewrites it every few seconds)."""
    try:
        status = read_status(state_dir)
    except StatusFileError:
        return None
    if status is None or not status.agent.running or not process_alive(status.agent.pid):
        return None
    return status.agent.pid
