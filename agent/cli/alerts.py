"""`lifeline alerts CONFIG [list | ack ID | silence MATCHER... --for D --reason TEXT |
unsilence ID | history [--device ID]]`; `list` and `history` take `--format
table|json|csv` (`list --json` is the older spelling of `--format json`).

Works on the alert store the config uses (alerts/evaluation/open_store.py), while the
agent runs in another process: `state_dir/alerts.db` (SQLite WAL and a busy timeout), or
with `cluster:` the cluster's PostgreSQL, every node's alerts. Acks and silences written
here are picked up by the agent's (every node's) next tick. `list` and `history` only
read: they create, migrate or change nothing (no store yet: no alerts). Exit 0; 1 for bad
input (unknown id, malformed matcher, bad duration); 2 when the store cannot be used
(written by another version of Lifeline, not a database, a state_dir that is not a
directory, PostgreSQL down or refusing), said in one line without the DSN.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from agent.cli.common import (
    CSV,
    EXIT_BAD_INPUT,
    EXIT_RUNTIME,
    JSON,
    TABLE,
    add_config_argument,
    add_format_argument,
    add_lang_argument,
    alert_store_unusable,
    load_or_report,
    resolve_lang,
)
from agent.cli.table import render_csv, render_table
from agent.cli.words import word, words
from agent.status import firing_json
from config.durations import format_duration, parse_duration
from inventory.model import Config

if TYPE_CHECKING:       # imported when run: `lifeline --help` stays quick
    from alerts.evaluation.open_store import AlertStoreUnavailableError
    from alerts.evaluation.store_api import AlertStore, Outage, SilenceRecord

AVAILABILITY_DAYS = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.set_defaults(format=TABLE)       # `lifeline alerts CONFIG` alone lists
    actions = parser.add_subparsers(dest="action", metavar="ACTION",
                                    parser_class=type(parser))
    listing = actions.add_parser("list", help="alerts firing or pending, and silences")
    add_format_argument(listing, json_alias=JSON)
    add_lang_argument(listing)
    ack = actions.add_parser("ack", help="acknowledge an alert: no more repeats this episode")
    ack.add_argument("id", metavar="ID", help="the alert id (a prefix of at least 4 characters)")
    ack.add_argument("--reason", default="", help="why (shown in list)")
    ack.add_argument("--author", default=None, help="who (default: the login name)")
    silence = actions.add_parser("silence", help="silence alerts matching every MATCHER")
    silence.add_argument("matchers", metavar="MATCHER", nargs="+",
                         help="label=value, label!=value, label=~regex or label!~regex "
                              "(labels: device_id, site, category, kind, rule, severity, ...)")
    silence.add_argument("--for", dest="duration", required=True, type=_duration,
                         metavar="DURATION", help="how long, e.g. 2h, 30m, 1d")
    silence.add_argument("--reason", required=True, help="why (kept with the silence)")
    silence.add_argument("--author", default=None, help="who (default: the login name)")
    unsilence = actions.add_parser("unsilence", help="lift a silence before it ends")
    unsilence.add_argument("id", metavar="ID", help="the silence id shown by list")
    history = actions.add_parser("history", help="outages and availability over 30 days")
    history.add_argument("--device", metavar="ID", help="one device's outages")
    add_format_argument(history)
    add_lang_argument(history)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_BAD_INPUT
    from alerts.evaluation.open_store import AlertStoreUnavailableError, changing, reading
    from alerts.evaluation.silences import parse_matcher

    if args.action == "silence":
        try:
            for text in args.matchers:
                parse_matcher(text)
        except ValueError as exc:
            return _bad(str(exc))
    if (args.action == "history" and args.device
            and args.device not in {d.id for d in config.devices}):
        return _bad(f"unknown device id: {args.device}")
    action = args.action or "list"
    try:
        if action in _READERS:
            with reading(config, CLIENT) as found:
                return _READERS[action](config, found, args)
        with changing(config, CLIENT) as store:
            return _WRITERS[action](config, store, args)
    except AlertStoreUnavailableError as exc:
        return _cannot_use(exc, resolve_lang(getattr(args, "lang", None), config))


CLIENT = "alerts command"       # the PostgreSQL session's application_name says it


def _cannot_use(exc: AlertStoreUnavailableError, lang: str) -> int:
    """One line, exit 2."""
    print(f"lifeline alerts: {alert_store_unusable(exc, lang)}", file=sys.stderr)
    return EXIT_RUNTIME


def _bad(message: str) -> int:
    print(f"lifeline alerts: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"a silence needs a positive duration, not {text!r}")
    return seconds


def _when(epoch: float | None, zone: ZoneInfo) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M")


# ---- list -----------------------------------------------------------------------------

def _list(config: Config, store: AlertStore | None, args: argparse.Namespace) -> int:
    from alerts.evaluation.report import StoredAlerts, read_alerts

    zone = config.agent.zone
    now = datetime.now(zone)
    # No store: no agent ran with this state_dir yet, so no alerts.
    alerts = StoredAlerts.none() if store is None else read_alerts(config, store, now)
    acks = {} if store is None else store.acks()
    silences = [] if store is None else store.silences(now.timestamp())
    if args.format == JSON:
        document = {**firing_json(alerts.status),
                    "pending": [{"id": s.fingerprint, "rule": s.rule, "device_id": s.device_id,
                                 "instance": s.instance, "polls": s.polls}
                                for s in alerts.pending],
                    "silences": [_silence_json(s, zone) for s in silences]}
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    # CSV is for programs: English words whatever the language, like the JSON.
    lang = "en" if args.format == CSV else resolve_lang(args.lang, config)
    rows: list[list[object]] = []
    for alert in alerts.status.firing:
        flags = [word(name, lang) for name, on in (
            ("suppressed", alert.suppressed), ("silenced", alert.silenced),
            ("acked", alert.acked), ("flapping", alert.flapping),
            ("site closed", alert.closed)) if on]
        ack = acks.get(alert.id)
        if ack is not None:
            by = (f"{ack.author} 확인" if lang == "ko" else f"acked by {ack.author}")
            flags[flags.index(word("acked", lang))] = by + (
                f": {ack.reason}" if ack.reason else "")
        rows.append([alert.id, word("firing", lang), word(alert.severity, lang),
                     alert.device_id, alert.rule, alert.instance or None,
                     alert.since.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                     ", ".join(flags) or None])
    for s in alerts.pending:
        polls = f"{s.polls}회 수집" if lang == "ko" else f"{s.polls} polls"
        rows.append([s.fingerprint, word("pending", lang), word(s.severity, lang), s.device_id,
                     s.rule, s.instance or None, _when(s.active_since, zone), polls])
    headers = ["ID", "STATE", "SEVERITY", "DEVICE", "RULE", "INSTANCE", "SINCE", "NOTE"]
    if args.format == CSV:     # the alerts only; silences are in the table and the JSON
        sys.stdout.write(render_csv([h.lower() for h in headers], rows))
        return 0
    if rows:
        print(render_table(words(headers, lang), rows), end="")
    else:
        print("발생 중이거나 대기 중인 경보 없음" if lang == "ko"
              else "no alerts firing or pending")
    if silences:
        print()
        print(render_table(words(["SILENCE", "MATCHERS", "UNTIL", "AUTHOR", "REASON"], lang),
                           [[s.id, " ".join(s.matchers), _when(s.ends, zone), s.author, s.reason]
                            for s in silences]), end="")
    return 0


def _silence_json(s: SilenceRecord, zone: ZoneInfo) -> dict[str, object]:
    return {"id": s.id, "matchers": list(s.matchers), "starts": _when(s.starts, zone),
            "ends": _when(s.ends, zone), "author": s.author, "reason": s.reason}


# ---- ack, silence, unsilence --------------------------------------------------------------

def _author(args: argparse.Namespace) -> str:
    if args.author:
        return str(args.author)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _ack(config: Config, store: AlertStore, args: argparse.Namespace) -> int:
    wanted = args.id.strip().lower()
    if len(wanted) < 4:
        return _bad(f"alert id {args.id!r} is too short: give at least 4 characters")
    matches = [s for s in store.load_states()
               if s.fingerprint.startswith(wanted) and s.status in ("firing", "pending")]
    if not matches:
        return _bad(f"no firing or pending alert with id {args.id!r} (see `lifeline alerts "
                    f"{args.config} list`)")
    if len(matches) > 1:
        return _bad(f"alert id {args.id!r} is ambiguous: "
                    + ", ".join(s.fingerprint for s in matches))
    state = matches[0]
    store.ack(state.fingerprint, datetime.now(config.agent.zone).timestamp(), _author(args),
              args.reason)
    print(f"acknowledged {state.fingerprint} ({state.rule} on {state.device_id}): no repeats "
          "until it resolves; the recovery is still sent")
    return 0


def _silence(config: Config, store: AlertStore, args: argparse.Namespace) -> int:
    zone = config.agent.zone
    now = datetime.now(zone).timestamp()
    record = store.add_silence(args.matchers, now, now + args.duration, args.reason,
                               _author(args))
    print(f"silence {record.id}: {' '.join(record.matchers)} for "
          f"{format_duration(args.duration)}, until {_when(record.ends, zone)}")
    return 0


def _unsilence(config: Config, store: AlertStore, args: argparse.Namespace) -> int:
    if not store.remove_silence(args.id, datetime.now(config.agent.zone).timestamp()):
        return _bad(f"no silence in force with id {args.id!r}")
    print(f"silence {args.id} lifted")
    return 0


# ---- history ------------------------------------------------------------------------------

def _history(config: Config, store: AlertStore | None, args: argparse.Namespace) -> int:
    zone = config.agent.zone
    now = datetime.now(zone)
    since = (now - timedelta(days=AVAILABILITY_DAYS)).timestamp()
    outages = [] if store is None else store.outages(args.device, since=since)
    if args.format != TABLE:
        return _history_data(args, outages, since, now.timestamp(), zone)
    lang = resolve_lang(args.lang, config)
    ko = lang == "ko"
    if args.device:
        rows = [[_when(o.started, zone), _when(o.ended, zone) or word("ongoing", lang),
                 format_duration(round((o.ended or now.timestamp()) - o.started))]
                for o in outages]
        if rows:
            print(render_table(words(["START", "END", "DURATION"], lang), rows), end="")
        else:
            print(f"{args.device}: 최근 {AVAILABILITY_DAYS}일간 장애 없음" if ko
                  else f"{args.device}: no outages in the last {AVAILABILITY_DAYS} days")
        availability = f"{_availability(outages, since, now.timestamp()):.3f}%"
        print(f"{args.device}: 최근 {AVAILABILITY_DAYS}일 가용률 {availability}" if ko
              else f"{args.device}: availability over {AVAILABILITY_DAYS} days {availability}")
        return 0
    by_device: dict[str, list[Outage]] = {}
    for outage in outages:
        by_device.setdefault(outage.device_id, []).append(outage)
    totals: list[list[object]] = [
        [device_id, len(items), format_duration(round(_down(items, since, now.timestamp()))),
         f"{_availability(items, since, now.timestamp()):.3f}%"]
        for device_id, items in sorted(by_device.items())]
    if not totals:
        print(f"최근 {AVAILABILITY_DAYS}일간 장애 없음" if ko
              else f"no outages in the last {AVAILABILITY_DAYS} days")
        return 0
    headers = [*words(["DEVICE", "OUTAGES", "DOWN"], lang),
               f"가용률 ({AVAILABILITY_DAYS}일)" if ko
               else f"AVAILABILITY ({AVAILABILITY_DAYS} d)"]
    print(render_table(headers, totals, right_aligned=(1, 2, 3)), end="")
    return 0


def _history_data(args: argparse.Namespace, outages: Sequence[Outage], since: float,
                  until: float, zone: ZoneInfo) -> int:
    """`history --format json|csv`: one device's outages, or each device's totals."""
    def iso(epoch: float | None) -> str | None:
        return None if epoch is None else datetime.fromtimestamp(epoch, zone).isoformat()

    if args.device:
        rows: list[list[object]] = [
            [args.device, iso(o.started), iso(o.ended), round((o.ended or until) - o.started)]
            for o in outages]
        headers = ["device_id", "started", "ended", "duration_seconds"]
        document: dict[str, object] = {
            "device_id": args.device, "days": AVAILABILITY_DAYS,
            "availability_percent": round(_availability(outages, since, until), 3),
            "outages": [dict(zip(headers[1:], row[1:], strict=True)) for row in rows]}
    else:
        by_device: dict[str, list[Outage]] = {}
        for outage in outages:
            by_device.setdefault(outage.device_id, []).append(outage)
        headers = ["device_id", "outages", "down_seconds", "availability_percent"]
        rows = [[device_id, len(items), round(_down(items, since, until)),
                 round(_availability(items, since, until), 3)]
                for device_id, items in sorted(by_device.items())]
        document = {"days": AVAILABILITY_DAYS,
                    "devices": [dict(zip(headers, row, strict=True)) for row in rows]}
    if args.format == CSV:
        sys.stdout.write(render_csv(headers, rows))
    else:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def _down(outages: Sequence[Outage], since: float, until: float) -> float:
    """Seconds down within [since, until], outages clipped to the window."""
    return sum((max(0.0, min(o.ended or until, until) - max(o.started, since))
                for o in outages), 0.0)


def _availability(outages: Sequence[Outage], since: float, until: float) -> float:
    return 100.0 * (1 - _down(outages, since, until) / (until - since))


_READERS: dict[str, Callable[[Config, AlertStore | None, argparse.Namespace], int]] = {
    "list": _list, "history": _history}
_WRITERS: dict[str, Callable[[Config, AlertStore, argparse.Namespace], int]] = {
    "ack": _ack, "silence": _silence, "unsilence": _unsilence}
