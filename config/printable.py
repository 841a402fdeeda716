"""Text from devices made safe to show a person: control characters and bidi overrides out.

A device chooses its own sysName, ifAlias, model and serial, and they reach terminals,
mails and chat messages. A terminal obeys what it is sent: ESC starts sequences that
retitle the window, rewrite the screen or plant links, BEL rings, CR rewrites the line,
LF makes a table row two. Bidirectional overrides (U+202E and kin) make text read in an
order other than the one it has ("Trojan Source", CVE-2021-42574). Every function here
maps the text character for character: line breaks and tabs to a space, every other
C0/C1 control and bidi control to U+FFFD, so a person sees that something was there.
Everything else, Korean included, is kept.
"""
from __future__ import annotations

REPLACEMENT = "\ufffd"
# Characters that separate words or lines: shown as a space on one line.
_SPACES = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]

_ONE_LINE = str.maketrans({c: " " if c in _SPACES else REPLACEMENT
                           for c in (*_CONTROLS, *_SPACES, *_BIDI)})


def printable(text: str) -> str:
    """`text` as one line a terminal shows literally (a table cell, a mail subject)."""
    return text.translate(_ONE_LINE)

