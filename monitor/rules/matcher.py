"""Evaluate compiled rules on an article: hits -> clause candidates -> qualifiers -> rules.

Trigger terms (lists, events) are found in one scan of the article; qualifier cues only in
the sentences that hold a candidate (candidates.py judges those). Rules then combine events
and lists; a walk-back rule that matches (`follows: X`) takes X's match off the article, as
a denial is not a report of the development.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import attrgetter

from monitor.models import Article, Evidence, MatchResult, RuleMatch, Veto
from monitor.rules.candidates import EventFinder, Hit
from monitor.rules.compiler import Automaton, Compiled, compile_rules, rule_atoms_for
from monitor.rules.condition import Event, evaluate
from monitor.rules.loader import RuleSet
from monitor.rules.morphology import is_base_verb
from monitor.rules.text import WORD_CHARS, Doc

# A list term right after one of these does not count: "every nuclear power except the US".
_EXCEPT = re.compile(
    r"(?:\bexcept(?:\s+for)?|\bexcluding|\bother than|\bapart from|\bbut not|除了|除)\s*(?:the\s+)?$"
)


# Far longer than any news article (about 30,000 words): the rest of a hostile or runaway page
# is archived but not matched, so one item cannot hold a worker for long.
MAX_BODY_CHARS = 200_000
MAX_TITLE_CHARS = 1_000

# The two parties named by reference to an earlier mention
_BOTH_SIDES = re.compile(
    r"(?=[tb双两])(?:\b(?:the two|both) (?:governments|sides|countries|capitals|militaries|powers|delegations"
    r"|nations|defen[cs]e ministries|foreign ministries)\b|双方|两国|两军)"
)
_BY_SPAN = attrgetter("start", "end")
_EXCEPT_WORD = re.compile(r"except|excluding|other than|apart from|but not|除")
_EXCEPT_GATE = ("except", "excluding", "other than", "apart from", "but not", "除")


@dataclass(frozen=True)
class Analysis:
    """One article's document, events, vetoes, list positions and matching rules."""

    doc: Doc
    found: dict[str, list[Evidence]]
    vetoes: list[Veto]
    lists_at: dict[str, list[int]]
    rules: list[RuleMatch]


class _CueHits(dict[int, list[Hit]]):
    """Sentence -> cue hits, scanned on first access."""

    def __init__(self, matcher: Matcher, doc: Doc) -> None:
        super().__init__()
        self.matcher = matcher
        self.doc = doc

    def __missing__(self, si: int) -> list[Hit]:
        sent = self.doc.sentences[si]
        hits = self.matcher.scan(self.matcher.c.cue_scan, self.doc, sent.start, sent.end)
        self[si] = hits
        return hits


