"""Load rule files safely, keep line numbers, validate, and report *every* problem as
`file:line: what is wrong` (pySigma's collect-errors habit)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import re2
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from monitor.errors import Location, RuleError
from monitor.rules.crosscheck import check_conditions, check_expansion, check_references
from monitor.rules.ruleset import Collector, Located, RuleSet
from monitor.rules.schema import RuleFile

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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # gone or unreadable: reading it reports the reason


def rule_files(path: Path) -> list[Path]:
    """A file, or every `*.yaml`/`*.yml` under a folder (sorted; hidden files and folders
    below it skipped: only below, so that `../rules` or `~/.config/rules` still work)."""
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
        return sorted(p for p in found if not _hidden(p.relative_to(path)))
    return [path]


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


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


def _parse_yaml(path: Path, out: Collector) -> Any:
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
    path: Path, root: Any, where: list[Any], terms: Iterable[str], out: Collector
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


def _load_file(path: Path, rs: RuleSet, out: Collector) -> None:
    before = len(out.problems)
    root = _parse_yaml(path, out)
    if root is None:
        out.partial = out.partial or len(out.problems) > before
        return  # an empty file is fine; a broken one was reported by _parse_yaml
    if not isinstance(root, dict):
        out.add(path, 1, "a rule file must be a mapping with lists, qualifiers, events and rules")
        out.partial = True
        return
    tagged = _first_tag(root)
    if tagged is not None:
        out.add(path, tagged[0], f"YAML tag {tagged[1]!r} is not allowed in rule files")
        out.partial = True
        return
    plain = _plain(root)
    _check_names(path, root, plain, out)
    try:
        doc, positions = RuleFile.model_validate(plain), list(range(len(plain.get("rules") or [])))
    except ValidationError as exc:
        for err in exc.errors():
            out.add(path, _line_of(root, err["loc"]), _describe(err))
        doc, positions = _valid_parts(plain, exc.errors(), out)
    _register(path, root, doc, positions, rs, out)


def _register(
    path: Path, root: Any, doc: RuleFile, positions: list[int], rs: RuleSet, out: Collector
) -> None:
    """Add a file's valid definitions to the set; the first of two with one name is kept (the
    second was reported by `_check_names`)."""
    for name, terms in doc.lists.items():
        _check_terms(path, root, ["lists", name], terms, out)
        at = Location(str(path), _line_of(root, ["lists", name]))
        rs.lists.setdefault(name, Located(terms, at))
    for kind, edit in doc.qualifiers.items():
        rs.qualifier_edits[kind] = (edit.add, edit.remove, edit.replace)
    for name, event in doc.events.items():
        for where, terms in event.term_lists():
            _check_terms(path, root, ["events", name, *where], terms, out)
        at = Location(str(path), _line_of(root, ["events", name]))
        rs.events.setdefault(name, Located(event, at))
    for i, rule in zip(positions, doc.rules, strict=True):
        at = Location(str(path), _line_of(root, ["rules", i, "id"]))
        rs.rules.setdefault(rule.id, Located(rule, at))


_WHAT = {"lists": "list", "events": "event"}


def _check_names(path: Path, root: Any, plain: dict[Any, Any], out: Collector) -> None:
    """Record every list, event and rule id the file defines, valid or not, and report each
    one defined before (here or in an earlier file), naming where."""
    for section in ("lists", "events"):
        value = plain.get(section)
        if not isinstance(value, dict):
            continue
        for name in value:
            _define(out, section, str(name), path, _line_of(root, [section, name]))
    rules = plain.get("rules")
    for i, item in enumerate(rules if isinstance(rules, list) else []):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            _define(out, "rules", item["id"], path, _line_of(root, ["rules", i, "id"]))


def _define(out: Collector, kind: str, name: str, path: Path, line: int) -> None:
    first = out.defined.get((kind, name))
    if first is None:
        out.defined[(kind, name)] = Location(str(path), line)
    elif kind == "rules":
        out.add(path, line, f"rule id {name!r} already used at {first}")
    else:
        out.add(path, line, f"{_WHAT[kind]} {name!r} already defined at {first}")


def _valid_parts(
    plain: dict[Any, Any], errors: list[Any], out: Collector
) -> tuple[RuleFile, list[int]]:
    """What the cross-file checks can still use in an invalid file: every definition valid on
    its own once the fields that failed are dropped (a rule with a bad `dedup` still has its
    condition checked), and the positions of the rules kept, so all come out in one pass."""
    bad: dict[tuple[Any, Any], set[Any]] = {}
    for err in errors:
        if len(err["loc"]) >= 3:
            bad.setdefault(tuple(err["loc"][:2]), set()).add(err["loc"][2])

    def salvaged(section: str, key: Any, item: Any) -> Any:
        drop = bad.get((section, key), set())
        return {k: v for k, v in item.items() if k not in drop} if isinstance(item, dict) else item

    kept: dict[str, Any] = {}
    for section in ("lists", "qualifiers", "events"):
        value = plain.get(section)
        if isinstance(value, dict):
            items = {k: salvaged(section, k, v) for k, v in value.items()}
            kept[section] = {k: v for k, v in items.items() if _valid({section: {k: v}})}
        elif value is not None:
            out.partial = True
    rules = plain.get("rules")
    positions: list[int] = []
    if isinstance(rules, list):
        fixed = [salvaged("rules", i, item) for i, item in enumerate(rules)]
        positions = [i for i, item in enumerate(fixed) if _valid({"rules": [item]})]
        kept["rules"] = [fixed[i] for i in positions]
    elif rules is not None:
        out.partial = True
    return RuleFile.model_validate(kept), positions


def _valid(part: dict[str, Any]) -> bool:
    try:
        RuleFile.model_validate(part)
    except ValidationError:
        return False
    return True


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


def load_rules(paths: Path | Iterable[Path]) -> RuleSet:
    """Load and cross-check rule files; raise `RuleError` listing every problem found."""
    targets = [paths] if isinstance(paths, Path) else list(paths)
    out = Collector()
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
            out.partial = True
            continue
        for file in files:
            rs.files.append(file)
            try:
                _load_file(file, rs, out)
            except Exception as exc:  # a bug here must still name the file, never escape raw
                out.add(file, 0, f"internal error while loading: {type(exc).__name__}: {exc}")
                out.partial = True
    try:  # every check runs on what is valid, so all problems come out in one pass
        check_references(rs, out)
        check_expansion(rs, out)
        check_conditions(rs, out)
    except Exception as exc:
        where = ", ".join(str(f) for f in rs.files) or "rules"
        out.add(where, 0, f"internal error while cross-checking: {type(exc).__name__}: {exc}")
    if out.problems:
        raise RuleError(out.problems)
    return rs


__all__ = ["Located", "RuleSet", "load_rules", "rule_files"]
