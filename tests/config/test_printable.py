"""config.printable: device text shown literally, one line, nothing a terminal obeys."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from config.printable import REPLACEMENT, printable

OBEYED = {*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u061c", "\u200e", "\u200f",
          *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u2028",
          "\u2029"}


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet=st.one_of(st.sampled_from(sorted(OBEYED)), st.characters()),
               max_size=40))
def test_nothing_a_terminal_obeys_survives_and_nothing_else_changes(text: str) -> None:
    shown = printable(text)
    assert not OBEYED & set(shown)
    assert len(shown) == len(text)
    assert all(a == b for a, b in zip(text, shown, strict=True) if a not in OBEYED)
    assert printable(shown) == shown


def test_line_breaks_become_spaces_and_escapes_a_visible_mark() -> None:
    assert printable("sw-1\r\n\tcore") == "sw-1   core"
    mark = REPLACEMENT
    assert printable("\x1b]0;owned\x07x\u202e") == f"{mark}]0;owned{mark}x{mark}"
    assert printable("행정망 백본스위치 1") == "행정망 백본스위치 1"
