"""What the console changes: ack, silence, unsilence, made with the very store calls
`lifeline alerts ack|silence|unsilence` makes (alerts/evaluation/store_api.py), on the
console's own connection to the store the config uses (handling.change), each recorded
with who (the logged-in user) and when. The agent (every node of a cluster) picks them up
on its next tick, as it does the command's."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.evaluation.silences import parse_matcher
from alerts.evaluation.state import FIRING, PENDING
from alerts.evaluation.store_api import AlertStore, SilenceRecord
from config.durations import parse_duration

MAX_SILENCE_SECONDS = 90 * 86400
MAX_TEXT = 500


class ActionError(ValueError):
    """The request cannot be done as asked; the message says why (shown to the user)."""


@dataclass(frozen=True, slots=True)
class Acked:
    id: str
    rule: str
    device_id: str


def _text(value: str, what: str, required: bool = False) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise ActionError(f"{what} is required")
    if len(value) > MAX_TEXT:
        raise ActionError(f"{what} is longer than {MAX_TEXT} characters")
    return value


def ack(store: AlertStore, alert_id: str, user: str, comment: str, now: datetime) -> Acked:
    matches = [s for s in store.load_states()
               if s.fingerprint == alert_id and s.status in (FIRING, PENDING)]
    if not matches:
        raise ActionError(f"no firing or pending alert with id {alert_id[:40]!r}")
    state = matches[0]
    store.ack(state.fingerprint, now.timestamp(), user, _text(comment, "comment"))
    return Acked(state.fingerprint, state.rule, state.device_id)


def silence(store: AlertStore, matchers: list[str], duration: str, reason: str, user: str,
            now: datetime) -> SilenceRecord:
    matchers = [m.strip() for m in matchers if m.strip()]
    if not matchers:
        raise ActionError("a silence needs at least one matcher (label=value)")
    for matcher in matchers:
        try:
            parse_matcher(matcher)
        except ValueError as exc:
            raise ActionError(str(exc)) from None
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise ActionError(f"duration: {exc}") from None
    if not 0 < seconds <= MAX_SILENCE_SECONDS:
        raise ActionError("a silence lasts more than nothing and at most 90 days")
    t = now.timestamp()
    return store.add_silence(matchers, t, t + seconds, _text(reason, "reason", required=True),
                             user)


def unsilence(store: AlertStore, silence_id: str, now: datetime) -> None:
    if not store.remove_silence(silence_id, now.timestamp()):
        raise ActionError(f"no silence in force with id {silence_id[:40]!r}")
