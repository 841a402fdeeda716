"""pydantic's validation errors as located problems, in our own words.

pydantic says where a value failed (`loc`, a path into the document) and why (`type`, a
stable code, with `ctx`); its English `msg` may change from one release to the next, so
it is never shown, except for the errors our own validators raise (config/schema.py's
`invalid`), whose messages are ours. The path is placed at the line where the value was
written (config/source.py); an unknown key gets a did-you-mean from the schema.
"""
from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from config import schema
from config.errors import Path_, Problem, did_you_mean, format_path, shown
from config.source import LocatedDocument

_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
           "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}


def located(doc: LocatedDocument, error: ErrorDetails) -> Problem:
    """The error as a Problem at the line where the value was written."""
    loc: Path_ = tuple(part for part in error["loc"] if not _is_internal(part))
    kind = error["type"]
    if kind == "inline_secret":
        loc = (*loc, str(_context(error)["name"]))   # point at the key holding the secret
    if kind == "extra_forbidden":
        key = loc[-1]
        hint = did_you_mean(str(key), _allowed_keys(loc[:-1]))
        return doc.problem(loc, f"unknown key {shown(key)}{hint}")
    if kind == "missing":
        return Problem(str(doc.file), doc.line_of(loc[:-1]), format_path(loc),
                       "required key is missing")
    return doc.problem(loc, message(error, loc))


def message(error: ErrorDetails, loc: Path_) -> str:
    """What is wrong with the value, in our words."""
    kind, value, context = error["type"], error.get("input"), _context(error)
    if kind in schema.OWN_ERRORS:
        return str(error["msg"])        # ours: short, and never echoing a secret
    if kind in ("literal_error", "enum"):
        choices = _choices(loc)
        return (f"must be one of {', '.join(map(str, choices))}: got {shown(value)}" if choices
                else f"not one of the allowed values: {shown(value)}")
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {context.get(key)}: got {shown(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"not a whole number: {shown(value)}"
    if kind in ("float_parsing", "float_type"):
        return f"not a number: {shown(value)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"not true or false: {shown(value)}"
    if kind == "string_type":
        return f"not text: {shown(value)}"
    if kind == "string_pattern_mismatch":
        return f"not a valid identifier or value: {shown(value)}"
    if kind == "string_too_long":
        return f"longer than {context.get('max_length')} characters"
    if kind == "list_type":
        return f"must be a list, not {type(value).__name__}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys, not {type(value).__name__}"
    return f"not a valid value here ({kind}): {shown(value)}"


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
