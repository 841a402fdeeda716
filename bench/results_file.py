"""bench/RESULTS.md, one `## ` section per benchmark: `--write` replaces a benchmark's own
section (or appends it) and leaves every other section as it is."""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().with_name("RESULTS.md")


def write_section(heading: str, command: str, text: str) -> None:
    """Replace the section under `heading` (e.g. "## ICMP ping") with the reproducing
    command and `text`; append it when the file has no such section yet."""
    body = f"{heading}\n\nReproduce: `{command}`\n\n{text.rstrip()}\n"
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if heading in current:
        head, _, rest = current.partition(heading)
        tail = rest.split("\n## ", 1)
        current = head + body + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        current = current.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(current, encoding="utf-8")
