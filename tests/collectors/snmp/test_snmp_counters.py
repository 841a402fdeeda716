"""Counter bookkeeping: wraps, resets and reboots (pure logic, no network)."""
from __future__ import annotations

from collectors.snmp.counters import CounterTracker


def test_first_value_has_no_rate_then_rate_per_second() -> None:
    t = CounterTracker()
    assert t.update("interface", "1", "ifHCInOctets", "in_octets", 64, 1000, at=10.0) is None
    rate = t.update("interface", "1", "ifHCInOctets", "in_octets", 64, 3000, at=12.0)
    assert rate is not None and rate.per_second == 1000.0 and not rate.wrapped


def test_32_bit_wrap_counts_across_the_maximum() -> None:
    t = CounterTracker()
    t.update("interface", "1", "ifInOctets", "in_octets", 32, 2**32 - 100, at=0.0)
    rate = t.update("interface", "1", "ifInOctets", "in_octets", 32, 100, at=1.0)
    assert rate is not None and rate.wrapped and rate.per_second == 200.0


def test_64_bit_going_down_is_a_reset_not_a_wrap() -> None:
    t = CounterTracker()
    t.update("interface", "1", "ifHCInOctets", "in_octets", 64, 5000, at=0.0)
    assert t.update("interface", "1", "ifHCInOctets", "in_octets", 64, 10, at=1.0) is None
    assert t.update("interface", "1", "ifHCInOctets", "in_octets", 64, 20, at=2.0).per_second == 10


def test_uptime_going_back_forgets_every_previous_value() -> None:
    t = CounterTracker()
    assert t.observe_uptime(5000) is False
    t.update("interface", "1", "ifInOctets", "in_octets", 32, 4_000_000_000, at=0.0)
    assert t.observe_uptime(100) is True                       # rebooted
    # Without the reboot this decrease would look like a 32-bit wrap.
    assert t.update("interface", "1", "ifInOctets", "in_octets", 32, 50, at=1.0) is None
