"""Cross-checks run once every file is read: unknown `$list` references, reference chains too
costly to expand, and rule conditions (syntax, unknown events and lists, `follows`)."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.errors import Location
from monitor.rules.condition import ConditionError, parse_condition, references
from monitor.rules.ruleset import Collector, RuleSet

MAX_EXPANSION = 1_000_000
"""Steps the compiler may take expanding `$list` references, summed over every list and
event: references are followed without memoisation, so chains of lists that each name the
previous one ten times grow exponentially."""


def _list_refs(terms: Iterable[str]) -> Iterable[str]:
    return (t[1:] for t in terms if t.startswith("$"))


def check_references(rs: RuleSet, out: Collector) -> None:
    for name, lst in rs.lists.items():
        for ref in _list_refs(lst.value):
            if out.unknown("lists", ref):
                out.add(
                    lst.where.file, lst.where.line, f"list {name!r} refers to unknown list ${ref}"
                )
    for name, ev in rs.events.items():
        terms = [t for _, group in ev.value.term_lists() for t in group]
        for ref in dict.fromkeys(_list_refs(terms)):
            if out.unknown("lists", ref):
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
        self.unresolved = False
        """Set when a reference names no valid list (reported elsewhere)."""

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
            elif name not in self.rs.lists:
                self.unresolved = True
            elif name not in seen:
                if len(seen) >= MAX_REFERENCE_DEPTH:
                    raise _TooCostly(f"$list references nest deeper than {MAX_REFERENCE_DEPTH}")
                found = self.walk(self.rs.lists[name].value, seen | {name}) or found
        return found


def check_expansion(rs: RuleSet, out: Collector) -> None:
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
        expander.unresolved = False
        try:
            found = [expander.walk(terms) for terms in groups]
            for where, terms in term_lists:
                if "all" not in where:
                    expander.walk(terms)
        except _TooCostly as exc:
            out.add(ev.where.file, ev.where.line, f"event {name!r}: {exc}")
            return
        if expander.unresolved:
            continue  # the unknown or invalid list is the problem to report
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


def check_conditions(rs: RuleSet, out: Collector) -> None:
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
        for e in sorted(e for e in events if out.unknown("events", e)):
            problem(f"condition refers to unknown event {e!r}")
        for li in sorted(li for li in lists if out.unknown("lists", li)):
            problem(f"condition refers to unknown list ${li}")
        if rule.follows and out.unknown("rules", rule.follows):
            problem(f"follows unknown rule {rule.follows!r}")
        rs.conditions[rule_id] = node
