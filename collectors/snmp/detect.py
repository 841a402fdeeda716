"""`profile: auto`: which profile a device is, from what it says it is.

Each profile's `detect:` lists sysObjectID patterns (Datadog's `sysobjectid:`, LibreNMS's
OS discovery), some with a probe (`has:` an OID the device must answer under, for kinds
that share an agent's sysObjectID, like a NAS on net-snmp). The most specific fitting
pattern wins; probes are asked together in one request, and only when a probing
candidate outranks the best plain one. A device that fits nothing is polled as `generic`,
with a warning, so it is never silently unwatched.
"""
from __future__ import annotations

from dataclasses import dataclass

from collectors.snmp import ber, walker
from collectors.snmp.profiles import Detect, Profile, ProfileSet
from collectors.snmp.transport import Session

AUTO = "auto"
FALLBACK = "generic"
SYS_OBJECT_ID = ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 2, 0))


@dataclass(frozen=True, slots=True)
class Choice:
    """The profile chosen for a device, and why (shown by `poll`, kept in the facts)."""

    profile: Profile
    sys_object_id: str | None
    reason: str
    fitted: bool                        # False: nothing fitted, `generic` stands in


async def choose(session: Session, *, v1: bool, profiles: ProfileSet,
                 budget: walker.PollBudget) -> Choice:
    """Ask the device its sysObjectID (and the probes that decide), then choose. Raises
    SnmpError only as walker.fetch does (the device did not answer at all)."""
    fetched = await walker.fetch(session, v1=v1, scalars=(SYS_OBJECT_ID,), tables=(),
                                 budget=budget)
    value = fetched.scalars.get(SYS_OBJECT_ID)
    if value is None or value[0] != ber.OBJECT_ID or not isinstance(value[1], bytes):
        return _fallback(profiles, None, "the device has no sysObjectID")
    oid = ber.decode_oid(value[1])
    text = ".".join(map(str, oid))
    candidates = profiles.candidates(oid)
    probes = _probes_needed(candidates)
    present: set[bytes] = set()
    if probes:
        asked = await walker.fetch(
            session, v1=v1, scalars=(),
            tables=tuple(walker.TableRequest((p,), rows_hint=1, max_rows=1) for p in probes),
            budget=budget)
        present = {p for p in probes if asked.columns.get(p)}
    for profile, rule in candidates:
        if rule.has is None or rule.has in present:
            how = f" and answers under {ber.oid_text(rule.has)}" if rule.has else ""
            return Choice(profile, text, f"sysObjectID {text}{how}", fitted=True)
    return _fallback(profiles, text, f"no profile fits sysObjectID {text}")


def _probes_needed(candidates: list[tuple[Profile, Detect]]) -> tuple[bytes, ...]:
    """The probes of the candidates ranked above the first one without a probe."""
    out: list[bytes] = []
    for _, rule in candidates:
        if rule.has is None:
            break
        out.append(rule.has)
    return tuple(dict.fromkeys(out))


def _fallback(profiles: ProfileSet, sys_object_id: str | None, why: str) -> Choice:
    return Choice(profiles[FALLBACK], sys_object_id,
                  f"{why}: polled as {FALLBACK} (name a profile in poll.profile)", fitted=False)


__all__ = ["AUTO", "FALLBACK", "Choice", "choose"]
