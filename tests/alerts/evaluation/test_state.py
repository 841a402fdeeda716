"""The state machine alone: transitions, notices, flapping, gates. Times are plain numbers."""
from __future__ import annotations

from alerts.evaluation.rules import OUTAGE, Condition
from alerts.evaluation.state import (
    FIRING,
    INACTIVE,
    PENDING,
    AlertState,
    Gates,
    clear,
    fingerprint,
    hold,
    next_event,
    ready,
    record_sent,
    ripen,
    settle,
)
from alerts.evaluation.thresholds import Thresholds
from alerts.model import Severity

T = Thresholds(outage_polls=3, flap_changes=4, flap_window=3600, flap_stable=1800)


def cond(rule: str = OUTAGE, for_seconds: float = 0.0, repeat: float = 3600.0) -> Condition:
    return Condition(rule=rule, kind="outage", severity=Severity.CRITICAL, device_id="d1",
                     for_seconds=for_seconds, repeat=repeat, summary="d1 down")


OPEN = Gates()          # nothing gates the notice


def step(state: AlertState, now: float, gates: Gates = OPEN) -> str | None:
    """ripen if due, then emit what is due; returns the event."""
    if ready(state, now, T):
        ripen(state, now, T)
    event = next_event(state, gates, now)
    if event:
        record_sent(state, event, now)
    return event


def test_fingerprint_is_stable_and_distinct():
    assert fingerprint("device_down", "sw1") == fingerprint("device_down", "sw1", "")
    assert fingerprint("interface_down", "sw1", "ge-0/0/1") != fingerprint(
        "interface_down", "sw1", "ge-0/0/2")
    import hashlib
    expected = hashlib.sha256(b"device_down\0sw1\0").hexdigest()[:16]
    assert fingerprint("device_down", "sw1") == expected      # not Python's salted hash()


def test_outage_fires_after_n_polls_once_and_resolves_once():
    s = AlertState.new(cond())
    events = []
    for i in range(5):
        hold(s, cond(), i * 60)
        events.append(step(s, i * 60))
    assert events == [None, None, "firing", None, None]
    assert s.status == FIRING and s.polls == 5
    clear(s, 400, T)
    assert step(s, 400) == "resolved" and s.status == INACTIVE
    assert step(s, 460) is None


def test_pending_that_clears_says_nothing():
    s = AlertState.new(cond())
    hold(s, cond(), 0)
    hold(s, cond(), 60)
    assert s.status == PENDING
    clear(s, 120, T)
    assert step(s, 120) is None and not s.live


def test_for_duration_rule():
    c = cond(rule="ups_on_battery", for_seconds=30)
    s = AlertState.new(c)
    hold(s, c, 0)
    assert step(s, 0) is None
    hold(s, c, 29)
    assert step(s, 29) is None
    assert step(s, 30) == "firing"


def test_repeat_after_interval_not_before_and_ack_stops_it():
    s = AlertState.new(cond(repeat=3600))
    for i in range(3):
        hold(s, cond(repeat=3600), i)
    assert step(s, 2) == "firing"
    assert step(s, 3500) is None
    assert step(s, 3602) == "repeat"
    assert step(s, 7203, Gates(acked=True)) is None
    assert step(s, 7203, Gates(quiet=True)) is None
    clear(s, 8000, T)
    assert step(s, 8000, Gates(acked=True)) == "resolved"     # ack stops repeats only


def test_silenced_firing_is_not_told_nor_its_recovery():
    s = AlertState.new(cond())
    for i in range(3):
        hold(s, cond(), i)
    assert step(s, 3, Gates(silenced=True)) is None
    clear(s, 10, T)
    assert step(s, 10) is None


def test_silence_started_after_firing_still_gets_the_recovery():
    s = AlertState.new(cond())
    for i in range(3):
        hold(s, cond(), i)
    assert step(s, 3) == "firing"
    assert step(s, 5000, Gates(silenced=True)) is None        # no repeat while silenced
    clear(s, 5001, T)
    assert step(s, 5001, Gates(silenced=True)) == "resolved"


def test_silence_expiring_while_firing_tells_then():
    s = AlertState.new(cond())
    for i in range(3):
        hold(s, cond(), i)
    assert step(s, 3, Gates(silenced=True)) is None
    assert step(s, 100) == "firing"


