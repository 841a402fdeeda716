"""The console's board at scale: 10,000 devices (100 sites, a kiosk with opening hours in
each), 500 of them down (firing device_down, 50 of those behind a down parent), server
time to build and render the board page and its JSON (/api/v1/board), and the page's size.
Targets (issue 16): under 1 s of server time, under 1 MB.

In-process, as the console's route runs it (agent/web/pages.py `board`): the alert store
read (alerts/web/alert_rows.py, what `lifeline alerts list` reads), the board record, the
jinja2 page; the JSON answer of the same board is measured beside it in the same run as
the reference. Times are the median of --rounds.

    .venv/bin/python bench/bench_console.py [--devices 10000] [--down 500] [--write]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_file import write_section

from agent.web.access import Viewer
from agent.web.alert_rows import read_rows
from agent.web.api import board_json
from agent.web.board import build_board
from agent.web.pages import _ENV
from agent.web.words import say
from alerts.evaluation.state import FIRING, AlertState, fingerprint
from alerts.evaluation.store import Store
from inventory.load import load_config

SECTION = "## Console board"


def _config(folder: Path, devices: int) -> Path:
    lines = ["agent: {name: bench, state_dir: " + str(folder / "var") + "}",
             "credentials: {v2: {version: 2c, community_env: BENCH_COMMUNITY}}", "devices:"]
    for i in range(devices):
        site = f"site-{i % 100:02d}"
        extra = ', operating_hours: "Mon-Fri 09:00-18:00"' if i < 100 else ""
        parent = f", parent: dev-{i - 1}" if i % 10 == 1 and i < 100 * 10 else ""
        lines.append(f"  - {{id: dev-{i}, name: Device {i}, category: switch, site: {site},"
                     f" acquired: 2020-01-01{extra}{parent}, poll: {{protocol: icmp,"
                     f" address: 10.0.{i // 250}.{i % 250 + 1}}}}}")
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _down(folder: Path, down: int, now: float) -> None:
    store = Store(folder / "var" / "alerts.db")
    states = []
    # The first 50 pairs: a parent and its child both down (the child suppressed).
    ids = [f"dev-{i}" for i in range(0, 100 * 10, 10)][:50]
    ids += [f"dev-{i}" for i in range(1, 100 * 10, 10)][:50]
    ids += [f"dev-{i}" for i in range(2000, 2000 + down - len(ids))]
    for device_id in ids:
        states.append(AlertState(
            fingerprint=fingerprint("device_down", device_id), rule="device_down",
            kind="outage", severity="critical", device_id=device_id, status=FIRING,
            active_since=now - 600, fired_at=now - 590, notified=True,
            summary=f"{device_id}: unreachable", summary_ko=f"{device_id}: 응답 없음"))
    with store.transaction():
        store.save_states(states, now)
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--down", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        config = load_config(_config(folder, args.devices))
        now = datetime.now(config.agent.zone)
        _down(folder, args.down, now.timestamp())
        page_times, json_times = [], []
        html = body = ""
        for _ in range(args.rounds):
            started = time.perf_counter()
            store = Store.read_only(folder / "var" / "alerts.db")
            rows = read_rows(config, store, now)
            board = build_board(config, None, rows, now)
            html = _ENV.get_template("board.html").render(
                lang="ko", t=partial(say, lang="ko"), viewer=Viewer("alice", True),
                csrf="x" * 43, path="/", here="/", agent_name="bench", refresh=5.0,
                when=lambda v: v.strftime("%Y-%m-%d %H:%M:%S") if v else "-", board=board)
            page_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            rows = read_rows(config, store, now)
            body = json.dumps(board_json(build_board(config, None, rows, now), "ko"))
            json_times.append(time.perf_counter() - started)
            assert store is not None
            store.close()
        shown = len(board.problems)
    page_s, json_s = statistics.median(page_times), statistics.median(json_times)
    size = len(html.encode("utf-8"))
    text = (f"{args.devices:,} devices in 100 sites, {args.down} down ({shown} on the board, "
            f"{board.suppressed} suppressed behind a down parent), median of {args.rounds}:\n\n"
            "| what | server time | size |\n|---|---:|---:|\n"
            f"| board page (store read + board + jinja2) | {page_s * 1000:.0f} ms | "
            f"{size / 1024:.0f} KiB |\n"
            f"| /api/v1/board (same board as JSON) | {json_s * 1000:.0f} ms | "
            f"{len(body.encode()) / 1024:.0f} KiB |\n\n"
            "Targets: under 1 s and 1 MB: "
            f"{'met' if page_s < 1 and size < 1_000_000 else 'NOT met'}.")
    print(text)
    if args.write:
        write_section(SECTION, ".venv/bin/python bench/bench_console.py --write", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
