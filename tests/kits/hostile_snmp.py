"""A hostile SNMP agent: values wider than their types and device text meant to deceive.

A hostile-peer fake, on purpose: no real agent sends a 6-octet TimeTicks or a 1,800-octet
INTEGER, and snmpsim refuses to encode them (its pyasn1 types check their ranges). The
demo lab's responder (agent/demo/snmp_lab.py) is a real UDP agent built on our own BER
encoder, which writes whatever number it is given, so it serves them: the collector talks
to it over loopback exactly as to a switch. The recording is an ordinary `.snmprec`
written into the test's directory; what `.snmprec` text cannot say (a number of 4,400
digits, an OID that is not one) rides in as overrides.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.demo.snmp_lab import Recording, SnmpLab
from collectors.snmp import ber

COMMUNITY = "hostile"
COMMUNITY_ENV = "LL_TEST_HOSTILE_COMMUNITY"
# ESC ] title BEL, a carriage return, a line feed and a right-to-left override.
EVIL_SYS_NAME = "sw-evil\x1b]0;owned\x07\r\nFAKE\u202eLINE"

# sysUpTime 2^40 (6 octets), ifInErrors.1 2^32+5 (5 octets led by 0x01: the "5-byte
# Counter32" of issue 12), ifHCInOctets.1 2^64+1 (9 octets led by 0x01). Port 2 is sane.
SNMPREC = """\
1.3.6.1.2.1.1.1.0|4|hostile agent
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1
1.3.6.1.2.1.1.3.0|67|1099511627776
1.3.6.1.2.1.1.5.0|4|sw-hostile
1.3.6.1.2.1.2.2.1.1.1|2|1
1.3.6.1.2.1.2.2.1.1.2|2|2
1.3.6.1.2.1.2.2.1.2.1|4|port-1
1.3.6.1.2.1.2.2.1.2.2|4|port-2
1.3.6.1.2.1.2.2.1.7.1|2|1
1.3.6.1.2.1.2.2.1.8.1|2|1
1.3.6.1.2.1.2.2.1.8.2|2|1
1.3.6.1.2.1.2.2.1.14.1|65|4294967301
1.3.6.1.2.1.2.2.1.14.2|65|3
1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551617
1.3.6.1.2.1.31.1.1.1.6.2|70|5000
"""
# ifAdminStatus.2: an INTEGER of 4,401 digits; sysObjectID: an OID ending inside a
# sub-identifier (continuation bit on its last octet).
OVERRIDES: dict[str, tuple[int, bytes | int]] = {
    "1.3.6.1.2.1.2.2.1.7.2": (ber.INTEGER, 10**4400),
    "1.3.6.1.2.1.1.2.0": (ber.OBJECT_ID, ber.encode_oid((1, 3, 6, 1, 4, 1)) + b"\x81"),
}
# What the collector should report, one per bad varbind.
BAD = ("uptime", "ifInErrors.1", "ifHCInOctets.1", "ifAdminStatus.2")


@dataclass(frozen=True, slots=True)
class HostileAgent:
    address: str              # 127.0.0.1:port
    lab: SnmpLab


@contextlib.contextmanager
def hostile_agent(folder: Path, sys_name: str | None = None) -> Iterator[HostileAgent]:
    """The hostile agent on a free loopback port, answering COMMUNITY (also exported in
    COMMUNITY_ENV for configs). `sys_name` replaces its sysName."""
    path = folder / "hostile.snmprec"
    path.write_text(SNMPREC, encoding="utf-8")
    overrides = dict(OVERRIDES)
    if sys_name is not None:
        overrides["1.3.6.1.2.1.1.5.0"] = (ber.OCTET_STRING, sys_name.encode())
    os.environ[COMMUNITY_ENV] = COMMUNITY
    lab = SnmpLab(COMMUNITY)
    try:
        port = lab.add("hostile", Recording.load(path, overrides))
        yield HostileAgent(f"127.0.0.1:{port}", lab)
    finally:
        lab.close()
