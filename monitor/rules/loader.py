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
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        out.add(path, line, f"invalid YAML: {exc.problem or exc.context}")
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        out.add(
            path,
            1,
            f"invalid YAML: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
        )
    return None


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
    if isinstance(node, CommentedMap):
        items = [(node.lc.key(k)[0], v) for k, v in node.items()]
    elif isinstance(node, CommentedSeq):
        items = [(node.lc.item(i)[0], v) for i, v in enumerate(node)]
    else:
        return None
    for child_line, child in items:
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
        for file in files:
            rs.files.append(file)
            _load_file(file, rs, out)
    if not out.problems:
        _check_references(rs, out)
        _check_conditions(rs, out)
    if out.problems:
        raise RuleError(out.problems)
    return rs
