"""Device text made inert in each channel's markup, in one place.

An alert's summary, description, device name and instance carry what devices and
inventories say (a model or serial of `<!channel> <https://evil.example|Click>` is
possible), and a message must show it, not obey it. The lines `render` builds are single
lines without control characters already, and hold no markup of ours, so each channel
escapes whole lines:

- Slack mrkdwn: `&`, `<` and `>` become entities, as Slack's "Escaping text" asks; `<...>`
  is all its syntax for mentions (`<!channel>`, `<@U123>`) and links (`<url|text>`).
- Teams (MessageCard): its text takes Markdown and some HTML, so `&`, `<`, `>` become
  entities and Markdown's punctuation gets a backslash: emphasis, code, headings, tables
  and the parentheses of `[text](url)`, which leave no link (our own `[FIRING]` stays).
- Teams (Workflows, Adaptive Card): a TextBlock takes Markdown, a RichTextBlock's TextRun
  takes none ("Markdown is not supported", the card schema): every line is a TextRun, so
  it is shown as written and links nowhere with nothing escaped (a backslash or an entity
  would be shown as such). Mentions need `msteams.entities`, which we never send.

Mail is plain text: `render`'s lines need nothing more. JSON bodies (the webhook's `json`
format, Alertmanager) carry text as data, escaped by JSON.
"""
from __future__ import annotations

from typing import Any

_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_TEAMS = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                        **{c: "\\" + c for c in "\\`*_~#()|"}})


def slack_mrkdwn(text: str) -> str:
    """One line for a Slack mrkdwn text object: shown as written, mentioning no one."""
    return text.translate(_SLACK)


def teams_markdown(text: str) -> str:
    """One line for a Teams MessageCard text field: shown as written, linking nowhere."""
    return text.translate(_TEAMS)



def adaptive_run(text: str, **style: Any) -> dict[str, Any]:
    """One line for a Teams Adaptive Card: a TextRun (`style`: weight, color, size...),
    shown as written, linking nowhere."""
    return {"type": "TextRun", "text": text, **style}
