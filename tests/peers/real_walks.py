"""Walks of real devices (../shared/recordings/, from other projects' public test suites)
served by snmpsim on loopback.

They are third-party data: read from the shared folder at test time, copied only into a
temporary directory snmpsim can read, never into the project. Where the folder is absent
the tests that need it skip, saying why.
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from peers.snmp import serving_snmprec

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "recordings"
HOST = "127.0.0.20"

# The Windows walk has 18 sanitised OIDs ("10.xx.xx.100") that crash snmpsim's search:
# served with each `xx` as 0, as the folder's README says.
_SANITISED = re.compile(rb"\.xx(?=[.|])")


@dataclass(frozen=True, slots=True)
class RealWalks:
    """snmpsim answering every real walk at `address`; the community is the walk's name."""

    address: str
    names: tuple[str, ...]


def missing_reason() -> str | None:
    """Why the real walks cannot be served here, or None when they can."""
    if not SHARED.is_dir() or not any(SHARED.glob("*.snmprec")):
        return f"the real device walks are not here ({SHARED})"
    return None


def walks() -> Mapping[str, bytes]:
    """name -> the walk's bytes, made servable (see _SANITISED)."""
    return {path.stem: _SANITISED.sub(b".0", path.read_bytes())
            for path in sorted(SHARED.glob("*.snmprec"))}


@contextlib.contextmanager
def serving_real_walks() -> Iterator[RealWalks]:
    found = walks()
    files = {f"{name}.snmprec": content for name, content in found.items()}
    with serving_snmprec(files, [HOST], [(HOST, name) for name in found]) as port:
        yield RealWalks(f"{HOST}:{port}", tuple(found))
