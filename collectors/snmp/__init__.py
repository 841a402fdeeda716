"""SNMP collection: profiles as data, a cheap v1/v2c path, pysnmp for v3.

Public API:
- `SnmpCollector(credentials, *, profiles=None, max_in_flight=256)` and
  `SnmpCollector.from_config(config)`, a `collectors.base.Collector`.
- `load_profiles(directory=PROFILE_DIR) -> ProfileSet`, raising `ProfileError`.
"""
from __future__ import annotations

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profiles import PROFILE_DIR, Profile, ProfileError, ProfileSet, load_profiles

__all__ = ["PROFILE_DIR", "Profile", "ProfileError", "ProfileSet",
           "SnmpCollector", "load_profiles"]
