"""icmp and tcp poll keys: loaded into PollSpec, and bad ones refused at load with a
location (a port where none belongs, none where one must be, keys of another protocol)."""
from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from inventory.load import load_config


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def devices(*polls: str) -> str:
    return "devices:\n" + "".join(
        f"  - id: d{i}\n    name: d{i}\n    category: cctv_camera\n    poll: {poll}\n"
        for i, poll in enumerate(polls))


def test_icmp_and_tcp_keys_reach_the_poll_spec(write) -> None:
    path = write("main.yaml", devices(
        "{protocol: icmp, address: 127.0.0.5, count: 5, ping_interval: 500ms, timeout: 1s, "
        "interval: 30s}",
        "{protocol: icmp, address: '::1'}",
        "{protocol: icmp, address: '[::1]'}",
        "{protocol: tcp, address: '127.0.0.5:554', send: \"OPTIONS * RTSP/1.0\\r\\n\\r\\n\", "
        "expect_text: RTSP/1.0}",
    ))
    ping, bare6, bracketed6, tcp = (d.poll for d in load_config(path).devices)
    assert ping is not None and bare6 is not None and bracketed6 is not None and tcp is not None
    assert (ping.protocol, ping.address, ping.port) == ("icmp", "127.0.0.5", None)
    assert (ping.count, ping.ping_interval, ping.timeout) == (5, 0.5, 1.0)
    assert ping.deadline == pytest.approx(3.0)          # 4 x 0.5 s, then 1 s for the last
    assert (bare6.address, bare6.count, bare6.ping_interval) == ("::1", 3, 1.0)
    assert bracketed6.address == "::1"
    assert (tcp.address, tcp.port) == ("127.0.0.5", 554)
    assert tcp.send == "OPTIONS * RTSP/1.0\r\n\r\n"        # kept exactly, line ends and all
    assert tcp.expect_text == "RTSP/1.0"


@pytest.mark.parametrize(("poll", "expected"), [
    ("{protocol: tcp, address: 127.0.0.5}", "a tcp poll needs host:port"),
    ("{protocol: icmp, address: '127.0.0.5:7'}", "an icmp poll pings a host: no port"),
    ("{protocol: icmp}", "an icmp poll needs an address"),
    ("{protocol: tcp}", "a tcp poll needs an address"),
    ("{protocol: snmp, address: 127.0.0.1, credentials: c, count: 3}",
     "count is for protocol icmp only"),
    ("{protocol: tcp, address: '127.0.0.1:22', ping_interval: 1s}",
     "ping_interval is for protocol icmp only"),
    ("{protocol: icmp, address: 127.0.0.1, send: x}", "send is for protocol tcp only"),
    ("{protocol: icmp, address: 127.0.0.1, count: 10, interval: 10s}",
     "a ping takes (count - 1) x ping_interval + timeout = 11s, not less than its interval"),
    ("{protocol: ping, address: 127.0.0.1}", "icmp"),
])
def test_bad_keys_are_refused_where_they_are(write, poll: str, expected: str) -> None:
    path = write("main.yaml", "credentials:\n  c: {version: 2c, community_env: C}\n"
                 + devices(poll))
    problems = problems_of(path)
    assert any(expected in p for p in problems), problems
    assert all("main.yaml:" in p for p in problems), problems
