"""A host that can go away: a network namespace of the test's own, joined to this one by a
veth pair, with an address at each end.

    with netns_host() as host:      # host.address answers pings (and host.run(...) there)
        host.down()                 # the far end's link goes down: nothing answers
        host.up()
        host.remove()               # the namespace (and the pair) deleted

Addresses come from a /30 of 10.254.0.0/16 not in use on this machine; they belong to this
namespace only and are removed at exit, whatever the test did. Nothing but the host in the
namespace is ever a target. Needs root (`ip netns`); `netns_available()` says whether the
machine allows it, so tests can skip with the reason.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import random
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_counter = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=20)


def netns_available() -> str | None:
    """None when network namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"llprobe{os.getpid()}"
    try:
        made = _ip("netns", "add", name, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"ip netns: {exc}"
    if made.returncode != 0:
        return f"ip netns add: {made.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return None


def _free_subnet() -> int:
    """The third octet of a 10.254.N.0/30 nobody on this machine uses."""
    used = _ip("-o", "addr").stdout
    for _ in range(200):
        n = random.randrange(1, 255)
        if f"10.254.{n}." not in used:
            return n
    raise RuntimeError("no free 10.254.N.0/30 for a test namespace")


@dataclass
class NetnsHost:
    """The far end of the pair: `address` is its IPv4 address, `near` ours."""

    namespace: str
    outside: str                  # our end of the veth pair
    inside: str                   # the far end, in the namespace
    address: str
    near: str
    removed: bool = False

    def run(self, argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace."""
        return subprocess.run(["ip", "netns", "exec", self.namespace, *argv],
                              capture_output=True, text=True, timeout=60,
                              **kwargs)  # type: ignore[call-overload]

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.namespace, *argv],
                                **kwargs)  # type: ignore[call-overload]

    def down(self) -> None:
        """The host stops answering: its link goes down (the namespace stays)."""
        _ip("netns", "exec", self.namespace, "ip", "link", "set", self.inside, "down")

    def up(self) -> None:
        _ip("netns", "exec", self.namespace, "ip", "link", "set", self.inside, "up")

    def remove(self) -> None:
        """The host is gone: the namespace is deleted, and the veth pair with it."""
        if not self.removed:
            _ip("netns", "del", self.namespace, check=False)
            _ip("link", "del", self.outside, check=False)   # usually gone already
            self.removed = True


def _make(n: int, index: int) -> NetnsHost:
    tag = f"{os.getpid() % 100000}{index}"
    host = NetnsHost(namespace=f"lltest{tag}", outside=f"llo{tag}", inside=f"lli{tag}",
                     address=f"10.254.{n}.2", near=f"10.254.{n}.1")
    _ip("netns", "add", host.namespace)
    try:
        _ip("link", "add", host.outside, "type", "veth", "peer", "name", host.inside)
        _ip("link", "set", host.inside, "netns", host.namespace)
        _ip("addr", "add", f"{host.near}/30", "dev", host.outside)
        _ip("link", "set", host.outside, "up")
        host.run(["ip", "addr", "add", f"{host.address}/30", "dev", host.inside], check=True)
        host.run(["ip", "link", "set", host.inside, "up"], check=True)
        host.run(["ip", "link", "set", "lo", "up"], check=True)
    except BaseException:
        host.remove()
        raise
    return host


@contextlib.contextmanager
def netns_host() -> Iterator[NetnsHost]:
    """A host in a new namespace; removed (namespace and pair) when the block ends."""
    host = _make(_free_subnet(), next(_counter))
    try:
        yield host
    finally:
        host.remove()


@contextlib.contextmanager
def empty_netns() -> Iterator[NetnsHost]:
    """A namespace with only its loopback up (no link to this one): for running a process
    with namespace-local settings such as net.ipv4.ping_group_range."""
    tag = f"{os.getpid() % 100000}{next(_counter)}"
    host = NetnsHost(namespace=f"lltest{tag}", outside="", inside="lo",
                     address="127.0.0.1", near="127.0.0.1")
    _ip("netns", "add", host.namespace)
    try:
        host.run(["ip", "link", "set", "lo", "up"], check=True)
        yield host
    finally:
        _ip("netns", "del", host.namespace, check=False)
        host.removed = True
