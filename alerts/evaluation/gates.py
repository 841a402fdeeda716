"""What may stop an alert's notice now: the `Gates` of one state.

* silenced: a silence in force matches the alert's labels (alerts/evaluation/silences.py);
* suppressed: an ancestor's outage speaks for this one (alerts/evaluation/dependencies.py);
* acked: acknowledged this episode, so no repeats;
* quiet: the site is closed (alerts/evaluation/closures.py), so no repeats.

Silences and acks are written by `lifeline alerts` in another process: the engine reads
them again on every tick (`refresh`), and once more in any transaction that is about to
tell a firing or a repeat (`recheck`), so a silence made just before an alert fires is
never missed. Which notice the gates let through is decided by `state.next_event`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from alerts.evaluation.closures import ClosedSites
from alerts.evaluation.dependencies import Dependencies
from alerts.evaluation.silences import silencing
from alerts.evaluation.state import AlertState, Gates
from alerts.evaluation.store import SilenceRecord
from inventory.model import Device

GateRecords = tuple[Sequence[SilenceRecord], Iterable[str]]   # silences in force, acks


class Gatekeeper:
    """The gates of each state, from the silences and acks last read, the dependency
    tree and the closed sites."""

    def __init__(self, dependencies: Dependencies, closed: ClosedSites,
                 read: Callable[[float], GateRecords] | None = None) -> None:
        self._dependencies, self._closed = dependencies, closed
        self._silences: Sequence[SilenceRecord] = ()
        self._acks: set[str] = set()
        self._read = read           # the stored silences and acks at a time, if readable
        self._fresh = False         # read within the current transaction

    def refresh(self, silences: Sequence[SilenceRecord], acked: Iterable[str]) -> None:
        """The silences in force and the acknowledged fingerprints, as stored now."""
        self._silences, self._acks = silences, set(acked)

    def begin(self) -> None:
        """A new engine transaction: the next `recheck` reads the store again."""
        self._fresh = False

    def recheck(self, now: float) -> bool:
        """Reads the silences and acks again, once per transaction, before a firing or
        repeat is told; True when it read them now."""
        if self._read is None or self._fresh:
            return False
        self.refresh(*self._read(now))
        self._fresh = True
        return True

    def forget_ack(self, fingerprint: str) -> None:
        """The episode ended: its ack ends with it (the store's row is the caller's)."""
        self._acks.discard(fingerprint)

    def gates(self, state: AlertState, device: Device, labels: Mapping[str, str],
              now: float) -> Gates:
        return Gates(
            silenced=silencing(self._silences, labels) is not None,
            suppressed=self._dependencies.suppressed(state, device, now),
            acked=state.fingerprint in self._acks,
            quiet=self._closed.closed(device, now))
