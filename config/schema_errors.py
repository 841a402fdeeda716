"""pydantic's validation errors as located problems, in our own words.

pydantic says where a value failed (`loc`, a path into the document) and why (`type`, a
stable code, with `ctx`); its English `msg` may change from one release to the next, so
it is never shown, except for the errors our own validators raise (config/schema.py's
`invalid`), whose messages are ours. Each becomes a `Message` of config/problem_texts.py
(WORDED says which kind for which of pydantic's), so it is said in English or Korean. The
path is placed at the line where the value was written (config/source.py); an unknown key
gets a did-you-mean from the schema.
"""
from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from config import schema
from config.errors import Path_, Problem, did_you_mean, format_path, shown
from config.messages import Message, said
from config.source import LocatedDocument

# pydantic's bounds: the context key of the bound, and our message kind.
_BOUNDS = {"greater_than_equal": ("ge", "at_least"), "greater_than": ("gt", "more_than"),
           "less_than_equal": ("le", "at_most"), "less_than": ("lt", "less_than")}
# pydantic's error kinds whose message is the value shown, and our message kind for each.
_VALUE_ONLY = {"int_parsing": "not_whole", "int_type": "not_whole",
               "int_from_float": "not_whole", "float_parsing": "not_a_number",
               "float_type": "not_a_number", "bool_parsing": "not_bool",
               "bool_type": "not_bool", "string_type": "not_text",
               "string_pattern_mismatch": "bad_identifier"}
_OF_TYPE = {"list_type": "not_a_list", "dict_type": "not_keys", "model_type": "not_keys",
            "model_attributes_type": "not_keys"}
# Every pydantic error kind worded here, and the message kinds it may become (a test
# checks each has its English and Korean texts); any other is `not_valid_here`.
WORDED: dict[str, tuple[str, ...]] = {
    "extra_forbidden": ("unknown_key", "did_you_mean"), "missing": ("missing_key",),
    "literal_error": ("one_of", "not_allowed"), "enum": ("one_of", "not_allowed"),
    "string_too_long": ("text_too_long",),
    **{kind: (ours,) for kind, (_, ours) in _BOUNDS.items()},
    **{kind: (ours,) for kind, ours in _VALUE_ONLY.items()},
    **{kind: (ours,) for kind, ours in _OF_TYPE.items()},
}


def located(doc: LocatedDocument, error: ErrorDetails) -> Problem:
    """The error as a Problem at the line where the value was written."""
    loc: Path_ = tuple(part for part in error["loc"] if not _is_internal(part))
    kind = error["type"]
    if kind == "inline_secret":
        ours = _context(error)["said"]                # point at the key holding the secret
        loc = (*loc, str(dict(ours.values)["name"]))
    if kind == "extra_forbidden":
        key = loc[-1]
        hint = did_you_mean(str(key), _allowed_keys(loc[:-1]))
        return doc.problem(loc, said("unknown_key", key=shown(key), hint=hint))
    if kind == "missing":
        return Problem(str(doc.file), doc.line_of(loc[:-1]), format_path(loc),
                       said("missing_key"))
    return doc.problem(loc, message(error, loc))


def message(error: ErrorDetails, loc: Path_) -> Message:
    """What is wrong with the value, in our words."""
    kind, value, context = error["type"], error.get("input"), _context(error)
    ours = context.get("said")
    if kind in schema.OWN_ERRORS and isinstance(ours, Message):
        return ours                     # ours: short, and never echoing a secret
    if kind in ("literal_error", "enum"):
        choices = _choices(loc)
        return (said("one_of", choices=", ".join(map(str, choices)), value=shown(value))
                if choices else said("not_allowed", value=shown(value)))
    if kind in _BOUNDS:
        key, ours_kind = _BOUNDS[kind]
        return said(ours_kind, bound=str(context.get(key)), value=shown(value))
    if kind in _VALUE_ONLY:
        return said(_VALUE_ONLY[kind], value=shown(value))
    if kind == "string_too_long":
        return said("text_too_long", limit=str(context.get("max_length")))
    if kind in _OF_TYPE:
        return said(_OF_TYPE[kind], type=type(value).__name__)
    return said("not_valid_here", kind=kind, value=shown(value))


def _context(error: ErrorDetails) -> dict[str, Any]:
    return dict(error.get("ctx") or {})


def _is_internal(part: object) -> bool:
    # pydantic adds union-branch and validator names to `loc`; keep only the data path.
    return isinstance(part, str) and (("[" in part and part.endswith("]")) or
                                      part.startswith("function-"))


def _choices(loc: Path_) -> tuple[object, ...]:
    """The values a Literal field at `loc` allows, as the schema declares them."""
    annotation = _annotation_at(loc)
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            return typing.get_args(candidate)
    return ()


def _allowed_keys(loc: Path_) -> list[str]:
    """The keys the schema allows at `loc`, for did-you-mean hints."""
    model = _unwrap(_annotation_at(loc))
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _annotation_at(loc: Path_) -> Any:
    """The schema's type annotation for the value at `loc` (None when unknown)."""
    annotation: Any = schema.ConfigFileIn
    for part in loc:
        model = _unwrap(annotation)
        if isinstance(model, type) and issubclass(model, BaseModel):
            annotation = _field(model, part)
            if annotation is None:
                return None
        elif typing.get_origin(model) is list and isinstance(part, int):
            annotation = typing.get_args(model)[0]
        elif typing.get_origin(model) is dict:
            annotation = typing.get_args(model)[1]
        else:
            return None
    return annotation


def _field(model: type[BaseModel], key: object) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional/Union to the one model, list or dict inside."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(annotation) if a is not type(None)]
            structured = [a for a in inner if typing.get_origin(a) in (list, dict)
                          or (isinstance(a, type) and issubclass(a, BaseModel))
                          or typing.get_origin(a) is typing.Annotated]
            annotation = structured[0] if structured else inner[0]
        else:
            return annotation
