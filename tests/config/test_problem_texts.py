"""The catalogue of problem texts (config/problem_texts.py): every kind the schema raises
and every pydantic error kind config/schema_errors.py words has an English and a Korean
template with the same values, so a new kind without Korean fails here."""
from __future__ import annotations

import string

import pytest

from config import schema
from config.messages import Message, said
from config.problem_texts import TEXTS
from config.schema_errors import WORDED


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


KINDS = sorted(schema.OWN_ERRORS | {k for kinds in WORDED.values() for k in kinds})


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_english_and_korean(kind: str) -> None:
    text = TEXTS.get(kind)
    assert text is not None, f"{kind}: no texts in config/problem_texts.py"
    if kind != "none":
        assert text.en.strip() and text.ko.strip(), kind
        assert any("\uac00" <= char <= "\ud7a3" for char in text.ko), f"{kind}: no Korean"


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_korean_uses_only_values_the_message_has(kind: str) -> None:
    """Korean may leave out an English-only value ({article}); it may use one the English
    does not (a list written the Korean way) only where the code gives both."""
    text = TEXTS[kind]
    extra = _fields(text.ko) - _fields(text.en)
    assert extra <= {"listed", "what_ko"}, (kind, extra)


def test_unknown_kind_is_refused_at_once() -> None:
    with pytest.raises(KeyError):
        Message("no_such_kind")


def test_rendering_nests_and_keeps_values_as_written() -> None:
    message = said("unknown_key", key="'{x}'", hint=said("did_you_mean", choice="'x'"))
    assert message.render("en") == "unknown key '{x}' (did you mean 'x'?)"
    assert message.render("ko") == "알 수 없는 키 '{x}' (혹시 'x'?)"
