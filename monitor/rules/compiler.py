"""Compile a RuleSet into one matcher: the terms of lists and events (with their word forms)
go into one Aho-Corasick automaton scanned over the whole article, qualifier cues into a second
one scanned only in candidate sentences; regex terms into RE2 sets (linear time).

Matching cost therefore grows with the text and the number of hits, not with the number
of rules: events are only examined when one of their terms occurred, and rules only when
one of their atoms can be true (rules that hold with every atom false are always checked).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from monitor.rules.automaton import Automaton, build_automaton
from monitor.rules.condition import All, Event, Node, evaluate, references
from monitor.rules.loader import RuleSet
from monitor.rules.morphology import FUNCTION_WORDS, can_be_noun, word_forms
from monitor.rules.qualifiers import (
    CJK_DETERMINERS,
    DETERMINERS,
    FRAMES,
    RETRACTIONS,
    cue_lists,
)
from monitor.rules.schema import (
    QUALIFIER_KINDS,
    EventDef,
    QualifierKind,
    RuleDef,
    Scope,
    parse_duration,
)
from monitor.rules.terms import Term, parse_term
from monitor.rules.text import is_cjk


@dataclass(frozen=True)
class CompiledPattern:
    """One way to report an event: groups of term ids, a distance, an order."""

    groups: tuple[frozenset[int], ...]
    within: int
    ordered: bool
    qualifiers: tuple[QualifierKind, ...]
    topic_within: int | None = None  # the last group may stand this far from the others

    @cached_property
    def terms(self) -> frozenset[int]:
        """Every term id of every group."""
        return frozenset().union(*self.groups)


@dataclass(frozen=True)
class CompiledEvent:
    """An event with its patterns as sets of term ids."""

    name: str
    patterns: tuple[CompiledPattern, ...]
    none: frozenset[int]
    field: str
    scope: Scope
    agreement: frozenset[int]
    across_sentences: bool
    news_window_days: float
    # anaphor term id ("the channel") -> (pattern, group) pairs whose noun it refers back to
    anaphors: dict[int, frozenset[tuple[int, int]]]
    development: str | None = None

    @property
    def qualifiers(self) -> tuple[QualifierKind, ...]:
        """The qualifiers of the first pattern (the event's own)."""
        return self.patterns[0].qualifiers


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
    """The whole rule set in matchable form.

    Two automata: `triggers` (list and event terms, anaphors) scans the whole article; `cues`
    (qualifier cues, pseudo-cues, agreement terms) scans only the few sentences
    that hold a candidate event, so common words like "will" or 将 cost nothing elsewhere.
    """

    terms: list[Term] = field(default_factory=list)
    triggers: Automaton = field(default_factory=Automaton)
    cue_scan: Automaton = field(default_factory=Automaton)
    lists: dict[str, frozenset[int]] = field(default_factory=dict)
    events: dict[str, CompiledEvent] = field(default_factory=dict)
    # term id -> the (event, pattern) pairs whose rarest group holds it: a pattern needs every
    # group, so a hit in its rarest one is the cheapest sufficient trigger
    # (with the pattern's other groups, which a sentence holding the anchor must also hold)
    anchors: dict[int, list[tuple[str, tuple[frozenset[int], ...]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    anaphor_ids: dict[str, frozenset[int]] = field(default_factory=dict)
    anaphor_events: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    cues: dict[QualifierKind, frozenset[int]] = field(default_factory=dict)
    cue_kind: dict[int, set[QualifierKind]] = field(default_factory=lambda: defaultdict(set))
    pseudo: frozenset[int] = frozenset()
    frames: frozenset[int] = frozenset()  # cues that govern the rest of their clause
    retractions: frozenset[int] = frozenset()  # "no such ...": vetoes the sentence before
    rules: dict[str, CompiledRule] = field(default_factory=dict)
    atom_rules: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    always_rules: list[str] = field(default_factory=list)
    # rules that can hold with no event found (on lists alone): without one of these, an
    # article with no event evidence needs no list positions and no rule evaluation
    event_free_rules: list[str] = field(default_factory=list)
    list_terms: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    helpers: dict[str, frozenset[str]] = field(default_factory=dict)  # helper -> partner events


def _needs_an_event(node: Node, lists: list[str]) -> bool:
    """Whether a condition is false whenever no event holds, whatever lists occur (every
    combination of its lists is tried; too many lists count as "maybe not")."""
    if len(lists) > 12:
        return False
    for mask in range(1 << len(lists)):
        present = {li for i, li in enumerate(lists) if mask >> i & 1}
        if evaluate(node, lambda _e: False, present.__contains__):
            return False
    return True


def _days(duration: str) -> float:
    return parse_duration(duration) / 86400


def _head(term: Term) -> str | None:
    """The noun an anaphor would repeat: last word of a phrase, last two Han characters."""
    if term.regex or term.prefix or term.suffix or not term.key:
        return None
    if term.cjk:
        return term.key[-2:] if len(term.key) >= 2 else None
    head = term.key.split(" ")[-1]
    if not head.isalpha() or head in FUNCTION_WORDS:
        return None  # not "the to"
    if not any(can_be_noun(form) for form in word_forms(head)):
        return None  # not "the restored" from "restore"; "the opening" from "open" is one

    return head


class _Builder:
    def __init__(self, rs: RuleSet) -> None:
        self.rs = rs
        self.c = Compiled()
        self.ids: dict[tuple[str, bool], int] = {}
        self.trigger_ids: set[int] = set()
        self.cue_ids: set[int] = set()

    def term_id(self, written: str, *, inflect: bool = True) -> int:
        key = (written, inflect)
        if key not in self.ids:
            self.ids[key] = len(self.c.terms)
            self.c.terms.append(parse_term(written, inflect=inflect))
        return self.ids[key]

    def expand(
        self, terms: list[str], seen: frozenset[str] = frozenset(), *, inflect: bool = True
    ) -> frozenset[int]:
        out: set[int] = set()
        for t in terms:
            if t.startswith("$"):
                name = t[1:]
                if name not in seen:
                    out |= self.expand(self.rs.lists[name].value, seen | {name}, inflect=inflect)
            else:
                out.add(self.term_id(t, inflect=inflect))
        return frozenset(out)

    def build(self) -> Compiled:
        c = self.c
        for name in self.rs.lists:
            c.lists[name] = self.expand([f"${name}"])
            self.trigger_ids |= c.lists[name]
            for tid in c.lists[name]:
                c.list_terms[tid].add(name)
        for name, located in self.rs.events.items():
            c.events[name] = self._event(name, located.value)
            c.anaphor_ids[name] = frozenset(c.events[name].anaphors)
            for tid in c.anaphor_ids[name]:
                c.anaphor_events[tid].add(name)
        self._index_events()
        self._cues()
        for rule_id, rule_def in self.rs.rules.items():
            node = self.rs.conditions[rule_id]
            events, lists = references(node, contexts=False)
            always = evaluate(node, lambda _e: False, lambda _l: False)
            c.rules[rule_id] = CompiledRule(
                rule_def.value, node, frozenset(events), frozenset(lists), always
            )
            if always:
                c.always_rules.append(rule_id)
            if not _needs_an_event(node, sorted(lists)):
                c.event_free_rules.append(rule_id)
            for atom in events | {f"${li}" for li in lists}:  # lists inside `with` never trigger
                c.atom_rules[atom].add(rule_id)
        c.helpers = self._helpers()
        c.triggers = build_automaton(self.trigger_ids, c.terms)
        c.cue_scan = build_automaton(self.cue_ids, c.terms)
        return c

    def _helpers(self) -> dict[str, frozenset[str]]:
        """Helper events (no development of their own) that every rule using them needs beside
        another event ("counterpart_named with (...) and china_counterpart_named"): matching
        evaluates them only once one of those partners has evidence."""
        c, out = self.c, {}
        for name, ev in c.events.items():
            uses = [r.condition for r in c.rules.values() if name in r.events]
            if ev.development is not None or not uses:
                continue
            partners: set[str] = set()
            for node in uses:
                direct = (
                    {a.name for a in node.args if isinstance(a, Event)}
                    if isinstance(node, All)
                    else set()
                )
                if name not in direct or not direct - {name}:
                    break
                partners |= direct - {name}
            else:
                out[name] = frozenset(partners)
        return out

    def _groups(self, groups: list[list[str] | str]) -> tuple[frozenset[int], ...]:
        out = tuple(self.expand([g] if isinstance(g, str) else g) for g in groups)
        for g in out:
            self.trigger_ids |= g
        return out

    def _event(self, name: str, ev: EventDef) -> CompiledEvent:
        own = tuple(ev.qualifiers)
        patterns = [
            CompiledPattern(self._groups(ev.all), ev.within, ev.ordered, own, ev.topic_within)
        ]
        for p in ev.patterns:
            quals = tuple(p.qualifiers) if p.qualifiers is not None else own
            patterns.append(
                CompiledPattern(self._groups(p.all), p.within, p.ordered, quals, p.topic_within)
            )
        none = self.expand(ev.none)
        self.trigger_ids |= none
        agreement = self.expand(ev.agreement)
        self.cue_ids |= agreement
        return CompiledEvent(
            name,
            tuple(patterns),
            none,
            ev.field,
            ev.scope,
            agreement,
            ev.across_sentences,
            _days(ev.news_window),
            self._anaphors(patterns, ev.refers_back) if ev.across_sentences else {},
            ev.development,
        )

    def _anaphors(
        self, patterns: list[CompiledPattern], refers_back: list[str]
    ) -> dict[int, frozenset[tuple[int, int]]]:
        """Definite noun phrases ("the channel", 该渠道) that refer back to a group's noun;
        `refers_back` nouns ("the report") stand for any group of the antecedent."""
        refs: dict[int, set[tuple[int, int]]] = defaultdict(set)
        for tid in self.expand(refers_back):
            self.trigger_ids.add(tid)
            for p, pattern in enumerate(patterns):
                refs[tid] |= {(p, g) for g in range(len(pattern.groups))}
        for p, pattern in enumerate(patterns):
            for g, group in enumerate(pattern.groups):
                for tid in group:
                    term = self.c.terms[tid]
                    if term.exact is not None or term.written[:1].isupper():
                        continue  # names and acronyms (China, AI) are not nouns referred back to
                    head = _head(self.c.terms[tid])
                    if head is None:
                        continue
                    dets = CJK_DETERMINERS if is_cjk(head) else DETERMINERS
                    for det in dets:
                        phrase = f"{det}{head}" if is_cjk(head) else f"{det} {head}"
                        aid = self.term_id(phrase)
                        refs[aid].add((p, g))
                        self.trigger_ids.add(aid)
        return {tid: frozenset(pairs) for tid, pairs in refs.items()}

    def _index_events(self) -> None:
        """Index each pattern under its rarest group only: common words (verbs) shared by many
        events then make none of them candidates by themselves."""
        c = self.c
        usage: dict[int, int] = defaultdict(int)
        for ev in c.events.values():
            for pattern in ev.patterns:
                for group in pattern.groups:
                    for tid in group:
                        usage[tid] += 1
        for ev in c.events.values():
            for pattern in ev.patterns:
                anchor = min(
                    pattern.groups, key=lambda g: (sum(usage[t] for t in g) / len(g), len(g))
                )
                rest = tuple(g for g in pattern.groups if g is not anchor)
                for tid in anchor:
                    c.anchors[tid].append((ev.name, rest))

    def _cues(self) -> None:
        c = self.c
        lists = cue_lists(self.rs.qualifier_edits)
        for kind in QUALIFIER_KINDS:
            c.cues[kind] = frozenset(self.term_id(cue, inflect=False) for cue in lists[kind])
            for tid in c.cues[kind]:
                c.cue_kind[tid].add(kind)
            self.cue_ids |= c.cues[kind]
        c.pseudo = frozenset(self.term_id(t, inflect=False) for t in lists["pseudo"])
        c.frames = frozenset(self.term_id(t, inflect=False) for t in FRAMES)
        c.retractions = frozenset(self.term_id(t, inflect=False) for t in RETRACTIONS)
        for tid in c.frames:
            c.cue_kind[tid].add("negated")
        for tid in c.retractions:
            c.cue_kind[tid].add("negated")
        self.cue_ids |= c.pseudo | c.frames | c.retractions


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
    "Automaton",
    "Compiled",
    "CompiledEvent",
    "CompiledPattern",
    "CompiledRule",
    "Event",
    "Term",
    "compile_rules",
    "parse_term",
    "rule_atoms_for",
]
