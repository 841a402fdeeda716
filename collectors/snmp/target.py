"""Where and as whom a session polls: the agent's resolved `Address` and, for SNMPv3, the
`UsmParams`. Shared by both transports (`udp`, `_pysnmp`) and the sessions above them."""
from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from collectors.snmp.errors import SnmpConfigError, SnmpConnectionError

Address = tuple[str, int]       # numeric IPv4 address and UDP port


@dataclass(frozen=True, slots=True)
class UsmParams:
    """Resolved SNMPv3 parameters; built from SnmpCredentials at poll time."""

    user: str
    auth_protocol: str | None
    auth_key: str | None
    priv_protocol: str | None
    priv_key: str | None
    context: str

    def __repr__(self) -> str:  # the keys stay out of every repr
        return (f"UsmParams(user={self.user!r}, auth={self.auth_protocol}, "
                f"priv={self.priv_protocol}, context={self.context!r})")

    @property
    def keys(self) -> tuple[str | None, ...]:
        """What a USM user entry holds besides the name: protocols and keys."""
        return (self.auth_protocol, self.auth_key, self.priv_protocol, self.priv_key)

    @property
    def security_level(self) -> str:
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"


def address_text(address: Address) -> str:
    """'ip:port', as addresses appear in messages, tags and the engine-id registry."""
    return f"{address[0]}:{address[1]}"


async def resolve(address: str, default_port: int = 161) -> Address:
    """'host', 'host:port' or '[v6]:port' to a numeric (ip, port). IPv4 only for now."""
    host, _, port_text = address.rpartition(":") if ":" in address else (address, "", "")
    if not host:
        host, port_text = address, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise SnmpConfigError(f"bad port in address {address!r}") from None
    try:
        socket.inet_aton(host)
        return host, port
    except OSError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise SnmpConnectionError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    # AF_INET: the socket address is (ip text, port)
    return str(infos[0][4][0]), port
