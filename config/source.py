"""YAML loading that remembers where every value was written.

PyYAML's parser (libyaml where available) gives events with line marks; we build the
plain Python value from them ourselves, without PyYAML's node tree (which costs several
times the value's memory on a 30,000-device inventory), so that each value's path, e.g.
('devices', 3, 'acquired'), maps to its line. Duplicate keys, which PyYAML would silently
collapse, are problems.
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
# Aliases may repeat at most this many times the values a document writes (and any
# document 100,000 values): past it, a few lines of aliases to aliases (the "billion
# laughs") would make validation walk billions of values.
ALIAS_RATIO = 10
ALIAS_FLOOR = 100_000


@dataclass(slots=True)
class LocatedDocument:
    """A parsed YAML file: its value and where each path in it was written.

    `lines` holds a path's line only where it differs from its parent path's line (a
    device's fields written on their own lines are kept, a flow mapping's are not);
    line_of() finds every path's line through its ancestors."""

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
    document = LocatedDocument(file, None)
    problems: list[Problem] = []
    try:
        document.value = _Builder(loader, document, problems).document_value()
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
    except RecursionError:
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


# Marks what a mapping waits for: its next key, or the value of a key that is refused.
_KEY_NEXT = object()
_KEY_REFUSED = object()
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(slots=True)
class _Open:
    """A collection being built from the parser's events."""

    value: dict[Any, Any] | list[Any]
    path: Path_
    line: int
    kept: bool        # False for one built only for the anchors in it (a refused key or its value)
    anchor: str | None
    key: Any = _KEY_NEXT   # a mapping's: its next key, the key whose value is next, or refused
    size: int = 1          # values in it, itself included, aliases counted as what they repeat
    height: int = 1        # levels of collections, itself included, through aliases too


@dataclass(slots=True)
class _Anchored:
    value: Any
    plain: bool       # a scalar, which may be a key
    open: bool        # a collection whose end is not reached yet: an alias to it is recursive
    merge: bool = False    # the merge key `<<`, which an alias to it is as well
    size: int = 1          # as _Open's, once the collection is closed
    height: int = 0


