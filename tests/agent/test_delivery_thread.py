"""The delivery thread: rounds every DELIVERY_EVERY_SECONDS, at once when woken (a trap),
and once more at stop."""
from __future__ import annotations

import asyncio
import threading

from agent import alerting
from agent.alerting import AlertCalls, DeliveryThread


class CountingService:
    """A stand-in for the alert service that only counts delivery rounds (the thread's
    schedule is what is tested here; the real service is tested with real channels)."""

    def __init__(self) -> None:
        self.rounds = 0
        self.traps = 0
        self.delivered = threading.Event()

    def deliver_due(self) -> None:
        self.rounds += 1
        self.delivered.set()

    def observe_trap(self, device_id: str, says: object) -> None:
        self.traps += 1

    def rows_written(self) -> int:
        return self.traps


def test_a_trap_wakes_delivery_instead_of_waiting_for_the_round(monkeypatch) -> None:
    # A round an hour away: only the wake can make a delivery happen within the test.
    monkeypatch.setattr(alerting, "DELIVERY_EVERY_SECONDS", 3600.0)
    service = CountingService()
    thread = DeliveryThread(service)  # type: ignore[arg-type]
    calls = AlertCalls(service)  # type: ignore[arg-type]
    calls.deliver_after_traps(thread.wake)
    thread.start()
    try:
        assert not service.delivered.wait(0.5), "no round is due yet"
        calls.observe_trap("ups-1", object())  # type: ignore[arg-type]
        assert service.traps == 1
        assert service.delivered.wait(30), "the trap did not wake delivery"
        assert service.rounds == 1
    finally:
        asyncio.run(thread.stop())
    assert service.rounds == 2, "stop delivers once more"


def test_without_a_wake_hook_a_trap_only_reaches_the_engine(monkeypatch) -> None:
    monkeypatch.setattr(alerting, "DELIVERY_EVERY_SECONDS", 3600.0)
    service = CountingService()
    AlertCalls(service).observe_trap("ups-1", object())  # type: ignore[arg-type]
    assert (service.traps, service.rounds) == (1, 0)


def test_rounds_come_by_themselves(monkeypatch) -> None:
    rounds = 2
    monkeypatch.setattr(alerting, "DELIVERY_EVERY_SECONDS", 0.05)
    service = CountingService()
    thread = DeliveryThread(service)  # type: ignore[arg-type]
    thread.start()
    try:
        for _ in range(rounds):
            assert service.delivered.wait(30)
            service.delivered.clear()
    finally:
        asyncio.run(thread.stop())
    assert service.rounds >= rounds + 1