class Matcher:
    """Rules compiled once; `match()` is pure and cheap per article."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.c: Compiled = compile_rules(ruleset)
        self.walkbacks = {
            r.value.id: r.value.follows for r in ruleset.rules.values() if r.value.follows
        }
        is_base_verb("hold")  # load the lemma lexicon now, not on the first article

    # -- scanning -----------------------------------------------------------------------------

    def _accept(self, tid: int, doc: Doc, start: int, end: int) -> int | None:
        """Where a literal hit ends after boundary checks (None: rejected)."""
        term = self.c.terms[tid]
        text = doc.folded
        n = len(text)
        wc = WORD_CHARS
        if not term.cjk:
            if not term.suffix and start > 0 and wc[text[start - 1]] and wc[text[start]]:
                return None
            if not term.prefix and end < n and wc[text[end]] and wc[text[end - 1]]:
                return None
        if term.exact is not None and doc.display[start:end] != term.exact:
            return None
        if term.prefix:  # report the whole word: `open*` matched "opened"
            while end < n and wc[text[end]]:
                end += 1
        return end

    def _literal_hits(
        self, auto: Automaton, doc: Doc, start: int, end: int, hits: list[Hit]
    ) -> None:
        """The automaton's accepted hits in doc.folded[start:end], appended to `hits`."""
        assert auto.automaton is not None
        text = doc.folded
        n = len(text)
        wc = WORD_CHARS
        keys = auto.keys
        part = text if start == 0 and end == n else text[start:end]
        # every match, overlapping ones included ("joint statement" and "statement"), as
        # (key, start, end) in characters: one call into the automaton per scan
        for k, first, stop in auto.automaton.find_matches_as_indexes(part, overlapping=True):
            plain, han, exact, special = keys[k]
            first += start
            stop += start
            # plain keys start and end with a word character: only the outside can join
            if (
                plain
                and (first == 0 or not wc[text[first - 1]])
                and (stop >= n or not wc[text[stop]])
            ):
                for tid in plain:
                    hits.append(Hit(tid, first, stop))
            for tid in han:
                hits.append(Hit(tid, first, stop))
            if (  # `=US`: bounded where the key's own edge is a word character
                exact
                and (first == 0 or not (wc[text[first - 1]] and wc[text[first]]))
                and (stop >= n or not (wc[text[stop]] and wc[text[stop - 1]]))
            ):
                shown = doc.display[first:stop]
                for tid, form in exact:
                    if shown == form:
                        hits.append(Hit(tid, first, stop))
            for tid in special:
                accepted = self._accept(tid, doc, first, stop)
                if accepted is not None:
                    hits.append(Hit(tid, first, accepted))

    def scan(self, auto: Automaton, doc: Doc, start: int = 0, end: int | None = None) -> list[Hit]:
        """Every accepted hit of one automaton in doc.folded[start:end], in text order."""
        end = len(doc.folded) if end is None else end
        hits: list[Hit] = []
        if auto.automaton is not None and end > start:
            self._literal_hits(auto, doc, start, end, hits)
        if auto.regex_set is not None:
            text = doc.folded[start:end]
            for idx in auto.regex_set.Match(text) or ():
                tid = auto.regex_ids[idx]
                for m in auto.regexes[tid].finditer(text):
                    if m.end() > m.start():
                        hits.append(Hit(tid, start + m.start(), start + m.end()))
        hits.sort(key=_BY_SPAN)
        return hits

    # -- events ---------------------------------------------------------------------------------

    def _events(
        self, finder: EventFinder, lazy: bool
    ) -> tuple[dict[str, list[Evidence]], list[Veto]]:
        found: dict[str, list[Evidence]] = defaultdict(list)
        vetoes: list[Veto] = []
        helpers = self.c.helpers if lazy else {}
        names = sorted(finder.candidates, key=lambda n: (n in helpers, n))  # helpers last
        for name in names:
            if name in helpers and not any(found.get(p) for p in helpers[name]):
                continue  # no rule can use it: none of its partner events has evidence
            ev = self.c.events[name]
            for si in finder.sentences_for(ev):
                patterns = finder.viable_patterns(ev, si)
                if not patterns:
                    continue
                for clause, chits in finder.clause_hits(si):
                    for p in patterns:
                        cand = finder.candidate(ev, p, si, clause, chits)
                        if cand is None:
                            continue
                        out = finder.report(cand, finder.veto(cand))
                        if isinstance(out, Evidence):
                            found[name].append(out)
                            break  # one pattern per clause is enough
                        vetoes.append(out)
        return found, vetoes

    # -- rules ----------------------------------------------------------------------------------

    def _in_context(
        self, doc: Doc, ev: Evidence, node: Event, lists_at: dict[str, list[int]]
    ) -> bool:
        """Whether an evidence satisfies the event's `with (...)` list expression."""
        if node.context is None:
            return True

        def list_ok(name: str) -> bool:
            return self._context_has(doc, ev, lists_at, name)

        return evaluate(node.context, lambda _n: False, list_ok)

    def _context_has(
        self, doc: Doc, ev: Evidence, lists_at: dict[str, list[int]], name: str
    ) -> bool:
        """Whether a list occurs where the evidence's actors are named: its paragraph and the
        headline, the question before an answer in a briefing transcript, and, when the
        evidence names its actors only as "the two governments" (双方, 两国), the lead
        paragraph that introduced them."""
        para = doc.paragraph_of(ev.start)
        lines = {0, para, doc.paragraph_of(ev.end - 1)}
        if para > 1 and doc.is_question(para - 1):
            lines.add(para - 1)
        if para > 1 and _BOTH_SIDES.search(doc.folded, ev.start, ev.end):
            lines.add(1)
        if doc.question_paragraph(ev.start) and doc.affirmed(ev.start):
            lines.add(para + 1)  # the answer that confirms it
        positions = lists_at.get(name)
        if not positions:
            return False
        for i in lines:  # positions are in text order: one bisection per line
            span = doc.paragraph_span(i)
            k = bisect.bisect_left(positions, span.start)
            if k < len(positions) and positions[k] < span.end:
                return True
        return False

    def _lists_at(self, doc: Doc, hits: list[Hit]) -> dict[str, list[int]]:
        """Where each list occurs; a term right after "except" or "other than" does not."""
        lists_at: dict[str, list[int]] = defaultdict(list)
        excepts = (
            [m.end() for m in _EXCEPT_WORD.finditer(doc.folded)]
            if any(w in doc.folded for w in _EXCEPT_GATE)
            else []
        )
        for h in hits:
            names = self.c.list_terms.get(h.tid)
            if not names:
                continue
            if (
                excepts
                and bisect.bisect_left(excepts, h.start - 24)
                < bisect.bisect_left(excepts, h.start + 1)
                and _EXCEPT.search(doc.folded, max(0, h.start - 24), h.start)
            ):
                continue
            for name in names:
                lists_at[name].append(h.start)
        return lists_at

    def _rules(
        self, doc: Doc, found: dict[str, list[Evidence]], lists_at: dict[str, list[int]]
    ) -> list[RuleMatch]:
        rules = []
        for rule_id in sorted(rule_atoms_for(set(found), set(lists_at), self.c)):
            rule = self.c.rules[rule_id]
            used: list[Evidence] = []

            def event_ok(node: Event, used: list[Evidence] = used) -> bool:
                ok = [
                    e for e in found.get(node.name, ()) if self._in_context(doc, e, node, lists_at)
                ]
                used.extend(ok)
                return bool(ok)

            if evaluate(rule.condition, event_ok, lambda li: li in lists_at):
                d = rule.definition
                rules.append(
                    RuleMatch(d.id, d.title, d.severity, tuple(d.tags), tuple(dict.fromkeys(used)))
                )
        disputed = {self.walkbacks[r.rule] for r in rules if r.rule in self.walkbacks}
        return [r for r in rules if r.rule not in disputed]

    def match(
        self,
        title: str,
        body: str,
        *,
        ref_year: int | None = None,
        published: date | None = None,
    ) -> MatchResult:
        """Match one article. `published` (its date) dates time expressions for news vs
        background and anchors `historical` years; without it only explicit years count,
        against `ref_year` (default: this year). A helper event (china_counterpart_named) is
        looked for only when a partner event has evidence: otherwise no rule can use it."""
        a = self.analyse(title, body, ref_year=ref_year, published=published, lazy=True)
        return MatchResult(
            events={k: tuple(v) for k, v in sorted(a.found.items())},
            rules=tuple(a.rules),
            vetoes=tuple(a.vetoes),
            text=a.doc.display,
        )

    def analyse(
        self,
        title: str,
        body: str,
        *,
        ref_year: int | None = None,
        published: date | None = None,
        lazy: bool = False,
    ) -> Analysis:
        """Everything `match` computes, kept for explaining a rule's whole condition (every
        event, helpers included, unless `lazy`)."""
        doc = Doc.build(title[:MAX_TITLE_CHARS], body[:MAX_BODY_CHARS])
        year = published.year if published else (ref_year or datetime.now(UTC).year)
        hits = self.scan(self.c.triggers, doc)
        finder = EventFinder(self.c, doc, hits, _CueHits(self, doc), year, published)
        found, vetoes = self._events(finder, lazy)
        if lazy and not found and not self.c.event_free_rules:
            return Analysis(doc, found, vetoes, {}, [])  # no rule can hold: nothing to place
        lists_at = self._lists_at(doc, hits)
        return Analysis(doc, found, vetoes, lists_at, self._rules(doc, found, lists_at))

    def context_ok(self, a: Analysis, ev: Evidence, node: Event) -> bool:
        """Whether one evidence satisfies an event node's `with (...)` lists."""
        return self._in_context(a.doc, ev, node, a.lists_at)

    def context_has(self, a: Analysis, ev: Evidence, name: str) -> bool:
        """Whether one list occurs in an evidence's context."""
        return self._context_has(a.doc, ev, a.lists_at, name)

    def match_article(self, article: Article) -> MatchResult:
        """Match an Article, dated by its publication date (else the year it was fetched)."""
        if article.published is not None:
            return self.match(article.title, article.body, published=article.published.date())
        return self.match(article.title, article.body, ref_year=article.fetched.year)
