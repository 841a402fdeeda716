"""`lifeline demo`: a simulated district on loopback, the real agent on it, a scenario.

The lab (agent/demo/snmp_lab.py, agent/demo/http_lab.py) plays every polled device of the
example district: SNMP devices from recordings, the eight kiosks as HTTP health
endpoints, and a webhook receiver. The demo writes a config for it (agent/demo/district.py),
starts `lifeline run` on it as a child process, and plays the scenario, waiting each time
for the notification the agent should send:

1. a kiosk open at this hour stops answering (outage), another runs out of paper
   (kiosk health rule), both are put right (resolved);
2. the server-room UPS goes on battery and says so by trap: the alert arrives before the
   UPS's next poll. At the same time, at the CCTV control centre, a PoE switch fails and
   the twelve cameras it powers go dark (one alert, the cameras suppressed); then mains
   power is back (the UPS's trap asks for the poll that ends its alert) and the switch is
   replaced;
3. backbone switch bb-sw-1 dies with everything behind it: one alert for the switch,
   naming the devices behind it, and no alert for each of them; then all recover.

Then it stops the agent, writes next year's replacement plan (xlsx and md) and says where
everything is. Exit 0 when every expected notification arrived, 2 otherwise.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from agent.demo import district
from agent.demo.camera_lab import CameraLab
from agent.demo.district import Pace
from agent.demo.http_lab import KioskSimulator, WebhookReceiver, notifications
from agent.demo.snmp_lab import Recording, SnmpLab
from agent.status import StatusFileError, read_status
from collectors.snmp import ber

BACKBONE = "bb-sw-1"
POE_SWITCH = "cctv-poe-sw-01"
UPS = district.TRAP_SENDER
# RFC 1628: upsTrapOnBattery with upsEstimatedMinutesRemaining and upsSecondsOnBattery,
# and on mains upsTrapAlarmEntryRemoved for upsAlarmOnBattery (row 2 of the alarm table).
ON_BATTERY_TRAP = "1.3.6.1.2.1.33.2.1"
ALARM_REMOVED_TRAP = "1.3.6.1.2.1.33.2.4"
UPS_MINUTES_REMAINING = "1.3.6.1.2.1.33.1.2.3.0"
UPS_SECONDS_ON_BATTERY = "1.3.6.1.2.1.33.1.2.2.0"
UPS_ALARM_ID_2 = "1.3.6.1.2.1.33.1.6.2.1.1.2"
UPS_ALARM_DESCR_2 = "1.3.6.1.2.1.33.1.6.2.1.2.2"
UPS_ALARM_ON_BATTERY = "1.3.6.1.2.1.33.1.6.3.2"
# A trap sent this close before the UPS's scheduled poll waits for that poll first, so
# the alert cannot be mistaken for the poll's.
POLL_MARGIN_SECONDS = 5.0
KIOSK_DOWN_PREFERRED = "kiosk-district-lobby"
KIOSK_PAPER_PREFERRED = "kiosk-bnk-geumsa"
AGENT_START_SECONDS = 30.0
SUMMARY_WIDTH = 90


@dataclass
class Lab:
    """Everything the demo started, by device id."""

    snmp: SnmpLab
    traps_to: tuple[str, int] = ("127.0.0.1", 0)    # where the agent receives traps
    recordings: dict[str, str] = field(default_factory=dict)       # device -> recording
    kiosks: dict[str, KioskSimulator] = field(default_factory=dict)
    cameras: CameraLab = field(default_factory=CameraLab)
    webhook: WebhookReceiver | None = None

    def close(self) -> None:
        for kiosk in self.kiosks.values():
            kiosk.close()
        self.cameras.close()
        if self.webhook is not None:
            self.webhook.close()
        self.snmp.close()


class Progress:
    """Plain timestamped lines, flushed at once: readable on a terminal and in a log."""

    def __init__(self, out: TextIO, zone: ZoneInfo) -> None:
        self.out, self.zone, self.start = out, zone, time.monotonic()

    def say(self, text: str) -> None:
        now = datetime.now(self.zone).strftime("%H:%M:%S")
        self.out.write(f"[{now} +{time.monotonic() - self.start:5.1f}s] {text}\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self.out.write(f"    {text}\n")
        self.out.flush()


@dataclass
class Outcome:
    missing: list[str] = field(default_factory=list)

    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.missing.append(what)
        return ok


def recording(name: str, sys_name: str | None = None) -> Recording:
    overrides = {"1.3.6.1.2.1.1.5.0": (4, sys_name.encode())} if sys_name else None
    return Recording.load(district.RECORDINGS_DIR / f"{name}.snmprec", overrides)


def start_lab(directory: Path, pace: Pace, community: str
              ) -> tuple[Lab, list[dict[str, Any]]]:
    """Starts a simulator per polled device; returns the lab and the re-pointed devices."""
    lab = Lab(SnmpLab(community), traps_to=("127.0.0.1", free_udp_port()))
    lab.webhook = WebhookReceiver(directory / "webhook.jsonl")
    devices = []
    for device in district.example_devices():
        poll = device.get("poll")
        name = district.recording_for(device) if poll else None
        if poll and poll.get("protocol") == "http" and device.get("category") == "kiosk":
            kiosk = KioskSimulator(device.get("serial") or device["id"])
            lab.kiosks[device["id"]] = kiosk
            device = {**device, "poll": district.kiosk_poll(kiosk.port, pace)}
        elif poll and poll.get("protocol") == "icmp" and device.get("category") == "cctv_camera":
            device = {**device, "poll": district.camera_poll(lab.cameras.add(device["id"]),
                                                             pace)}
        elif poll and name is not None and device["id"] == UPS:
            host = district.TRAP_SENDER_HOST
            port = lab.snmp.add(device["id"], recording(name, device["id"]), host=host)
            lab.recordings[device["id"]] = name
            device = {**device, "poll": district.snmp_poll(
                port, pace, poll, host=host, interval=district.TRAP_SENDER_INTERVAL)}
        elif poll and name is not None:
            port = lab.snmp.add(device["id"], recording(name, device["id"]))
            lab.recordings[device["id"]] = name
            device = {**device, "poll": district.snmp_poll(port, pace, poll)}
        elif poll:
            device = {k: v for k, v in device.items() if k != "poll"}   # not simulated
        devices.append(device)
    return lab, devices


def free_tcp_port() -> int:
    """A TCP port free on 127.0.0.1 now, for the agent's console."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_udp_port() -> int:
    """A UDP port free on 127.0.0.1 now, for the agent's trap receiver."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(devices: list[dict[str, Any]], root: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for device in devices:
        if device.get("parent"):
            children.setdefault(device["parent"], []).append(device["id"])
    found, stack = [], list(children.get(root, ()))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, ()))
    return sorted(found)


# ---- the agent as a child process ---------------------------------------------------------

def start_agent(config_path: Path, directory: Path) -> subprocess.Popen[bytes]:
    log = (directory / "agent.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "agent.cli", "run", str(config_path)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            cwd=directory)


def stop_agent(proc: subprocess.Popen[bytes]) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def wait_polled(directory: Path, proc: subprocess.Popen[bytes], count: int,
                limit: float) -> int:
    """Waits until the agent has polled every device once; returns how many it has."""
    deadline = time.monotonic() + limit
    polled = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status = read_status(directory / "var")
        except StatusFileError:
            status = None               # being written for the first time
        polled = sum(1 for d in status.devices.values() if d.polls) if status else 0
        if polled >= count:
            break
        time.sleep(0.5)
    return polled


# ---- waiting for notifications -------------------------------------------------------------

Match = Callable[[dict[str, Any]], bool]


def alert_is(rule: str, device_id: str, event: str) -> Match:
    def match(alert: dict[str, Any]) -> bool:
        labels = alert.get("labels", {})
        return (labels.get("rule") == rule and labels.get("device_id") == device_id
                and alert.get("event") == event)
    return match


def wait_for(lab: Lab, match: Match, limit: float) -> dict[str, Any] | None:
    assert lab.webhook is not None
    deadline = time.monotonic() + limit
    while True:
        found = [a for a in notifications(lab.webhook.posts()) if match(a)]
        if found or time.monotonic() >= deadline:
            return found[0] if found else None
        time.sleep(0.2)


# ---- the scenario ----------------------------------------------------------------------------

@dataclass
class Scene:
    lab: Lab
    devices: list[dict[str, Any]]
    pace: Pace
    say: Progress
    outcome: Outcome
    zone: ZoneInfo
    state_dir: Path

    @property
    def limit(self) -> float:
        """How long a notification may take: polls to fire, a tick, a delivery, slack."""
        return 6 * self.pace.interval + 3 * self.pace.hold + 15

    def name(self, device_id: str) -> str:
        return next((d.get("name", device_id) for d in self.devices if d["id"] == device_id),
                    device_id)

    def expect(self, match: Match, what: str) -> dict[str, Any] | None:
        found = wait_for(self.lab, match, self.limit)
        self.outcome.expect(found is not None, what)
        if found is None:
            self.say.say(f"!! no {what} within {self.limit:.0f} s")
        return found

    def delivered(self, alert: dict[str, Any], extra: str = "") -> None:
        summary = alert.get("annotations", {}).get("summary", "")
        if len(summary) > SUMMARY_WIDTH:
            summary = summary[:SUMMARY_WIDTH - 1] + "…"
        self.say.say(f"alert delivered to the webhook: {alert.get('event')} "
                     f"{alert['labels'].get('rule')} ({summary}){extra}")

    def told(self, event: str, *pairs: tuple[str, str]) -> None:
        """Each (rule, device) reaches the webhook as `event` (firing or resolved), said as
        it arrives."""
        for rule, device_id in pairs:
            found = self.expect(alert_is(rule, device_id, event),
                                f"{rule} {event} for {device_id}")
            if found:
                self.delivered(found)

    def linger(self) -> None:
        if self.pace.pause:
            time.sleep(self.pace.pause)


def open_kiosks(devices: list[dict[str, Any]], zone: ZoneInfo) -> tuple[list[str], list[str]]:
    from inventory.hours import OperatingHours

    now = datetime.now(zone)
    opened: list[str] = []
    closed: list[str] = []
    for device in devices:
        if device.get("category") != "kiosk" or "poll" not in device:
            continue
        hours = device.get("operating_hours")
        is_open = not hours or OperatingHours.parse(hours).is_open(now, zone)
        (opened if is_open else closed).append(device["id"])
    return opened, closed


def pick(preferred: str, candidates: list[str], avoid: str = "") -> str:
    if preferred in candidates and preferred != avoid:
        return preferred
    return next(c for c in candidates if c != avoid)


def play_kiosks(scene: Scene) -> None:
    opened, closed = open_kiosks(scene.devices, scene.zone)
    scene.say.say(f"kiosks open now ({len(opened)}): {', '.join(opened)}")
    if closed:
        scene.say.note(f"closed now ({len(closed)}): {', '.join(closed)}: their failures "
                       "would not count until they open")
    down = pick(KIOSK_DOWN_PREFERRED, opened)
    paper = pick(KIOSK_PAPER_PREFERRED, opened, avoid=down)
    hours = {d["id"]: d.get("operating_hours") or "24h" for d in scene.devices}
    kiosks = scene.lab.kiosks
    kiosks[down].answering = False
    scene.say.say(f"kiosk {down} ({scene.name(down)}, open {hours[down]}) stopped answering")
    kiosks[paper].paper = "out"
    scene.say.say(f"kiosk {paper} ({scene.name(paper)}, open {hours[paper]}) ran out of paper")
    scene.told("firing", ("device_down", down), ("kiosk_paper_out", paper))
    scene.linger()
    kiosks[down].answering = True
    kiosks[paper].paper = "ok"
    scene.say.say(f"kiosk {down} answers again; kiosk {paper} refilled")
    scene.told("resolved", ("device_down", down), ("kiosk_paper_out", paper))


def play_power(scene: Scene) -> None:
    """The UPS on battery and, at the same time, a PoE switch dying with its cameras:
    two independent troubles played together, so the demo gets no longer."""
    snmp, cameras = scene.lab.snmp, scene.lab.cameras
    behind = [d for d in descendants(scene.devices, POE_SWITCH) if d in cameras.cameras]
    next_poll = ups_next_poll(scene)
    battery = recording("ups-battery", UPS)
    snmp.swap(UPS, battery)
    now = time.monotonic()
    snmp.send_trap(UPS, scene.lab.traps_to, ON_BATTERY_TRAP, [
        battery.get(_oid(UPS_MINUTES_REMAINING), now),
        battery.get(_oid(UPS_SECONDS_ON_BATTERY), now)])
    sent = time.monotonic()
    scene.say.say(f"UPS {UPS} ({scene.name(UPS)}): utility power lost, running on battery; "
                  f"it sends upsTrapOnBattery from {district.TRAP_SENDER_HOST}")
    snmp.set_answering(POE_SWITCH, False)
    for camera in behind:
        cameras.set_answering(camera, False)
    scene.say.say(f"PoE switch {POE_SWITCH} failed: the {len(behind)} cameras it powers "
                  "went dark with it")
    found = scene.expect(alert_is("ups_on_battery", UPS, "firing"), "ups_on_battery firing")
    if found:
        told_by_trap(scene, found, time.monotonic() - sent, next_poll)
    found = scene.expect(alert_is("device_down", POE_SWITCH, "firing"),
                         f"device_down firing for {POE_SWITCH}")
    if found:
        suppressed = found.get("suppressed") or []
        scene.delivered(found, f": 1 alert, {len(suppressed)} cameras behind it suppressed")
        scene.outcome.expect(bool(suppressed), f"cameras behind {POE_SWITCH} in its alert")
    scene.linger()
    snmp.swap(UPS, recording("ups-normal", UPS))
    snmp.send_trap(UPS, scene.lab.traps_to, ALARM_REMOVED_TRAP, [
        (_oid(UPS_ALARM_ID_2), ber.INTEGER, 2),
        (_oid(UPS_ALARM_DESCR_2), ber.OBJECT_ID, _oid(UPS_ALARM_ON_BATTERY))])
    snmp.set_answering(POE_SWITCH, True)
    for camera in behind:
        cameras.set_answering(camera, True)
    scene.say.say(f"UPS {UPS}: utility power back (its trap upsTrapAlarmEntryRemoved asks "
                  f"for the poll that sees it); PoE switch {POE_SWITCH} replaced, cameras back")
    scene.told("resolved", ("ups_on_battery", UPS), ("device_down", POE_SWITCH))


def _oid(text: str) -> bytes:
    return ber.encode_oid(ber.parse_oid(text))


def ups_next_poll(scene: Scene) -> float | None:
    """Seconds until the UPS's next scheduled poll (from the agent's status), after
    waiting for it when it is due within POLL_MARGIN_SECONDS; None when not known."""
    try:
        status = read_status(scene.state_dir)
    except StatusFileError:
        status = None
    device = status.devices.get(UPS) if status else None
    if device is None or device.next_run is None:
        return None
    interval = timedelta(seconds=device.interval)
    due = device.next_run
    now = datetime.now(due.tzinfo)
    while due < now:            # a poll since the status was written: the one after it
        due += interval
    if (due - now).total_seconds() < POLL_MARGIN_SECONDS:
        time.sleep((due - now).total_seconds() + 1.0)
        due += interval
    return (due - datetime.now(due.tzinfo)).total_seconds()


def told_by_trap(scene: Scene, alert: dict[str, Any], after: float,
                 next_poll: float | None) -> None:
    """The UPS's alert: fired by its trap (the trap's words), before its next poll."""
    summary = alert.get("annotations", {}).get("summary", "")
    by_trap = scene.outcome.expect("said by its trap" in summary,
                                   "ups_on_battery fired by the UPS's trap")
    if next_poll is None:
        when = "its next scheduled poll: not known"
    else:
        before = scene.outcome.expect(
            after < next_poll, "ups_on_battery delivered before the UPS's next poll")
        when = (f"{next_poll - after:.0f} s before the UPS's next scheduled poll" if before
                else f"!! after the UPS's next scheduled poll (due {next_poll:.0f} s after "
                     "the trap)")
    scene.delivered(alert, f": {after:.1f} s after the trap, "
                           f"{'fired by the trap' if by_trap else '!! not by the trap'}, "
                           f"{when}")


def play_backbone(scene: Scene) -> None:
    behind = [d for d in descendants(scene.devices, BACKBONE) if d in scene.lab.recordings]
    snmp = scene.lab.snmp
    for device_id in [BACKBONE, *behind]:
        snmp.set_answering(device_id, False)
    scene.say.say(f"backbone switch {BACKBONE} stopped answering, and with it the "
                  f"{len(behind)} polled devices behind it")
    found = scene.expect(alert_is("device_down", BACKBONE, "firing"),
                         f"device_down firing for {BACKBONE}")
    if found:
        suppressed = found.get("suppressed") or []
        scene.delivered(found, f": 1 alert, {len(suppressed)} devices behind it suppressed")
        scene.outcome.expect(bool(suppressed), f"devices behind {BACKBONE} in its alert")
    scene.linger()
    for device_id in [BACKBONE, *behind]:
        snmp.set_answering(device_id, True)
    scene.say.say(f"backbone switch {BACKBONE} is back")
    scene.told("resolved", ("device_down", BACKBONE))
    time.sleep(2 * scene.pace.interval + 2)      # a child's own notice would come now
    told = {a["labels"].get("device_id") for a in notifications(scene.lab.webhook.posts())
            if a["labels"].get("rule") == "device_down"} if scene.lab.webhook else set()
    leaked = sorted(told & set(behind))
    scene.outcome.expect(not leaked, f"no outage notices for the devices behind {BACKBONE} "
                                     f"(got {', '.join(leaked)})")
    scene.say.say("no separate alert for any device behind it" if not leaked
                  else f"!! devices behind it were told separately: {', '.join(leaked)}")


# ---- the plan and the closing words ----------------------------------------------------------

def write_plan(config_path: Path, directory: Path, year: int) -> list[Path]:
    from alerts.evaluation.open_store import plan_outages
    from inventory.load import load_config
    from inventory.plan import DEFAULT_REPEATED_OUTAGES, build_plan
    from inventory.plan_export import export

    config = load_config(config_path)
    outages = plan_outages(config, datetime.now(config.agent.zone), "demo")
    plan = build_plan(config.devices, config.categories, year=year, outages=outages,
                      repeated_outages=DEFAULT_REPEATED_OUTAGES)
    written = []
    for fmt in ("xlsx", "md"):
        path = directory / f"plan-{year}.{fmt}"
        path.write_bytes(export(plan, fmt, "ko"))
        written.append(path)
    return written


def command_name() -> str:
    """How the user can call `lifeline`: the bare name when it is on PATH, else the
    path of the one beside this Python (e.g. .venv/bin/lifeline), relative when shorter."""
    beside = Path(sys.executable).parent / "lifeline"
    found = shutil.which("lifeline")
    if found and Path(found).resolve() == beside.resolve():
        return "lifeline"
    if not beside.exists():
        return "lifeline"
    try:
        return str(beside.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(beside.absolute())


def closing(say: Progress, directory: Path, config_path: Path, plans: list[Path]) -> None:
    exe = command_name()
    rows = [
        ("the demo's config", str(config_path)),
        ("notifications the webhook got", str(directory / "webhook.jsonl")),
        ("outage history, availability", f"{exe} alerts {config_path} history"),
        ("alerts firing now (lifecycle)", f"{exe} alerts {config_path} list"),
        ("metrics (embedded store)", f"{exe} metrics {config_path} --device {BACKBONE} "
                                     "--since 1h"),
        ("", f"{exe} metrics {config_path} --device {UPS} --measurement ups"),
        ("the UPS's traps", f"{exe} metrics {config_path} --device {UPS} "
                            "--measurement snmp_trap"),
        *(("next year's replacement plan", str(path)) for path in plans),
        ("the agent's log", str(directory / "agent.log")),
    ]
    width = max(len(label) for label, _ in rows) + 2
    say.say("done. Where to look:")
    for label, where in rows:
        say.note(f"{label:<{width}}{where}".rstrip())


# ---- the whole demo ------------------------------------------------------------------------------

def run_demo(directory: Path | None, fast: bool, out: TextIO = sys.stdout,
             keep: bool = False) -> int:
    directory = (directory or Path(tempfile.mkdtemp(prefix="lifeline-demo-"))).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    pace = Pace.of(fast)
    zone = district.zone()
    say = Progress(out, zone)
    outcome = Outcome()
    say.say(f"Lifeline demo ({'fast' if fast else 'watchable pace'}) in {directory}")
    if forget_previous_run(directory):
        say.note("a previous demo's state, webhook file and log in this folder were removed")
    with sigterm_as_interrupt():
        return _play(directory, pace, zone, say, outcome, keep)


def _play(directory: Path, pace: Pace, zone: ZoneInfo, say: Progress, outcome: Outcome,
          keep: bool) -> int:
    lab, devices = start_lab(directory, pace, secrets.token_hex(8))
    proc: subprocess.Popen[bytes] | None = None
    try:
        assert lab.webhook is not None
        document = district.build(directory, devices, lab.webhook.url, pace,
                                  lab.traps_to[1])
        console = f"127.0.0.1:{free_tcp_port()}"     # the web console (docs/console.md)
        document["agent"]["http_listen"] = console
        config_path = district.write(directory, document, lab.snmp.community.decode())
        polled = len(lab.recordings) + len(lab.kiosks) + len(lab.cameras.cameras)
        say.say(f"simulated district on 127.0.0.1: {len(lab.recordings)} SNMP devices, "
                f"{len(lab.kiosks)} kiosks, {len(lab.cameras.cameras)} cameras (RTSP), a "
                f"webhook receiver at {lab.webhook.url}; {len(devices) - polled} more "
                "assets tracked for their lifecycle only")
        say.note(f"every device polled every {pace.interval:g} s, but the UPS {UPS}, polled "
                 f"every {district.TRAP_SENDER_INTERVAL:g} s as in the example: it says what "
                 f"happens in between by trap (from {district.TRAP_SENDER_HOST} to "
                 f"{lab.traps_to[0]}:{lab.traps_to[1]}); an outage after 2 failed polls; UPS "
                 f"and kiosk faults after {pace.hold:g} s")
        proc = start_agent(config_path, directory)
        say.say(f"agent started (`lifeline run {config_path}`, pid {proc.pid})")
        wait_console(console, proc, AGENT_START_SECONDS)    # its URL works once printed
        say.say(f"console: http://{console}/ (the board: open it now to watch the scenario; "
                + ("it stays up after the scenario until Ctrl-C)" if keep else
                   "it closes with the demo; `--keep` keeps it up after the scenario)"))
        # The UPS's first poll comes at its turn in its longer interval: not waited for.
        others = polled - 1
        seen = wait_polled(directory, proc, others, AGENT_START_SECONDS)
        if not outcome.expect(seen >= others, f"every device polled once (saw {seen}/{others})"):
            say.say(f"!! the agent polled {seen} of {others} devices; see "
                    f"{directory / 'agent.log'}")
            return _finish(say, outcome)
        say.say(f"the agent has polled all {others} devices besides the UPS; all healthy")
        scene = Scene(lab, devices, pace, say, outcome, zone, directory / "var")
        play_kiosks(scene)
        play_power(scene)
        play_backbone(scene)
        if keep:
            hold_console(say, console, proc)
    finally:
        if proc is not None:
            code = stop_agent(proc)
            say.say(f"agent stopped (exit {code}); the console at http://{console}/ with it")
        lab.close()
    plans = write_plan(config_path, directory, datetime.now(zone).year + 1)
    closing(say, directory, config_path, plans)
    return _finish(say, outcome)


def wait_console(console: str, proc: subprocess.Popen[bytes], limit: float) -> None:
    """Waits (at most `limit` s) until the agent's console accepts connections."""
    host, _, port = console.rpartition(":")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)


