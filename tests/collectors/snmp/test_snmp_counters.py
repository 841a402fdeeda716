"""Counter bookkeeping: wraps, resets, reboots and rows that come and go (pure logic, no
network)."""
from __future__ import annotations

from collectors.base import CounterRate
from collectors.snmp.counters import CounterTracker, CounterValue


def _octets(value: int, row: str = "1", bits: int = 64) -> CounterValue:
    field = "ifHCInOctets" if bits == 64 else "ifInOctets"
    return CounterValue("interface", row, field, "in_octets", bits, value)


def _by_row(rates: tuple[CounterRate, ...]) -> dict[str, float]:
    return {rate.row: rate.per_second for rate in rates}


def test_first_value_has_no_rate_then_rate_per_second() -> None:
    t = CounterTracker()
    assert t.rates([_octets(1000)], at=10.0) == ()
    (rate,) = t.rates([_octets(3000)], at=12.0)
    assert rate == CounterRate("interface", "1", "ifHCInOctets", "in_octets", 1000.0, False)


def test_32_bit_wrap_counts_across_the_maximum() -> None:
    t = CounterTracker()
    t.rates([_octets(2**32 - 100, bits=32)], at=0.0)
    (rate,) = t.rates([_octets(100, bits=32)], at=1.0)
    assert rate.wrapped and rate.per_second == 200.0


def test_64_bit_going_down_is_a_reset_not_a_wrap() -> None:
    t = CounterTracker()
    t.rates([_octets(5000)], at=0.0)
    assert t.rates([_octets(10)], at=1.0) == ()
    assert _by_row(t.rates([_octets(20)], at=2.0)) == {"1": 10.0}


def test_uptime_going_back_forgets_every_previous_value() -> None:
    t = CounterTracker()
    assert t.observe_uptime(5000) is False
    t.rates([_octets(4_000_000_000, bits=32)], at=0.0)
    assert t.observe_uptime(100) is True                       # rebooted
    # Without the reboot this decrease would look like a 32-bit wrap.
    assert t.rates([_octets(50, bits=32)], at=1.0) == ()
    assert t.observe_uptime(160) is False
    assert _by_row(t.rates([_octets(150, bits=32)], at=2.0)) == {"1": 100.0}


def test_time_not_going_forward_gives_no_rate() -> None:
    t = CounterTracker()
    t.rates([_octets(1000)], at=5.0)
    assert t.rates([_octets(2000)], at=5.0) == ()
    assert _by_row(t.rates([_octets(2600)], at=7.0)) == {"1": 300.0}


def test_rows_added_and_gone_keep_the_rates_of_the_others() -> None:
    t = CounterTracker()
    t.rates([_octets(100, "1"), _octets(100, "2")], at=0.0)
    # Row 3 is new (no rate yet), row 2 is gone: row 1 still has its rate.
    assert _by_row(t.rates([_octets(300, "1"), _octets(0, "3")], at=2.0)) == {"1": 100.0}
    # Row 2 comes back: not compared across the gap it was away for (it may have been reset
    # meanwhile, which a 32-bit counter would take for a wrap).
    rates = t.rates([_octets(500, "1"), _octets(900, "2"), _octets(40, "3")], at=4.0)
    assert _by_row(rates) == {"1": 100.0, "3": 20.0}


def test_the_same_counters_in_another_order_are_matched_by_key() -> None:
    t = CounterTracker()
    t.rates([_octets(100, "1"), _octets(1000, "2")], at=0.0)
    rates = t.rates([_octets(3000, "2"), _octets(200, "1")], at=1.0)
    assert _by_row(rates) == {"1": 100.0, "2": 2000.0}


def test_a_value_that_cannot_be_a_counter_is_not_kept() -> None:
    t = CounterTracker()
    t.rates([_octets(-5, "1"), _octets(2**64, "2"), _octets(2**64 - 1, "3")], at=0.0)
    rates = t.rates([_octets(10, "1"), _octets(10, "2"), _octets(2**64 - 1, "3")], at=1.0)
    assert _by_row(rates) == {"3": 0.0}


def test_devices_of_one_model_do_not_share_values() -> None:
    first, second = CounterTracker(), CounterTracker()
    first.rates([_octets(100)], at=0.0)
    second.rates([_octets(5000)], at=0.0)
    assert _by_row(first.rates([_octets(200)], at=1.0)) == {"1": 100.0}
    assert _by_row(second.rates([_octets(5500)], at=1.0)) == {"1": 500.0}


def test_a_32_bit_counter_past_32_bits_is_not_kept() -> None:
    """A device that answers a Counter32 with a wider value answered badly: no rate, and no
    negative "wrap" on the next poll."""
    t = CounterTracker()
    t.rates([_octets(2**33, "1", bits=32), _octets(2**32 - 1, "2", bits=32)], at=0.0)
    rates = t.rates([_octets(0, "1", bits=32), _octets(9, "2", bits=32)], at=1.0)
    assert _by_row(rates) == {"2": 10.0}


def test_a_counter_read_twice_in_one_poll_gives_one_rate() -> None:
    t = CounterTracker()
    t.rates([_octets(100), _octets(200)], at=0.0)
    rates = t.rates([_octets(300), _octets(600)], at=2.0)       # the first reading counts
    assert rates == (CounterRate("interface", "1", "ifHCInOctets", "in_octets", 100.0, False),)


def test_shared_layouts_are_bounded_by_their_keys(monkeypatch) -> None:
    """Rows that come and go make a new layout at each poll: the shared table starts again
    past its bound, and each tracker keeps the layout it holds."""
    from collectors.snmp import counters
    monkeypatch.setattr(counters, "_SHARED_LAYOUTS", {})
    monkeypatch.setattr(counters, "_shared_keys", 0)
    monkeypatch.setattr(counters, "SHARED_KEYS_MAX", 100)
    t = CounterTracker()
    for poll in range(50):
        rows = [str(row) for row in range(40) if row != poll % 40]    # one row missing
        rates = t.rates([_octets(poll * 10, row) for row in rows], at=float(poll))
        if poll:
            assert len(rates) == 38       # every row but the one missing now and before
        assert sum(map(len, counters._SHARED_LAYOUTS)) <= 100
