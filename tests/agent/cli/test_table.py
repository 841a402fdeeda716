"""agent/cli/table.py: aligned columns, and no cell a terminal would obey."""
from __future__ import annotations

from agent.cli.table import display_width, render_table


def test_control_characters_in_cells_neither_reach_the_terminal_nor_break_rows() -> None:
    out = render_table(["NAME", "ALIAS"], [["sw\x1b]0;owned\x07", "up\r\nlink\u202e"],
                                           ["행정망", None]])
    lines = out.splitlines()
    assert len(lines) == 4                               # header, rule, two rows
    assert not [c for c in out if (ord(c) < 0x20 and c != "\n") or c == "\u202e"]
    assert lines[2].startswith("sw") and "up  link" in lines[2]
    # Columns still line up: ALIAS starts at the same display column in every row.
    starts = {display_width(line[:line.index(cell)])
              for line, cell in zip(lines[2:], ["up", "-"], strict=True)}
    assert starts == {display_width(lines[0][:lines[0].index("ALIAS")])}