def hold_console(say: Progress, console: str, proc: subprocess.Popen[bytes]) -> None:
    """`--keep`: the district and the agent go on after the scenario, so the console can be
    looked at, until Ctrl-C or SIGTERM (or the agent's own end)."""
    say.say(f"the scenario is over; the district and the agent keep running: the console "
            f"at http://{console}/ stays up until Ctrl-C")

    try:
        while proc.poll() is None:
            time.sleep(0.5)
        say.say(f"!! the agent ended by itself (exit {proc.returncode})")
    except KeyboardInterrupt:       # Ctrl-C, or SIGTERM (sigterm_as_interrupt)
        pass


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo as Ctrl-C does: through the `finally` that stops its agent and
    the simulated district, never leaving them running behind it."""
    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def forget_previous_run(directory: Path) -> bool:
    """Removes what an earlier demo left in `directory` (only the demo's own files, and
    only when its config is there), so this run starts from a clean alert store."""
    if not (directory / "lifeline.yaml").is_file():
        return False
    shutil.rmtree(directory / "var", ignore_errors=True)
    for name in ("webhook.jsonl", "agent.log"):
        (directory / name).unlink(missing_ok=True)
    return True


def _finish(say: Progress, outcome: Outcome) -> int:
    if outcome.missing:
        say.say("the scenario did not play out as expected; missing:")
        for what in outcome.missing:
            say.note(f"- {what}")
        return 2
    say.say("every expected notification arrived")
    return 0


if __name__ == "__main__":          # python -m agent.demo [DIR]
    sys.exit(run_demo(Path(sys.argv[1]) if len(sys.argv) > 1 else None,
                      "--fast" in sys.argv or os.environ.get("LIFELINE_DEMO_FAST") == "1"))
