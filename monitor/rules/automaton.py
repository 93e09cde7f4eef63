"""The scanner of a compiled rule set: literal terms in one Aho-Corasick automaton (every form of
every term, split by how a hit is accepted), regex terms in one RE2 set."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import re2
from ahocorasick_rs import AhoCorasick, Implementation

from monitor.rules.terms import Term, exact_form, plain_term, simple_cjk

_DFA_KEYS = 20_000


@dataclass
class Automaton:
    """Literal terms in one Aho-Corasick automaton, regex terms in one RE2 set.

    `keys[i]` says what the automaton's pattern `i` stands for: the term ids it matches, split
    by how a hit is accepted (plain Latin, Han substring, one exact form with word boundaries,
    special checks)."""

    automaton: AhoCorasick | None = None
    keys: list[
        tuple[tuple[int, ...], tuple[int, ...], tuple[tuple[int, str], ...], tuple[int, ...]]
    ] = field(default_factory=list)
    regex_ids: list[int] = field(default_factory=list)
    regex_set: Any = None
    regexes: dict[int, Any] = field(default_factory=dict)


def build_automaton(tids: set[int], terms: list[Term]) -> Automaton:
    """The scanner for a set of term ids: literal forms in one automaton, regexes in one set."""
    out = Automaton()
    by_key: dict[str, list[int]] = defaultdict(list)
    for tid in sorted(tids):
        term = terms[tid]
        if term.regex:
            out.regex_ids.append(tid)
            continue
        for form in term.forms or (term.key,):
            if form:
                by_key[form].append(tid)
    for ids in by_key.values():
        # split by how a hit is accepted, so the scan checks word boundaries once per hit
        plain = [t for t in ids if plain_term(terms[t])]
        han = [t for t in ids if not plain_term(terms[t]) and simple_cjk(terms[t])]
        exact = [(t, e) for t in ids if (e := exact_form(terms[t])) is not None]
        special = [
            t for t in ids if t not in plain and t not in han and all(t != x for x, _ in exact)
        ]
        out.keys.append((tuple(plain), tuple(han), tuple(exact), tuple(special)))
    if by_key:
        # a DFA scans a third faster; its size grows with the keys, so very large packs
        # keep the crate's default (a contiguous NFA)
        implementation = Implementation.DFA if len(by_key) <= _DFA_KEYS else None
        out.automaton = AhoCorasick(list(by_key), implementation=implementation)
    if out.regex_ids:
        options = re2.Options()
        options.case_sensitive = False
        options.never_capture = True
        regex_set = re2.Set.SearchSet(options)
        for tid in out.regex_ids:
            regex_set.Add(terms[tid].key)
        regex_set.Compile()
        out.regex_set = regex_set
        out.regexes = {tid: re2.compile("(?i)" + terms[tid].key) for tid in out.regex_ids}
    return out