def test_flapping_one_notice_then_quiet_then_final_recovery():
    s = AlertState.new(cond())
    events: list[str | None] = []
    now = 0.0
    for _ in range(4):            # fire and resolve four times: 8 changes
        for _ in range(3):
            hold(s, cond(), now)
            events.append(step(s, now))
            now += 60
        clear(s, now, T)
        events.append(step(s, now))
        now += 60
    told = [e for e in events if e]
    # firing, resolved, firing, resolved (4 changes), then the 5th change flaps: one notice
    assert told == ["firing", "resolved", "firing", "resolved", "firing"]
    assert s.flapping and s.status == INACTIVE and s.notified
    assert not settle(s, now + 1000, T)
    assert step(s, now + 1000) is None
    assert settle(s, now + 1800, T) and step(s, now + 1800) == "resolved"


def test_suppressed_is_not_told_until_free():
    s = AlertState.new(cond())
    for i in range(3):
        hold(s, cond(), i)
    assert step(s, 3, Gates(suppressed=True)) is None
    assert s.status == FIRING
    assert step(s, 4) == "firing"


def test_notification_ids_are_unique_and_stable():
    s = AlertState.new(cond())
    for i in range(3):
        hold(s, cond(), i)
    ids = [record_sent(s, "firing", 3), record_sent(s, "resolved", 4)]
    assert ids == [f"{s.fingerprint}:firing:1", f"{s.fingerprint}:resolved:2"]


def test_json_round_trip_keeps_everything():
    s = AlertState.new(cond())
    for i in range(3):
        hold(s, cond(), i)
    step(s, 3)
    again = AlertState.from_json(s.to_json())
    assert again == s


def _flap(s: AlertState, now: float, times: int, events: list[str | None]) -> float:
    """`times` outages of 3 polls a minute apart, each followed by a recovery."""
    for _ in range(times):
        for _ in range(3):
            hold(s, cond(), now)
            events.append(step(s, now))
            now += 60
        clear(s, now, T)
        events.append(step(s, now))
        now += 60
    return now


def test_a_recovery_after_a_long_stable_outage_is_a_resolved_not_a_flap():
    """Issue 13 (1): after flapping settled in a long outage, the recovery is one
    change of a new count, told at once as `resolved`."""
    s = AlertState.new(cond())
    events: list[str | None] = []
    now = _flap(s, 0.0, 2, events)            # 4 changes
    for _ in range(3):                        # the 5th: flapping, one notice
        hold(s, cond(), now)
        events.append(step(s, now))
        now += 60
    assert s.flapping and [e for e in events if e][-1] == "firing"
    now += 1800                               # down and stable for flap_stable
    settle(s, now, T)
    assert not s.flapping and step(s, now) is None
    clear(s, now, T)
    assert not s.flapping and step(s, now) == "resolved"


def test_old_changes_do_not_count_after_the_state_held_for_flap_stable():
    s = AlertState.new(cond())
    events: list[str | None] = []
    now = _flap(s, 0.0, 2, events)            # 4 changes, not flapping yet
    now += 1800                               # stable: the count starts again
    now = _flap(s, now, 1, events)
    assert not s.flapping
    assert [e for e in events if e] == ["firing", "resolved"] * 3


def test_a_flap_that_starts_on_a_recovery_is_never_told_as_a_firing():
    t = Thresholds(outage_polls=3, flap_changes=3, flap_window=3600, flap_stable=1800)
    s = AlertState.new(cond())
    now, told = 0.0, []
    for change in range(4):                   # fire, resolve, fire, resolve: the 4th flaps
        if change % 2 == 0:
            for _ in range(3):
                hold(s, cond(), now)
                now += 1
            ripen(s, now, t)
        else:
            clear(s, now, t)
        event = next_event(s, OPEN, now)
        if event:
            told.append(event)
            record_sent(s, event, now)
    assert s.flapping and s.status == INACTIVE
    assert told == ["firing", "resolved", "firing"]          # nothing at the flap
    assert settle(s, now + 1800, t) and next_event(s, OPEN, now + 1800) == "resolved"
