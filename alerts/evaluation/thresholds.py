"""Alert thresholds: the built-in defaults and their overrides.

Precedence, most specific first: the device's `thresholds:`, the config's
`alerts.thresholds.categories.<category>`, the config's `alerts.thresholds`, then the
defaults below. Durations are seconds (the config accepts 30s, 5m, 4h, 30d).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

from config.model import AlertSettings
from inventory.model import Device

HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Every tunable of the built-in rules. The config keys are these field names."""

    outage_polls: int = 3                 # consecutive failed polls before an outage fires
    outage_repeat: float = 4 * HOUR       # re-notify a still-firing outage
    bad_answer_for: float = 180.0         # answering badly or without data this long
    repeat: float = 4 * HOUR              # re-notify other still-firing poll alerts
    lifecycle_repeat: float = 30 * DAY    # lifecycle alerts: monthly, never every poll
    interface_down_for: float = 60.0      # a monitored uplink down this long
    interface_error_rate: float = 1.0     # errors per second on one direction of a port
    interface_discard_rate: float = 10.0  # discards per second
    ups_for: float = 30.0                 # debounces short power blips (on battery, overload)
    ups_charge_percent: float = 50.0      # low battery below this charge
    ups_minutes: float = 10.0             # ... or below this many minutes remaining
    ups_overload_percent: float = 90.0    # output load above this percent of rating
    disk_percent: float = 90.0            # a volume fuller than this (CCTV recordings)
    mem_percent: float = 90.0
    cpu_percent: float = 90.0
    cpu_for: float = 300.0                # CPU must stay high this long
    sessions_percent: float = 90.0        # a firewall's session table fuller than this
    host_for: float = 0.0                 # disk and memory
    http_for: float = 60.0                # a failing or slow check this long
    http_slow_seconds: float = 2.0
    ping_for: float = 300.0               # packet loss or latency sustained this long
    ping_loss_percent: float = 20.0       # more echoes lost than this (all lost: device_down)
    ping_latency_ms: float = 200.0        # average round trip above this
    kiosk_for: float = 60.0               # a kiosk fault (paper out, printer, card reader)
    kiosk_toner_percent: float = 10.0     # kiosk toner below this percent
    cert_days: int = 30                   # TLS certificate expiring within this many days
    flap_changes: int = 4                 # more changes than this within flap_window: flapping
    flap_window: float = 1 * HOUR
    flap_stable: float = 30 * 60.0        # quiet this long before a flapping alert settles

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


DEFAULTS = Thresholds()


def _apply(base: Thresholds, items: Iterable[tuple[str, object]]) -> Thresholds:
    known = set(Thresholds.keys())
    changes = {k: v for k, v in items if k in known and v is not None}
    return replace(base, **changes) if changes else base  # type: ignore[arg-type]


class ThresholdTable:
    """Resolves each device's thresholds once per config (cached by device id)."""

    def __init__(self, settings: AlertSettings) -> None:
        self._base = _apply(DEFAULTS, settings.thresholds)
        self._categories = {key: _apply(self._base, items)
                            for key, items in settings.category_thresholds}
        self._cache: dict[str, Thresholds] = {}

    def for_device(self, device: Device) -> Thresholds:
        found = self._cache.get(device.id)
        if found is None:
            found = _apply(self._categories.get(device.category, self._base), device.thresholds)
            self._cache[device.id] = found
        return found
