"""Evaluate compiled rules on an article: hits -> clause candidates -> qualifiers -> rules."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.models import Article, Evidence, MatchResult, RuleMatch, TermHit, Veto
from monitor.rules.compiler import Compiled, CompiledEvent, compile_rules, rule_atoms_for
from monitor.rules.condition import Event, evaluate
from monitor.rules.loader import RuleSet, load_rules
from monitor.rules.qualifiers import past_years
from monitor.rules.text import Doc, Span

_RELATIVE = re.compile(r"\b(?:that|which|who|whom|whose)\b")


@dataclass(slots=True)
class _Hit:
    tid: int
    start: int
    end: int
    word: int = 0  # position in words inside its clause, set when the clause is examined


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Matcher:
    """Rules compiled once; `match()` is pure and cheap per article."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.c: Compiled = compile_rules(ruleset)

    @classmethod
    def from_path(cls, path: Path) -> Matcher:
        """Load, validate and compile rules from a file or folder."""
        return cls(load_rules(path))

    # -- scanning -----------------------------------------------------------------------------

    def _accept(self, tid: int, doc: Doc, start: int, end: int) -> int | None:
        """Where a literal hit ends after boundary checks (None: rejected)."""
        term = self.c.terms[tid]
        text = doc.folded
        n = len(text)
        if not term.cjk:
            if (
                not term.suffix
                and start > 0
                and _is_word_char(text[start - 1])
                and _is_word_char(text[start])
            ):
                return None
            if (
                not term.prefix
                and end < n
                and _is_word_char(text[end])
                and _is_word_char(text[end - 1])
            ):
                return None
        if term.exact is not None and doc.display[start:end] != term.exact:
            return None
        if term.prefix:  # report the whole word: `open*` matched "opened"
            while end < n and _is_word_char(text[end]):
                end += 1
        return end

    def _scan(self, doc: Doc) -> list[_Hit]:
        c = self.c
        hits: list[_Hit] = []
        if c.automaton is not None:
            for end_idx, (length, tids) in c.automaton.iter(doc.folded):
                start = end_idx - length + 1
                for tid in tids:
                    stop = self._accept(tid, doc, start, end_idx + 1)
                    if stop is not None:
                        hits.append(_Hit(tid, start, stop))
        if c.regex_set is not None:
            for idx in c.regex_set.Match(doc.folded) or ():
                tid = c.regex_ids[idx]
                for m in c.regexes[tid].finditer(doc.folded):
                    if m.end() > m.start():
                        hits.append(_Hit(tid, m.start(), m.end()))
        hits.sort(key=lambda h: (h.start, h.end))
        return hits

    # -- events ---------------------------------------------------------------------------------

    def _term_hit(self, doc: Doc, h: _Hit) -> TermHit:
        return TermHit(self.c.terms[h.tid].written, doc.display[h.start : h.end], h.start, h.end)

    @staticmethod
    def _best_combo(groups: list[list[_Hit]]) -> list[_Hit]:
        best: list[_Hit] = []
        best_span = None
        for anchor in groups[0]:
            combo = [anchor] + [min(g, key=lambda h: abs(h.word - anchor.word)) for g in groups[1:]]
            words = [h.word for h in combo]
            span = max(words) - min(words)
            if best_span is None or span < best_span:
                best, best_span = combo, span
        return best

    @staticmethod
    def _ordered_combo(groups: list[list[_Hit]]) -> list[_Hit]:
        """Tightest combination with one hit per group, groups in the listed order."""
        best: list[_Hit] = []
        for first in groups[0]:
            combo = [first]
            for g in groups[1:]:
                nxt = next((h for h in g if h.start >= combo[-1].end), None)
                if nxt is None:
                    break
                combo.append(nxt)
            else:
                if not best or combo[-1].word - combo[0].word < best[-1].word - best[0].word:
                    best = combo
        return best

    def _veto(
        self,
        ev: CompiledEvent,
        doc: Doc,
        clause: Span,
        chosen: list[_Hit],
        clause_hits: list[_Hit],
        ref_year: int,
    ) -> tuple[str, str, int] | None:
        """The exclusion or qualifier that vetoes a candidate, nearest cue first; None if clean."""
        chosen_ids = {(h.start, h.tid) for h in chosen}
        for h in clause_hits:
            if h.tid in ev.none and (h.start, h.tid) not in chosen_ids:
                return "excluded", doc.display[h.start : h.end], h.start
        span_end = max(h.end for h in chosen)

        def in_relative_clause(pos: int) -> bool:
            # "a channel that Beijing suspended years ago": the cue describes the noun
            return pos > span_end and bool(_RELATIVE.search(doc.folded, span_end, pos))

        cue = self._cue_veto(ev, doc, chosen, clause_hits, in_relative_clause)
        if cue is not None:
            return cue
        if "historical" in ev.qualifiers:
            for s, _e, year in past_years(doc.folded[clause.start : clause.end], ref_year):
                if not in_relative_clause(clause.start + s):
                    return "historical", year, clause.start + s
        text = doc.display[clause.start : clause.end]
        if "hedged" in ev.qualifiers and text.rstrip("\"') ").endswith("?"):
            return "hedged", "?", clause.end - 1
        return None

    def _cue_veto(
        self,
        ev: CompiledEvent,
        doc: Doc,
        chosen: list[_Hit],
        clause_hits: list[_Hit],
        in_relative_clause: Callable[[int], bool],
    ) -> tuple[str, str, int] | None:
        lo = min(h.word for h in chosen) - ev.scope.before
        hi = max(h.word for h in chosen) + ev.scope.after
        chosen_spans = [(h.start, h.end) for h in chosen]
        best: tuple[int, str, _Hit] | None = None  # the cue nearest the matched terms explains best
        for h in clause_hits:
            kinds = self.c.cue_kind.get(h.tid)
            if (
                not kinds
                or in_relative_clause(h.start)
                or any(s <= h.start and h.end <= e for s, e in chosen_spans)
            ):
                continue
            for kind in ev.qualifiers:
                if kind in kinds and (kind == "historical" or lo <= h.word <= hi):
                    distance = min(abs(h.word - c.word) for c in chosen)
                    if best is None or distance < best[0]:
                        best = (distance, kind, h)
        if best is None:
            return None
        return best[1], doc.display[best[2].start : best[2].end], best[2].start

    def _events(
        self, doc: Doc, hits: list[_Hit], ref_year: int
    ) -> tuple[dict[str, list[Evidence]], list[Veto]]:
        c = self.c
        by_sentence: dict[int, list[_Hit]] = defaultdict(list)
        anchored: dict[str, set[int]] = defaultdict(set)  # event -> sentences with an anchor hit
        for h in hits:
            si = doc.sentence_of(h.start)
            if si < 0:
                continue
            by_sentence[si].append(h)
            for name in c.term_events.get(h.tid, ()):
                anchored[name].add(si)
        found: dict[str, list[Evidence]] = defaultdict(list)
        vetoes: list[Veto] = []
        for name in sorted(anchored):
            ev = c.events[name]
            for si in sorted(anchored[name]):
                for clause, chits in self._clause_hits(doc, si, by_sentence[si]):
                    self._candidate(ev, doc, si, clause, chits, ref_year, found, vetoes)
        return found, vetoes

    @staticmethod
    def _clause_hits(doc: Doc, si: int, hits: list[_Hit]) -> list[tuple[Span, list[_Hit]]]:
        out = []
        for clause in doc.clauses_of(si):
            inside = [h for h in hits if clause.start <= h.start < clause.end]
            if inside:
                out.append((clause, inside))
        return out

    def _candidate(
        self,
        ev: CompiledEvent,
        doc: Doc,
        si: int,
        clause: Span,
        chits: list[_Hit],
        ref_year: int,
        found: dict[str, list[Evidence]],
        vetoes: list[Veto],
    ) -> None:
        in_title = clause.start < doc.title_end
        if (ev.field == "title" and not in_title) or (ev.field == "body" and in_title):
            return
        groups = [[h for h in chits if h.tid in g] for g in ev.groups]
        if not all(groups):
            return
        for h in chits:
            h.word = doc.word_in(clause, h.start)
        chosen = self._ordered_combo(groups) if ev.ordered else self._best_combo(groups)
        if not chosen or max(h.word for h in chosen) - min(h.word for h in chosen) > ev.within:
            return
        sent = doc.sentences[si]
        sentence = doc.display[sent.start : sent.end]
        terms = tuple(self._term_hit(doc, h) for h in sorted(chosen, key=lambda h: h.start))
        veto = self._veto(ev, doc, clause, chosen, chits, ref_year)
        if veto is None:
            field = "title" if in_title else "body"
            found[ev.name].append(Evidence(ev.name, sentence, sent.start, sent.end, field, terms))
        else:
            kind, cue, at = veto
            vetoes.append(Veto(ev.name, sentence, sent.start, kind, cue, at, terms))

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
        si = doc.sentence_of(ev.start)
        spans = [(0, doc.title_end)]
        for j in (si - 1, si):  # the sentence and the one before it, plus the headline
            if 0 <= j < len(doc.sentences):
                spans.append((doc.sentences[j].start, doc.sentences[j].end))
        return any(s <= pos < e for pos in lists_at.get(name, ()) for s, e in spans)

    def match(self, title: str, body: str, *, ref_year: int | None = None) -> MatchResult:
        """Match one article; `ref_year` (the article's year) anchors the `historical` qualifier."""
        doc = Doc.build(title, body)
        year = ref_year or datetime.now(UTC).year
        hits = self._scan(doc)
        found, vetoes = self._events(doc, hits, year)
        lists_at: dict[str, list[int]] = defaultdict(list)
        for h in hits:
            for name in self.c.list_terms.get(h.tid, ()):
                lists_at[name].append(h.start)
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
        return MatchResult(
            events={k: tuple(v) for k, v in sorted(found.items())},
            rules=tuple(rules),
            vetoes=tuple(vetoes),
            text=doc.display,
        )

    def match_article(self, article: Article) -> MatchResult:
        """Match an Article, anchoring `historical` on its published (else fetched) year."""
        when = article.published or article.fetched
        return self.match(article.title, article.body, ref_year=when.year)
