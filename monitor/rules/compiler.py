"""Compile a RuleSet into one matcher: every literal term of every list, event and qualifier
goes into a single Aho-Corasick automaton; regex terms into one RE2 set (linear time).

Matching cost therefore grows with the text and the number of hits, not with the number
of rules: events are only examined when one of their terms occurred, and rules only when
one of their atoms can be true (rules that hold with every atom false are always checked).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
import re2

from monitor.rules.condition import Event, Node, evaluate, references
from monitor.rules.loader import RuleSet
from monitor.rules.qualifiers import cue_lists
from monitor.rules.schema import QualifierKind, RuleDef, Scope
from monitor.rules.text import fold, is_cjk


@dataclass(frozen=True)
class Term:
    """One literal or regex term, as written and as matched."""

    written: str
    key: str  # folded text fed to the automaton (or the regex source)
    prefix: bool = False  # `issu*`: no right word boundary
    suffix: bool = False  # `*n't`: no left word boundary
    exact: str | None = None  # `=US`: the display text must equal this
    cjk: bool = False
    regex: bool = False


def parse_term(written: str) -> Term:
    """Read the term notation: `re:...`, `=Exact`, `prefix*`, `*suffix`, plain phrase."""
    if written.startswith("re:"):
        return Term(written, written[3:], regex=True)
    exact = None
    body = written.strip()
    if body.startswith("="):
        body = body[1:]
        exact = body
    prefix = body.endswith("*")
    suffix = body.startswith("*")
    body = body.strip("*")
    from monitor.rules.text import display_form

    body = display_form(body)
    return Term(
        written,
        fold(body),
        prefix,
        suffix,
        display_form(exact).strip("*") if exact else None,
        is_cjk(body),
    )


@dataclass(frozen=True)
class CompiledEvent:
    """An event with its groups as sets of term ids."""

    name: str
    groups: tuple[frozenset[int], ...]
    none: frozenset[int]
    within: int
    ordered: bool
    field: str
    qualifiers: tuple[QualifierKind, ...]
    scope: Scope


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its parsed condition and the atoms that can make it true."""

    definition: RuleDef
    condition: Node
    events: frozenset[str]
    lists: frozenset[str]
    always: bool  # true with every atom false: must be evaluated on every article


@dataclass
class Compiled:
    """The whole rule set in matchable form."""

    terms: list[Term] = field(default_factory=list)
    automaton: Any = None
    regex_ids: list[int] = field(default_factory=list)
    regex_set: Any = None
    regexes: dict[int, Any] = field(default_factory=dict)
    lists: dict[str, frozenset[int]] = field(default_factory=dict)
    events: dict[str, CompiledEvent] = field(default_factory=dict)
    term_events: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    cues: dict[QualifierKind, frozenset[int]] = field(default_factory=dict)
    cue_kind: dict[int, set[QualifierKind]] = field(default_factory=lambda: defaultdict(set))
    rules: dict[str, CompiledRule] = field(default_factory=dict)
    atom_rules: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    always_rules: list[str] = field(default_factory=list)
    list_terms: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))


class _Builder:
    def __init__(self, rs: RuleSet) -> None:
        self.rs = rs
        self.c = Compiled()
        self.ids: dict[str, int] = {}

    def term_id(self, written: str) -> int:
        if written not in self.ids:
            self.ids[written] = len(self.c.terms)
            self.c.terms.append(parse_term(written))
        return self.ids[written]

    def expand(self, terms: list[str], seen: frozenset[str] = frozenset()) -> frozenset[int]:
        out: set[int] = set()
        for t in terms:
            if t.startswith("$"):
                name = t[1:]
                if name not in seen:
                    out |= self.expand(self.rs.lists[name].value, seen | {name})
            else:
                out.add(self.term_id(t))
        return frozenset(out)

    def build(self) -> Compiled:
        c = self.c
        for name in self.rs.lists:
            c.lists[name] = self.expand([f"${name}"])
            for tid in c.lists[name]:
                c.list_terms[tid].add(name)
        for name, located in self.rs.events.items():
            ev = located.value
            groups = tuple(self.expand([g] if isinstance(g, str) else g) for g in ev.all)
            c.events[name] = CompiledEvent(
                name,
                groups,
                self.expand(ev.none),
                ev.within,
                ev.ordered,
                ev.field,
                tuple(ev.qualifiers),
                ev.scope,
            )
        self._index_events()
        for kind, cues in cue_lists(self.rs.qualifier_edits).items():
            c.cues[kind] = frozenset(self.term_id(cue) for cue in cues)
            for tid in c.cues[kind]:
                c.cue_kind[tid].add(kind)
        for rule_id, rule_def in self.rs.rules.items():
            node = self.rs.conditions[rule_id]
            events, lists = references(node, contexts=False)
            always = evaluate(node, lambda _e: False, lambda _l: False)
            c.rules[rule_id] = CompiledRule(
                rule_def.value, node, frozenset(events), frozenset(lists), always
            )
            if always:
                c.always_rules.append(rule_id)
            for atom in events | {f"${li}" for li in lists}:  # lists inside `with` never trigger
                c.atom_rules[atom].add(rule_id)
        self._automaton()
        return c

    def _index_events(self) -> None:
        """Index each event under its rarest group only: an event needs every group, so a hit
        in the rarest one is a sufficient trigger, and common words (verbs) shared by many
        events no longer make all of them candidates."""
        c = self.c
        usage: dict[int, int] = defaultdict(int)
        for ev in c.events.values():
            for group in ev.groups:
                for tid in group:
                    usage[tid] += 1
        for ev in c.events.values():
            anchor = min(ev.groups, key=lambda g: (sum(usage[t] for t in g) / len(g), len(g)))
            for tid in anchor:
                c.term_events[tid].add(ev.name)

    def _automaton(self) -> None:
        c = self.c
        by_key: dict[str, list[int]] = defaultdict(list)
        for tid, term in enumerate(c.terms):
            if term.regex:
                c.regex_ids.append(tid)
            elif term.key:
                by_key[term.key].append(tid)
        automaton = ahocorasick.Automaton()
        for key, tids in by_key.items():
            automaton.add_word(key, (len(key), tuple(tids)))
        if by_key:
            automaton.make_automaton()
            c.automaton = automaton
        if c.regex_ids:
            options = re2.Options()
            options.case_sensitive = False
            options.never_capture = True
            regex_set = re2.Set.SearchSet(options)
            for tid in c.regex_ids:
                regex_set.Add(c.terms[tid].key)
            regex_set.Compile()
            c.regex_set = regex_set
            c.regexes = {tid: re2.compile("(?i)" + c.terms[tid].key) for tid in c.regex_ids}


def compile_rules(rs: RuleSet) -> Compiled:
    """Compile a loaded RuleSet."""
    return _Builder(rs).build()


def rule_atoms_for(events: set[str], lists: set[str], compiled: Compiled) -> set[str]:
    """Rules worth evaluating given which events and lists are present."""
    wanted = set(compiled.always_rules)
    for e in events:
        wanted |= compiled.atom_rules.get(e, set())
    for li in lists:
        wanted |= compiled.atom_rules.get(f"${li}", set())
    return wanted


__all__ = [
    "Compiled",
    "CompiledEvent",
    "CompiledRule",
    "Event",
    "Term",
    "compile_rules",
    "parse_term",
    "rule_atoms_for",
]
