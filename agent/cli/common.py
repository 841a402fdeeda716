"""What several commands share: loading the config with errors printed, dates, output,
and saying in one line why a store in the state_dir cannot be used."""
from __future__ import annotations

import argparse
import gc
import locale
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from agent.cli.progress import Progress
from agent.heap import release_free_memory
from config.dates import in_window, outside_window
from config.errors import ConfigError, shown
from config.sqlite import DamagedDatabase, SchemaError
from inventory.load import load_config
from inventory.model import Config

if TYPE_CHECKING:       # the module opens stores: only its error type is named here
    from alerts.evaluation.open_store import AlertStoreUnavailableError

EXIT_OK, EXIT_BAD_INPUT, EXIT_RUNTIME = 0, 1, 2
MAX_HORIZON_YEARS = 30          # plan --horizon, and inventory --horizon in months

# What a store that cannot be used raises: a file another version wrote, a damaged one,
# one SQLite cannot read or write, a state_dir that is not a directory.
STORE_ERRORS = (SchemaError, sqlite3.Error, OSError)


class CommandError(Exception):
    """A command cannot go on; `exit_code` says whether the input or the run was at fault."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", type=Path, help="the configuration YAML")


LANGS = ("ko", "en")


def add_lang_argument(parser: argparse.ArgumentParser) -> None:
    """`--lang ko|en` for person-facing text (the contract: default the config's
    `agent.lang`, else the locale)."""
    parser.add_argument("--lang", choices=LANGS, default=None,
                        help="language of headers, labels and messages (default: the "
                             "config's agent.lang, else the locale: ko for a Korean locale)")


def resolve_lang(chosen: str | None, config: Config | None = None) -> str:
    """The language to write in: `--lang`, else the config's agent.lang, else the locale."""
    if chosen:
        return chosen
    if config is not None and config.agent.lang:
        return config.agent.lang
    return locale_lang()


def locale_lang() -> str:
    """ko when the user's locale is Korean (LC_ALL, LC_MESSAGES, LANG, or the process's),
    else en."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    current = locale.getlocale(locale.LC_CTYPE)[0] or ""
    return "ko" if current.lower().startswith("ko") else "en"


def load_or_report(path: Path, progress: Progress | None = None,
                   lang: str | None = None) -> Config | None:
    """The config, or None after printing every problem to stderr in `lang` (`--lang`;
    None: as `problems_lang` chooses). `progress`: a line that says the config is loading
    (a large inventory takes seconds), erased after."""
    if progress is not None:
        progress.phase(f"loading {path.name}")
    try:
        config = load_config(path)
    except ConfigError as exc:
        if progress is not None:
            progress.close()
        report_problems(path, exc, problems_lang(lang, exc))
        return None
    # The config lives as long as the command: keep the cyclic collector from rescanning
    # its (possibly millions of) objects while the command works.
    gc.freeze()
    release_free_memory()       # what the load made and dropped (agent/heap.py)
    return config


def problems_lang(chosen: str | None, exc: ConfigError) -> str:
    """The language of a configuration's problems: `--lang`, else the `agent.lang` its
    main file gives (when that much could be read), else the locale."""
    return chosen or exc.lang or locale_lang()


def report_problems(path: Path, exc: ConfigError, lang: str) -> None:
    """Every problem as `FILE:LINE: field.path: message` in `lang`, then how many, on
    stderr."""
    print(exc.text(lang), file=sys.stderr)
    print(nothing_loaded(path, len(exc.problems), lang), file=sys.stderr)


def nothing_loaded(path: Path, count: int, lang: str) -> str:
    """The line after a configuration's problems."""
    if lang == "ko":
        return f"{path}: 문제 {count}건, 아무것도 읽지 않았습니다"
    return f"{path}: {count} problem{'s' if count != 1 else ''}; nothing was loaded"


def today(config: Config) -> date:
    """Today in the agent's timezone (Asia/Seoul by default), not the machine's."""
    return datetime.now(config.agent.zone).date()


def parse_date_argument(text: str) -> date:
    """A date in the window the configuration's dates are in (config/dates.py)."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {shown(text)} (write YYYY-MM-DD)"
                                         ) from None
    if not in_window(value):
        raise argparse.ArgumentTypeError(outside_window(value, written=False))
    return value


def whole_number(low: int, high: int, unit: str) -> Callable[[str], int]:
    """An argparse `type`: a whole number of `unit` from `low` to `high`, e.g. a horizon
    of at most MAX_HORIZON_YEARS years, which is as far as any budget looks."""
    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(
                f"not a whole number of {unit} from {low} to {high}: {shown(text)}")
        return int(text)
    return parse


# Output formats (contract): every command that prints data takes `--format`.
TABLE, JSON, CSV, JSONL = "table", "json", "csv", "jsonl"
DATA_FORMATS = (TABLE, JSON, CSV)
STREAM_FORMATS = (TABLE, JSON, CSV, JSONL)     # jsonl: one object per line as each comes


def add_format_argument(parser: argparse.ArgumentParser,
                        formats: tuple[str, ...] = DATA_FORMATS, *, default: str = TABLE,
                        json_alias: str | None = None) -> None:
    """`--format` with `formats`; `json_alias` is what the older `--json` flag of a command
    that had one stands for (kept so scripts go on working)."""
    parser.add_argument("--format", choices=formats, default=default,
                        help=f"output format (default {default})")
    if json_alias is not None:
        parser.add_argument("--json", dest="format", action="store_const", const=json_alias,
                            help=f"the same as --format {json_alias}")


@contextmanager
def text_output(path: Path | None) -> Iterator[TextIO]:
    """stdout, or the UTF-8 file at `path` (written whole: a failure leaves no partial file)."""
    if path is None:
        yield sys.stdout
        return
    with _whole_file(path) as temporary, \
            open(temporary, "w", encoding="utf-8", newline="") as handle:
        yield handle


@contextmanager
def binary_output(path: Path | None) -> Iterator[BinaryIO]:
    """stdout's bytes, or the file at `path` (written whole, as `text_output`)."""
    if path is None:
        yield sys.stdout.buffer
        return
    with _whole_file(path) as temporary, open(temporary, "wb") as handle:
        yield handle


@contextmanager
def _whole_file(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed to it when the block succeeds and removed
    when it fails; an OSError becomes a CommandError (exit 2) naming the file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        yield temporary
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {exc.strerror}", 2) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def cannot_use(path: Path, exc: BaseException) -> str:
    """One line for a store that cannot be used (STORE_ERRORS), without a traceback."""
    return f"cannot use {path}: {_reason(path, exc)}"


def alert_store_unusable(exc: AlertStoreUnavailableError, lang: str) -> str:
    """One line for the alert store this config uses (alerts/evaluation/open_store.py): a
    SQLite file's troubles in the words every command uses for them (`cannot_use`), the
    cluster's PostgreSQL's in `lang`, without the DSN."""
    return exc.said(lang) if exc.path is None else cannot_use(exc.path, exc.cause)


def _reason(path: Path, exc: BaseException) -> str:
    if isinstance(exc, DamagedDatabase) and exc.path == path:
        return exc.detail
    if not isinstance(exc, OSError) or not exc.strerror:
        return str(exc)
    if path.parent.exists() and not path.parent.is_dir():
        return f"the state_dir {path.parent} is not a directory"
    if exc.filename and Path(exc.filename) != path:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror
