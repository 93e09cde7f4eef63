"""Load rule files safely, keep line numbers, validate, and report *every* problem as
`file:line: what is wrong` (pySigma's collect-errors habit)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import re2
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from monitor.errors import Location, Problem, RuleError
from monitor.rules.condition import ConditionError, Node, parse_condition, references
from monitor.rules.schema import EventDef, RuleDef, RuleFile

T = TypeVar("T")

MAX_FILE_BYTES = 512_000
"""A rule file larger than this is refused unread: the real pack is ~20 kB, and parsing
costs roughly 6 s and 80 MB per MB of YAML, which a rule edit must never cost a daemon."""
MAX_TOTAL_BYTES = 4_000_000
"""The same for all rule files together."""
MAX_ALIAS_NODES = 10_000
"""YAML aliases may add at most this many nodes to a file once expanded. The tree is walked
several times (tags, schema, line numbers); a "billion laughs" file expands to 10^9 nodes."""
MAX_YAML_DEPTH = 64
"""Containers nested deeper than this are refused (the format needs five levels)."""
MAX_EXPANSION = 1_000_000
"""Steps the compiler may take expanding `$list` references, summed over every list and
event: references are followed without memoisation, so chains of lists that each name the
previous one ten times grow exponentially."""


@dataclass(frozen=True)
class Located(Generic[T]):
    """A definition and where it was written."""

    value: T
    where: Location


@dataclass
class RuleSet:
    """Every list, event and rule from a set of files, validated and cross-checked."""

    lists: dict[str, Located[list[str]]] = field(default_factory=dict)
    events: dict[str, Located[EventDef]] = field(default_factory=dict)
    rules: dict[str, Located[RuleDef]] = field(default_factory=dict)
    conditions: dict[str, Node] = field(default_factory=dict)
    qualifier_edits: dict[str, tuple[list[str], list[str], list[str] | None]] = field(
        default_factory=dict
    )
    files: list[Path] = field(default_factory=list)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # gone or unreadable: reading it reports the reason


def rule_files(path: Path) -> list[Path]:
    """A file, or every `*.yaml`/`*.yml` under a folder (sorted, hidden files skipped)."""
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
        return sorted(p for p in found if not any(part.startswith(".") for part in p.parts))
    return [path]


def _line_of(root: Any, loc: Iterable[Any]) -> int:
    """The deepest line a pydantic error location reaches in a ruamel tree (1-based)."""
    node = root
    line = getattr(getattr(root, "lc", None), "line", 0) or 0
    for key in loc:
        try:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0]
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                line = node.lc.item(key)[0]
                node = node[key]
            else:
                break
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line + 1


def _describe(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("list[", "str")))
    msg = str(err["msg"])
    return f"{loc}: {msg}" if loc else msg


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: Path | str, line: int, message: str) -> None:
        self.problems.append(Problem(Location(str(file), line), message))


def _parse_yaml(path: Path, out: _Collector) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            out.add(path, 1, f"file is {size} bytes; rule files are limited to {MAX_FILE_BYTES}")
            return None
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        out.add(path, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return None
    except OSError as exc:
        out.add(path, 0, f"cannot read: {exc.strerror}")
        return None
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        out.add(path, line, f"invalid YAML: {exc.problem or exc.context}")
        return None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        out.add(
            path,
            1,
            f"invalid YAML: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
        )
        return None
    try:
        _check_shape(root)
    except _ShapeError as exc:
        out.add(path, exc.line, exc.message)
        return None
    return root


class _ShapeError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _children(node: Any) -> list[tuple[int, Any]]:
    """(0-based line, child) of a ruamel container; [] for scalars."""
    line = getattr(getattr(node, "lc", None), "line", 0) or 0
    if isinstance(node, CommentedMap):
        return [(_lc(node.lc.key, k, line), v) for k, v in node.items()]
    if isinstance(node, CommentedSeq):
        return [(_lc(node.lc.item, i, line), v) for i, v in enumerate(node)]
    return []


def _lc(where: Any, key: Any, default: int) -> int:
    """ruamel's line of a key or item; merged (`<<:`) keys have none: the container's line."""
    try:
        return int(where(key)[0])
    except (KeyError, IndexError, TypeError):
        return default


def _check_shape(root: Any) -> None:
    """Refuse alias bombs, recursive aliases and deep nesting before anything walks the tree.

    Containers reached again through an alias are the same Python object, so each is sized
    once (memoised by id); every further reach adds its whole expanded size to a budget.
    """
    sizes: dict[int, int] = {}
    extra = 0

    def size(node: Any, line: int, depth: int, path: tuple[int, ...]) -> int:
        nonlocal extra
        if not isinstance(node, CommentedMap | CommentedSeq):
            return 1
        if id(node) in path:
            raise _ShapeError(line + 1, "a YAML alias refers to a node that contains it")
        if id(node) in sizes:
            extra += sizes[id(node)]
            if extra > MAX_ALIAS_NODES:
                raise _ShapeError(
                    line + 1,
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES} extra nodes "
                    "(write the lists out, or refer to a list with $name)",
                )
            return sizes[id(node)]
        if depth > MAX_YAML_DEPTH:
            raise _ShapeError(line + 1, f"nested deeper than {MAX_YAML_DEPTH} levels")
        total = 1 + sum(
            size(child, child_line, depth + 1, (*path, id(node)))
            for child_line, child in _children(node)
        )
        sizes[id(node)] = total
        return total

    size(root, 0, 0, ())


def _check_terms(
    path: Path, root: Any, where: list[Any], terms: Iterable[str], out: _Collector
) -> None:
    for i, term in enumerate(terms):
        line = _line_of(root, [*where, i])
        if not term.strip() or term.strip() in ("*", "=", "re:", "$"):
            out.add(path, line, f"{'.'.join(map(str, where))}: empty term")
        elif term.startswith("re:"):
            try:
                re2.compile(term[3:])
            except re2.error as exc:
                out.add(
                    path, line, f"{'.'.join(map(str, where))}: invalid regex {term[3:]!r}: {exc}"
                )


def _load_file(path: Path, rs: RuleSet, out: _Collector) -> None:
    root = _parse_yaml(path, out)
    if root is None:
        return  # an empty file is fine; a broken one was reported by _parse_yaml
    if not isinstance(root, dict):
        out.add(path, 1, "a rule file must be a mapping with lists, qualifiers, events and rules")
        return
    tagged = _first_tag(root)
    if tagged is not None:
        out.add(path, tagged[0], f"YAML tag {tagged[1]!r} is not allowed in rule files")
        return
    try:
        doc = RuleFile.model_validate(_plain(root))
    except ValidationError as exc:
        for err in exc.errors():
            out.add(path, _line_of(root, err["loc"]), _describe(err))
        return
    _add_lists(path, root, doc, rs, out)
    for kind, edit in doc.qualifiers.items():
        rs.qualifier_edits[kind] = (edit.add, edit.remove, edit.replace)
    _add_events(path, root, doc, rs, out)
    for i, rule in enumerate(doc.rules):
        line = _line_of(root, ["rules", i])
        if rule.id in rs.rules:
            out.add(path, line, f"rule id {rule.id!r} already used at {rs.rules[rule.id].where}")
        rs.rules[rule.id] = Located(rule, Location(str(path), _line_of(root, ["rules", i, "id"])))


def _add_lists(path: Path, root: Any, doc: RuleFile, rs: RuleSet, out: _Collector) -> None:
    for name, terms in doc.lists.items():
        line = _line_of(root, ["lists", name])
        if name in rs.lists:
            out.add(path, line, f"list {name!r} already defined at {rs.lists[name].where}")
        _check_terms(path, root, ["lists", name], terms, out)
        rs.lists[name] = Located(terms, Location(str(path), line))


def _add_events(path: Path, root: Any, doc: RuleFile, rs: RuleSet, out: _Collector) -> None:
    for name, event in doc.events.items():
        line = _line_of(root, ["events", name])
        if name in rs.events:
            out.add(path, line, f"event {name!r} already defined at {rs.events[name].where}")
        for where, terms in event.term_lists():
            _check_terms(path, root, ["events", name, *where], terms, out)
        rs.events[name] = Located(event, Location(str(path), line))


def _first_tag(node: Any, line: int = 0) -> tuple[int, str] | None:
    """The first explicit YAML tag (`!!python/...`, `!foo`) in a tree, with its line."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if tag:
        return line + 1, str(tag)
    for child_line, child in _children(node):
        found = _first_tag(child, child_line)
        if found:
            return found
    return None


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str | int) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _list_refs(terms: Iterable[str]) -> Iterable[str]:
    return (t[1:] for t in terms if t.startswith("$"))


def _check_references(rs: RuleSet, out: _Collector) -> None:
    for name, lst in rs.lists.items():
        for ref in _list_refs(lst.value):
            if ref not in rs.lists:
                out.add(
                    lst.where.file, lst.where.line, f"list {name!r} refers to unknown list ${ref}"
                )
    for name, ev in rs.events.items():
        terms = [t for _, group in ev.value.term_lists() for t in group]
        for ref in _list_refs(terms):
            if ref not in rs.lists:
                out.add(
                    ev.where.file, ev.where.line, f"event {name!r} refers to unknown list ${ref}"
                )


MAX_REFERENCE_DEPTH = 32
"""`$list` references may nest this deep (the compiler follows them recursively)."""


class _TooCostly(Exception):
    pass


class _Expander:
    """Follows `$list` references exactly as the compiler will, counting its steps."""

    def __init__(self, rs: RuleSet) -> None:
        self.rs = rs
        self.steps = 0

    def walk(self, terms: Iterable[str], seen: frozenset[str] = frozenset()) -> bool:
        """True when some literal term is reached; `_TooCostly` past the budget or depth."""
        found = False
        for term in terms:
            self.steps += 1
            if self.steps > MAX_EXPANSION:
                raise _TooCostly(
                    f"expanding $list references takes more than {MAX_EXPANSION} steps"
                )
            name = term[1:] if term.startswith("$") else None
            if name is None:
                found = True
            elif name not in seen and name in self.rs.lists:
                if len(seen) >= MAX_REFERENCE_DEPTH:
                    raise _TooCostly(f"$list references nest deeper than {MAX_REFERENCE_DEPTH}")
                found = self.walk(self.rs.lists[name].value, seen | {name}) or found
        return found