class _Builder:
    """The document's value, built straight from the parser's events, and the line of each
    path in it. No node tree is made: for a 30,000-device inventory the tree took 220 MiB
    for a moment, and the pools it freed kept the agent's memory high for good.

    A line is recorded only where it differs from the line of the path's parent: a device
    written on one line (`- {id: a, poll: {...}}`) is one entry, and `line_of` finds the
    same line for each of its fields. An alias gives the anchored value itself (shared, as
    PyYAML does), located at the alias."""

    def __init__(self, loader: Any, document: LocatedDocument, problems: list[Problem]):
        self.loader = loader
        self.document = document
        self.problems = problems
        self.anchors: dict[str, _Anchored] = {}
        self.stack: list[_Open] = []
        self.written = 0        # values the document writes
        self.repeated = 0       # values its aliases repeat

    def document_value(self) -> Any:
        loader = self.loader
        loader.get_event()                               # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()                               # document start
        first = loader.peek_event()
        value = self._value()
        loader.get_event()                               # document end
        if not loader.check_event(yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream", first.start_mark,
                "but found another document", loader.get_event().start_mark)
        return value

    def _value(self) -> Any:
        stack, get_event = self.stack, self.loader.get_event
        while True:
            event = get_event()
            line = event.start_mark.line + 1
            top = stack[-1] if stack else None
            is_key = top is not None and top.key is _KEY_NEXT and isinstance(top.value, dict)
            if isinstance(event, yaml.CollectionEndEvent):
                done = stack.pop()
                size, height = done.size, done.height
                if done.anchor is not None:
                    anchored = self.anchors[done.anchor]
                    anchored.open, anchored.size, anchored.height = False, size, height
                item: Any = done.value
                if not stack:
                    return item
                top = stack[-1]
                if isinstance(top.value, dict) and top.key is _KEY_NEXT:
                    top.key = _KEY_REFUSED          # a collection as a key, reported at its start
                    continue
            else:
                path, kept = self._slot(top, is_key)
                if kept and not is_key and (top is None or line != top.line):
                    self.document.lines[path] = line
                if isinstance(event, yaml.CollectionStartEvent):
                    self._open(event, top, path, line, kept and not is_key, is_key)
                    continue
                if isinstance(event, yaml.AliasEvent):
                    item, plain, tag, size, height = self._alias(event, path, line,
                                                                 kept and not is_key)
                else:
                    tag = event.tag
                    if tag is None or tag == "!":
                        tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                    item, plain, size, height = _scalar(self.loader, tag, event), True, 1, 0
                    self.written += 1
                    self._anchor(event, item, plain=True, open_=False, merge=tag == _MERGE)
                if is_key:
                    assert top is not None and isinstance(top.value, dict)
                    top.key = self._key(top, item if plain else None, tag, line)
                    continue
                if top is None:
                    return item
            top = stack[-1]
            top.size += size
            if height >= top.height:
                top.height = height + 1
            self._add(top, item)

    def _slot(self, top: _Open | None, is_key: bool) -> tuple[Path_, bool]:
        """The path of the value that starts now, and whether it is kept."""
        if top is None:
            return (), True
        if isinstance(top.value, list):
            return (*top.path, len(top.value)), top.kept
        if is_key:
            return top.path, top.kept
        return (*top.path, top.key), top.kept and top.key is not _KEY_REFUSED

    def _open(self, event: Any, top: _Open | None, path: Path_, line: int, kept: bool,
              is_key: bool) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self._too_deep(line, path)
        self.written += 1
        if is_key and top is not None and top.kept:
            self.problems.append(self._at(line, top.path, said("key_not_plain")))
        value: dict[Any, Any] | list[Any] = (
            {} if isinstance(event, yaml.MappingStartEvent) else [])
        self._anchor(event, value, plain=False, open_=True)
        self.stack.append(_Open(value, path, line, kept, event.anchor))

    def _anchor(self, event: Any, value: Any, plain: bool, open_: bool,
                merge: bool = False) -> None:
        anchor = event.anchor
        if anchor is None:
            return
        if anchor in self.anchors:
            raise yaml.composer.ComposerError("found duplicate anchor; first occurrence",
                                              None, "second occurrence", event.start_mark)
        self.anchors[anchor] = _Anchored(value, plain, open_, merge)

    def _alias(self, event: Any, path: Path_, line: int,
               kept: bool) -> tuple[Any, bool, str | None, int, int]:
        """The anchored value, whether it is plain, its tag (the merge key's, or None), and
        the values and levels it repeats."""
        anchored = self.anchors.get(event.anchor)
        if anchored is None:
            raise yaml.composer.ComposerError(None, None,
                                              f"found undefined alias {event.anchor!r}",
                                              event.start_mark)
        if anchored.open:    # an alias to one of its own ancestors: &a [*a]
            if kept:
                self.problems.append(self.document.problem(path, said("recursive_alias")))
            return None, False, None, 1, 0
        if len(self.stack) + anchored.height > MAX_DEPTH:
            raise self._too_deep(line, path)
        self.repeated += anchored.size
        if self.repeated > max(ALIAS_FLOOR, ALIAS_RATIO * self.written):
            raise ConfigError([self._at(line, _written(path),
                                        said("aliases_repeat_too_much",
                                             ratio=str(ALIAS_RATIO)))])
        return (anchored.value, anchored.plain, _MERGE if anchored.merge else None,
                anchored.size, anchored.height)

    def _too_deep(self, line: int, path: Path_) -> ConfigError:
        """Located at the line where the nesting passes the limit, under the top-level key
        (the whole path would be a hundred levels long)."""
        return ConfigError([self._at(line, _written(path)[:1], TOO_DEEP_SAID)])

    def _at(self, line: int, path: Path_, message: Message) -> Problem:
        """A problem at `line` (where `document.problem` takes a path's own line)."""
        return Problem(str(self.document.file), line, format_path(path), message)

    def _key(self, mapping: _Open, key: Any, tag: str | None, line: int) -> Any:
        """The key to give the next value, or _KEY_REFUSED (a problem when kept)."""
        assert isinstance(mapping.value, dict)
        problem: Problem | None = None
        if tag == _MERGE:
            problem = self.document.problem(mapping.path, said("merge_key"))
        elif key is None:
            problem = self._at(line, mapping.path, said("key_not_plain"))
        else:
            key = str(key) if not isinstance(key, (str, int)) else key
            if key in mapping.value:
                problem = self._at(line, (*mapping.path, key),
                                   said("duplicate_key", key=repr(key)))
        if problem is None:
            return key
        if mapping.kept:
            self.problems.append(problem)
        return _KEY_REFUSED

    @staticmethod
    def _add(top: _Open, item: Any) -> None:
        if isinstance(top.value, list):
            top.value.append(item)
            return
        if top.key is not _KEY_REFUSED:
            top.value[top.key] = item
        top.key = _KEY_NEXT


def _written(path: Path_) -> Path_:
    """The path as far as it goes in the document: a value under a refused key (a
    duplicate, a collection as key) has none past it."""
    for end, part in enumerate(path):
        if part is _KEY_REFUSED:
            return path[:end]
    return path


_STR, _INT, _NULL, _BOOL, _TIMESTAMP = (f"tag:yaml.org,2002:{t}" for t in
                                         ("str", "int", "null", "bool", "timestamp"))
_TRUE = frozenset(("yes", "true", "on", "y"))


def _scalar(loader: Any, tag: str, event: Any) -> Any:
    """The scalar's value. The common tags are converted here directly: PyYAML's generic
    constructor costs a third of the load time of a large inventory."""
    text = event.value
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
    node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.YAMLError, OverflowError):
        # e.g. 2008-13-01 looks like a timestamp but is not a date: keep the text so that
        # validation can say "not a date: '2008-13-01'" at the right line.
        return text
