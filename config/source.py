"""YAML loading that remembers where every value was written.

PyYAML's composer (libyaml where available) gives nodes with line marks; we build the
plain Python value ourselves so that each value's path, e.g. ('devices', 3, 'acquired'),
maps to its line. Duplicate keys, which PyYAML would silently collapse, are problems.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError, Path_, Problem, format_path
from config.files import FileRefusedError, read_capped
from config.messages import Message, said

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# No configuration nests deeper than a dozen levels. Past this depth a document is refused
# with our own message, whatever limit (or none) the YAML library has of its own.
MAX_DEPTH = 100
TOO_DEEP_SAID = said("too_deep", depth=str(MAX_DEPTH))
TOO_DEEP = TOO_DEEP_SAID.render("en")


class _TooDeepError(Exception):
    """Raised while building a document nested past MAX_DEPTH."""


@dataclass(slots=True)
class LocatedDocument:
    """A parsed YAML file: its value and the line of every path in it."""

    file: Path
    value: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of `path`, or of its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def problem(self, path: Path_, message: Message) -> Problem:
        return Problem(str(self.file), self.line_of(path), format_path(path), message)


def read_text(file: Path) -> str:
    """The file as UTF-8 text, or a located ConfigError. Only a regular file of at most
    config/files.py's MAX_FILE_BYTES is read (never a device or a pipe)."""
    try:
        raw = read_capped(file)
    except FileRefusedError as exc:
        raise ConfigError([Problem(str(file), 0, "", exc.said)]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem(str(file), line, "", said("not_utf8"))]) from None


def load_located(file: Path, sections: Collection[str] = ()) -> LocatedDocument:
    """Parse one YAML file. Raises ConfigError for unreadable files and bad YAML.

    With `sections` (the top-level keys a file of this kind may have), a mapping that has
    none of them is not taken for one of ours: it is refused with one problem in general
    words, and none of its keys or values is repeated (a system file reached by mistake
    is not echoed to a terminal or a log, duplicate keys included)."""
    text = read_text(file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        document = LocatedDocument(file, None)
        problems: list[Problem] = []
        if node is not None:
            document.value = _build(loader, node, (), document, problems, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        message = (TOO_DEEP_SAID if _nested_too_deeply(text)
                   else said("malformed_yaml", why=str(exc.problem or exc.context)))
        raise ConfigError([Problem(str(file), line, "", message)]) from None
    except yaml.YAMLError as exc:
        message = (TOO_DEEP_SAID if _nested_too_deeply(text)
                   else said("malformed_yaml", why=str(exc)))
        raise ConfigError([Problem(str(file), 0, "", message)]) from None
    except (_TooDeepError, RecursionError):
        raise ConfigError([Problem(str(file), 0, "", TOO_DEEP_SAID)]) from None
    finally:
        loader.dispose()
    if sections and _foreign(document, sections):
        raise ConfigError([Problem(str(file), document.line_of(()), "",
                                   said("not_ours", sections=", ".join(sorted(sections))))])
    if problems:
        raise ConfigError(problems)
    return document


def _foreign(document: LocatedDocument, sections: Collection[str]) -> bool:
    value = document.value
    return isinstance(value, dict) and bool(value) and not any(k in sections for k in value)


def _nested_too_deeply(text: str) -> bool:
    """Whether the text nests collections more than MAX_DEPTH deep before the YAML parser
    gave up on it. Only run when parsing failed. Flow collections (`[[[...`) are counted
    in the text itself, as the parser may fail before it reports a single event for them;
    block collections from the parser's events."""
    return _flow_depth(text) > MAX_DEPTH or _event_depth(text) > MAX_DEPTH


def _flow_depth(text: str) -> int:
    """The deepest nesting of [ and { outside quotes and comments."""
    depth = deepest = 0
    quote = ""
    comment = False
    for char in text:
        if comment:
            comment = char != "\n"
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def _event_depth(text: str) -> int:
    """The deepest nesting the parser reported before it stopped."""
    depth = deepest = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > MAX_DEPTH:
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return deepest


def _build(loader: Any, node: yaml.Node, path: Path_, document: LocatedDocument,
           problems: list[Problem], open_nodes: set[int]) -> Any:
    document.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        return _scalar(loader, node)
    if len(path) >= MAX_DEPTH:
        raise _TooDeepError
    if id(node) in open_nodes:   # an alias to one of its own ancestors: &a [*a]
        problems.append(document.problem(path, said("recursive_alias")))
        return None
    open_nodes.add(id(node))
    try:
        return _collection(loader, node, path, document, problems, open_nodes)
    finally:
        open_nodes.discard(id(node))


def _collection(loader: Any, node: yaml.Node, path: Path_, document: LocatedDocument,
                problems: list[Problem], open_nodes: set[int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(document.problem(path, said("merge_key")))
                continue
            key = _scalar(loader, key_node)
            if key is None:
                problems.append(Problem(str(document.file), key_node.start_mark.line + 1,
                                        format_path(path), said("key_not_plain")))
                continue
            key = str(key) if not isinstance(key, (str, int)) else key
            if key in result:
                problems.append(Problem(str(document.file), key_node.start_mark.line + 1,
                                        format_path((*path, key)),
                                        said("duplicate_key", key=repr(key))))
                continue
            result[key] = _build(loader, value_node, (*path, key), document, problems,
                                 open_nodes)
        return result
    return [_build(loader, item, (*path, index), document, problems, open_nodes)
            for index, item in enumerate(node.value)]


_STR, _INT, _NULL, _BOOL, _TIMESTAMP = (f"tag:yaml.org,2002:{t}" for t in
                                         ("str", "int", "null", "bool", "timestamp"))
_TRUE = frozenset(("yes", "true", "on", "y"))


def _scalar(loader: Any, node: yaml.Node) -> Any:
    """The scalar's value. The common tags are converted here directly: PyYAML's generic
    constructor costs a third of the load time of a large inventory."""
    if not isinstance(node, yaml.ScalarNode):
        return None   # a complex key: reported by the caller
    tag, text = node.tag, node.value
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() in _TRUE
    if tag == _INT and text.isdigit():
        # Past Python's 4,300 digits an int cannot be made from text: kept as text, for
        # validation to say "not a whole number" at its line.
        return int(text) if len(text) <= 4000 else text
    if tag == _TIMESTAMP and len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text   # e.g. 2008-13-01: validation says "not a date" at its line
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.YAMLError, OverflowError):
        # e.g. 2008-13-01 looks like a timestamp but is not a date: keep the text so that
        # validation can say "not a date: '2008-13-01'" at the right line.
        return node.value