def _check_expansion(rs: RuleSet, out: _Collector) -> None:
    """Refuse reference chains the compiler could not expand in bounded time, and event groups
    that expand to no terms (the compiler ranks groups by their mean use: 0/0)."""
    expander = _Expander(rs)
    for name, lst in rs.lists.items():
        try:
            expander.walk([f"${name}"])
        except _TooCostly as exc:
            out.add(lst.where.file, lst.where.line, f"list {name!r}: {exc}")
            return
    for name, ev in rs.events.items():
        term_lists = ev.value.term_lists()
        groups = [terms for where, terms in term_lists if "all" in where]
        try:
            found = [expander.walk(terms) for terms in groups]
            for where, terms in term_lists:
                if "all" not in where:
                    expander.walk(terms)
        except _TooCostly as exc:
            out.add(ev.where.file, ev.where.line, f"event {name!r}: {exc}")
            return
        for g, (terms, ok) in enumerate(zip(groups, found, strict=True), start=1):
            if not ok:
                out.add(
                    ev.where.file, ev.where.line, f"event {name!r}: {_empty_reason(g, terms, rs)}"
                )


def _empty_reason(g: int, terms: list[str], rs: RuleSet) -> str:
    if not terms:
        return f"group {g} is empty"
    if len(terms) == 1 and terms[0].startswith("$") and not rs.lists[terms[0][1:]].value:
        return f"group {g}: list {terms[0][1:]} is empty"
    return f"group {g} ({', '.join(terms)}) expands to no terms"


def _check_conditions(rs: RuleSet, out: _Collector) -> None:
    for rule_id, located in rs.rules.items():
        rule, where = located.value, located.where

        def problem(message: str, where: Location = where, rule_id: str = rule_id) -> None:
            out.add(where.file, where.line, f"rule {rule_id!r}: {message}")

        try:
            node = parse_condition(rule.condition)
        except ConditionError as exc:
            problem(f"condition: {exc}")
            continue
        events, lists = references(node)
        for e in sorted(events - rs.events.keys()):
            problem(f"condition refers to unknown event {e!r}")
        for li in sorted(lists - rs.lists.keys()):
            problem(f"condition refers to unknown list ${li}")
        if rule.follows and rule.follows not in rs.rules:
            problem(f"follows unknown rule {rule.follows!r}")
        rs.conditions[rule_id] = node


def load_rules(paths: Path | Iterable[Path]) -> RuleSet:
    """Load and cross-check rule files; raise `RuleError` listing every problem found."""
    targets = [paths] if isinstance(paths, Path) else list(paths)
    out = _Collector()
    rs = RuleSet()
    for target in targets:
        if not target.exists():
            out.add(target, 0, "no such file or folder")
            continue
        files = rule_files(target)
        if not files:
            out.add(target, 0, "no .yaml rule files here")
        total = sum(_size(f) for f in files)
        if total > MAX_TOTAL_BYTES:
            out.add(target, 0, f"rule files hold {total} bytes; the limit is {MAX_TOTAL_BYTES}")
            continue
        for file in files:
            rs.files.append(file)
            try:
                _load_file(file, rs, out)
            except Exception as exc:  # a bug here must still name the file, never escape raw
                out.add(file, 0, f"internal error while loading: {type(exc).__name__}: {exc}")
    try:
        if not out.problems:
            _check_references(rs, out)
        if not out.problems:
            _check_expansion(rs, out)
            _check_conditions(rs, out)
    except Exception as exc:
        where = ", ".join(str(f) for f in rs.files) or "rules"
        out.add(where, 0, f"internal error while cross-checking: {type(exc).__name__}: {exc}")
    if out.problems:
        raise RuleError(out.problems)
    return rs
