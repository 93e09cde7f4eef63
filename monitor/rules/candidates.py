"""Events inside clauses: pick the tightest terms, then let qualifiers veto (NegEx/ConText).

For each sentence that can hold an event, each clause and each of the event's patterns:
one hit per group within `within` words (asides count as one word); a group missing from
the clause may be completed by a definite noun that refers back to the sentence before or
to the headline ("The channel was opened on Wednesday"). The candidate is then vetoed by
the nearest qualifier cue in scope (pseudo-cues, asides and relative clauses after the
terms never veto; denial frames govern the rest of their clause; a `proposed` cue after an
agreement term is part of the development), by an explicit past year, by a time expression
that dates it before the event's news window, or by a retraction in the next sentence.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from monitor.models import Evidence, TermHit, Veto
from monitor.rules.compiler import Compiled, CompiledEvent, CompiledPattern
from monitor.rules.qualifiers import past_years
from monitor.rules.temporal import TimeRef, time_refs
from monitor.rules.text import Doc, Span

_RELATIVE = re.compile(r"\b(?:that|which|who|whom|whose)\b|，(?:该|这)")
# Where a negation or hedge stops governing what follows it (ConText's terminators).
_TERMINATOR = re.compile(
    r",\s+(?:and|but|while|after|before|because|since|as|which|who|when|where|although)\b"
    r"|\b(?:and then|after which|whereas|said|says|told|added|announced|confirmed|stated)\b|，|、"
)
_AFTER_STOP = re.compile(r"[,;:]")
_INFINITIVE = re.compile(r"\bto\s+$")
_FUTURE_TENSE = re.compile(
    r"\b(?:will|would|shall|next|upcoming|due|scheduled|slated|planned|to be held)\b|将|拟|明年|下月|下周"
)
_FORWARD = ("negated", "hedged")  # kinds whose cue governs the rest of the clause after it
# Cues that, after an agreement term, report the agreement: "agreed that talks would be held",
# "affirmed the need to hold talks".
_FUTURE = frozenset({"would", "will", "need to", "need for"})


@dataclass(slots=True)
class Hit:
    """A term found in the text; `word` is its position inside the clause being examined."""

    tid: int
    start: int
    end: int
    word: int = 0


@dataclass(frozen=True)
class Candidate:
    """An event's terms found together in one clause (perhaps completed by an anaphor)."""

    event: CompiledEvent
    pattern: CompiledPattern
    si: int
    clause: Span
    chosen: tuple[Hit, ...]
    antecedent: tuple[Hit, ...]  # hits in the sentence before / headline an anaphor refers to
    from_sentence: int  # first sentence of the evidence (si - 1 for a two-sentence event)


@dataclass(frozen=True)
class VetoReason:
    """Which qualifier vetoed a candidate, the cue, where, and a plain-language note."""

    kind: str
    cue: str
    at: int
    note: str = ""


def _cut_by(hit: Hit, pseudo: list[Hit]) -> bool:
    """A term that cuts through a pseudo-cue is a misreading: 将担任 inside 中将担任."""
    return any(
        p.start < hit.end and hit.start < p.end and not (hit.start <= p.start and p.end <= hit.end)
        for p in pseudo
    )


def _longest(hits: list[Hit]) -> list[Hit]:
    """Drop hits inside a longer hit of the same group ("lead" inside "would lead")."""
    if len(hits) < 2:
        return hits
    return [
        h
        for h in hits
        if not any(
            o is not h
            and o.start <= h.start
            and h.end <= o.end
            and o.end - o.start > h.end - h.start
            for o in hits
        )
    ]


def _best_combo(groups: list[list[Hit]]) -> list[Hit]:
    best: list[Hit] = []
    best_span = None
    for anchor in groups[0]:
        combo = [anchor]
        for g in groups[1:]:
            free = [h for h in g if not any(h.start < c.end and c.start < h.end for c in combo)]
            if not free:
                break
            combo.append(min(free, key=lambda h: abs(h.word - anchor.word)))
        if len(combo) < len(groups):
            continue
        words = [h.word for h in combo]
        span = max(words) - min(words)
        if best_span is None or span < best_span:
            best, best_span = combo, span
    return best


def _ordered_combo(groups: list[list[Hit]]) -> list[Hit]:
    """Tightest combination with one hit per group, groups in the listed order."""
    best: list[Hit] = []
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


class EventFinder:
    """Finds the events of one document, given its trigger hits and a cue scanner."""

    def __init__(
        self,
        c: Compiled,
        doc: Doc,
        hits: list[Hit],
        cue_hits: dict[int, list[Hit]],
        ref_year: int,
        published: date | None,
    ) -> None:
        self.c = c
        self.doc = doc
        self.cue_hits = cue_hits  # sentence -> cue hits, filled by the matcher on demand
        self.ref_year = ref_year
        self.published = published
        self.by_sentence: dict[int, list[Hit]] = defaultdict(list)
        self.vetoed: dict[str, set[int]] = defaultdict(set)  # event -> sentences with a veto
        self._times: dict[tuple[int, int], list[TimeRef]] = {}
        self._sentence_tids: dict[int, set[int]] = {}
        self._questions: dict[int, bool] = {}
        self._title_hits = [h for h in hits if h.start < doc.title_end]
        self.anchored: dict[str, set[int]] = defaultdict(set)
        self.grouped: dict[str, set[int]] = defaultdict(set)
        sentences, si = doc.sentences, 0
        for h in hits:  # in text order: walk the sentences alongside
            while si < len(sentences) and sentences[si].end <= h.start:
                si += 1
            if si < len(sentences) and sentences[si].start <= h.start:
                self.by_sentence[si].append(h)
        for si, sentence_hits in self.by_sentence.items():
            tids = self._sentence_tids[si] = {h.tid for h in sentence_hits}
            for tid in tids:
                for name in c.term_events.get(tid, ()):
                    self.anchored[name].add(si)
                for name in c.group_events.get(tid, ()):
                    self.grouped[name].add(si)

    # -- candidate sentences ----------------------------------------------------------------

    def sentences_for(self, ev: CompiledEvent) -> list[int]:
        """Sentences worth examining: an anchor hit, or (two-sentence events) a group hit
        beside an anaphor of the event ("the channel")."""
        out = set(self.anchored.get(ev.name, ()))
        if ev.across_sentences and ev.anaphors:
            ids = self.c.anaphor_ids[ev.name]
            out |= {
                si for si in self.grouped.get(ev.name, ()) if not self._tids(si).isdisjoint(ids)
            }
        return sorted(out)

    def _same_paragraph(self, a: int, b: int) -> bool:
        if a < 0:
            return False
        doc = self.doc
        return doc.paragraph_of(doc.sentences[a].start) == doc.paragraph_of(doc.sentences[b].start)

    def viable_patterns(self, ev: CompiledEvent, si: int) -> list[int]:
        """Patterns that can hold in a sentence: every group present, or (two-sentence events)
        an anaphor of one missing group, at most one more missing, and a possible antecedent
        holding every missing group. Cheap set tests that spare most sentences the
        clause-by-clause search."""
        tids = self._tids(si)
        refs = [r for tid in tids & self.c.anaphor_ids[ev.name] for r in ev.anaphors[tid]]
        out = []
        for p, pattern in enumerate(ev.patterns):
            missing = {g for g, group in enumerate(pattern.groups) if group.isdisjoint(tids)}
            if not missing:
                out.append(p)
                continue
            if not ev.across_sentences or len(missing) > 2:
                continue
            referred = {g for pp, g in refs if pp == p}
            if not referred or len(missing - referred) > 1:
                continue
            if any(
                all(not pattern.groups[g].isdisjoint(src) for g in missing)
                for src in self._source_tids(si)
            ):
                out.append(p)
        return out

    def _source_tids(self, si: int) -> list[set[int]]:
        """Term ids of every place an anaphor in sentence `si` may point to (a superset)."""
        doc = self.doc
        out = [self._tids(si)]  # an earlier clause of the same sentence
        if self._same_paragraph(si - 1, si):
            out.append(self._tids(si - 1))
        para = doc.paragraph_of(doc.sentences[si].start)
        if para > 1 and self._question(para - 1):
            before = doc.paragraph_span(para - 1)
            out.append({h.tid for h in self._hits_between(before.start, before.end)})
        out.append({h.tid for h in self._title_hits})
        return out

    def _tids(self, si: int) -> set[int]:
        if si not in self._sentence_tids:
            self._sentence_tids[si] = {h.tid for h in self.by_sentence.get(si, ())}
        return self._sentence_tids[si]

    def clause_hits(self, si: int) -> list[tuple[Span, list[Hit]]]:
        """Each clause of a sentence with the trigger hits inside it."""
        out = []
        hits = self.by_sentence.get(si, [])
        for clause in self.doc.clauses_of(si):
            inside = [h for h in hits if clause.start <= h.start < clause.end]
            out.append((clause, inside))
        return out

    # -- candidates -------------------------------------------------------------------------

    def candidate(
        self, ev: CompiledEvent, p: int, si: int, clause: Span, chits: list[Hit]
    ) -> Candidate | None:
        """The tightest combination of one pattern in one clause, or None."""
        pattern = ev.patterns[p]
        in_title = clause.start < self.doc.title_end
        if (ev.field == "title" and not in_title) or (ev.field == "body" and in_title):
            return None
        cjk = any(self.c.terms[h.tid].cjk for h in chits)  # 中将担任: only Han runs misread
        pseudo = [h for h in self.cue_hits_of(si) if h.tid in self.c.pseudo] if cjk else []
        groups = [
            _longest([h for h in chits if h.tid in g and not _cut_by(h, pseudo)])
            for g in pattern.groups
        ]
        antecedent: list[Hit] = []
        first = si
        if not all(groups):
            filled = self._anaphor_fill(ev, p, si, clause, groups)
            if filled is None:
                return None
            groups, antecedent, first = filled
        for g in groups:
            for h in g:
                h.word = self.doc.word_in(clause, h.start)
        chosen = _ordered_combo(groups) if pattern.ordered else _best_combo(groups)
        if not chosen or max(h.word for h in chosen) - min(h.word for h in chosen) > pattern.within:
            return None
        return Candidate(ev, pattern, si, clause, tuple(chosen), tuple(antecedent), first)

    def _anaphor_fill(
        self, ev: CompiledEvent, p: int, si: int, clause: Span, groups: list[list[Hit]]
    ) -> tuple[list[list[Hit]], list[Hit], int] | None:
        """Complete missing groups from the sentence before (same paragraph) or the headline,
        when this clause refers back to it with a definite noun ("The channel was opened on
        Wednesday"; "The talks have begun" under "... first AI talks"). The anaphor stands in
        for its own group; other missing groups are borrowed from the same antecedent."""
        if not ev.across_sentences:
            return None
        pattern = ev.patterns[p]
        refs: dict[int, list[Hit]] = defaultdict(list)
        for h in self.by_sentence.get(si, ()):
            if clause.start <= h.start < clause.end:
                for pp, g in ev.anaphors.get(h.tid, ()):
                    if pp == p:
                        refs[g].append(h)
        if not refs:
            return None
        missing = [g for g, hits in enumerate(groups) if not hits]
        for where, source in self._sources(si, clause, ev.name):
            hit_of = {
                g: next((h for h in source if h.tid in group), None)
                for g, group in enumerate(pattern.groups)
            }
            anchors = [g for g in refs if hit_of[g] is not None]
            borrowed = [g for g in missing if g not in refs]
            if not anchors or len(borrowed) > 1 or any(hit_of[g] is None for g in missing):
                continue  # the sentence must say most of it itself: one group may be borrowed
            filled = [
                [Hit(r.tid, r.start, r.end) for r in refs[g]]
                if g in missing and g in refs
                else hits
                for g, hits in enumerate(groups)
            ]
            kept = [hits for hits in filled if hits]  # borrowed groups drop out of the distance
            antecedent = [a for g in sorted({*anchors, *missing}) if (a := hit_of[g])]
            return kept, antecedent, where
        return None

    def _sources(self, si: int, clause: Span, event: str) -> list[tuple[int, list[Hit]]]:
        """Where an anaphor may point: earlier clauses of the sentence, the sentence before in
        the paragraph, the question an answer replies to, the headline. A source whose own
        candidate was vetoed passes nothing on: "将于下周举行。这一对话…" stays a plan."""
        doc, vetoed = self.doc, self.vetoed[event]
        here = self.by_sentence.get(si, [])
        out = [(si, [h for h in here if h.start < clause.start])]
        if self._same_paragraph(si - 1, si):
            if si - 1 in vetoed:
                return [o for o in out if o[1]]  # the nearest antecedent was a plan or a hedge
            out.append((si - 1, self.by_sentence.get(si - 1, [])))
        para = doc.paragraph_of(doc.sentences[si].start)
        before = doc.paragraph_span(para - 1)
        if para > 1 and self._question(para - 1):
            asked = self._hits_between(before.start, before.end)
            if not any(doc.sentence_of(h.start) in vetoed for h in asked):
                out.append((si, asked))
        title = self._title_hits
        if title and not doc.in_title(clause.start) and not self._title_vetoed(event):
            out.append((si, title))  # the headline: the evidence stays the body sentence
        return [(where, hits) for where, hits in out if hits]

    def _question(self, para: int) -> bool:
        if para not in self._questions:
            span = self.doc.paragraph_span(para)
            self._questions[para] = self.doc.question_paragraph(span.start)
        return self._questions[para]

    def _hits_between(self, start: int, end: int) -> list[Hit]:
        first, last = self.doc.sentence_of(start), self.doc.sentence_of(max(start, end - 1))
        return [
            h
            for t in range(max(first, 0), last + 1)
            for h in self.by_sentence.get(t, [])
            if start <= h.start < end
        ]

    def _title_vetoed(self, event: str) -> bool:
        return any(self.doc.in_title(self.doc.sentences[t].start) for t in self.vetoed[event])

    def cue_hits_of(self, si: int) -> list[Hit]:
        """Cue hits of one sentence (scanned by the matcher when first asked)."""
        return self.cue_hits[si]

    # -- vetoes -----------------------------------------------------------------------------

    def veto(self, cand: Candidate) -> VetoReason | None:
        """The exclusion or qualifier that vetoes a candidate (nearest cue first), or None."""
        doc, clause, chosen = self.doc, cand.clause, cand.chosen
        chosen_ids = {(h.start, h.tid) for h in chosen}
        for h in self.by_sentence.get(cand.si, ()):
            inside = clause.start <= h.start < clause.end
            if inside and h.tid in cand.event.none and (h.start, h.tid) not in chosen_ids:
                return VetoReason("excluded", doc.display[h.start : h.end], h.start)
        span_end = max(h.end for h in chosen)
        for check in (self._cue_veto, self._year_veto, self._time_veto, self._retraction):
            found = check(cand, span_end)
            if found is not None:
                return found
        text = doc.display[clause.start : clause.end]
        if "hedged" in cand.pattern.qualifiers and text.rstrip("\"') ").endswith("?"):
            return VetoReason("hedged", "?", clause.end - 1, "a question")
        if "hedged" in cand.pattern.qualifiers and doc.question_paragraph(clause.start):
            return VetoReason(
                "hedged", "?", clause.start, "inside a question: presupposed, not reported"
            )
        return None

    def _after_relative(self, span_end: int, pos: int) -> bool:
        # "a channel that Beijing suspended years ago": the cue describes the noun
        return pos > span_end and bool(_RELATIVE.search(self.doc.folded, span_end, pos))

    def _live_cues(self, cand: Candidate, span_end: int) -> list[Hit]:
        """Cue hits of the clause that can veto: not inside a pseudo-cue, an aside, a relative
        clause after the terms, or the matched terms themselves; not the month May."""
        doc, clause = self.doc, cand.clause
        cues = [h for h in self.cue_hits_of(cand.si) if clause.start <= h.start < clause.end]
        pseudo = [(h.start, h.end) for h in cues if h.tid in self.c.pseudo]
        chosen = [(h.start, h.end) for h in cand.chosen]
        scopes = {doc.aside_of(clause, h.start) for h in cand.chosen}
        out = []
        for h in cues:
            if not self.c.cue_kind.get(h.tid):
                continue
            if any(s <= h.start and h.end <= e for s, e in pseudo + chosen):
                continue
            if doc.aside_of(clause, h.start) not in scopes or self._after_relative(
                span_end, h.start
            ):
                continue  # an aside is its own scope: only cues beside the terms count
            if doc.display[h.start : h.end] == "May" and h.start != clause.start:
                continue  # the month, not the modal
            out.append(h)
        return out

    def _cue_veto(self, cand: Candidate, span_end: int) -> VetoReason | None:
        doc, clause, chosen = self.doc, cand.clause, cand.chosen
        scope = cand.event.scope
        lo = min(h.word for h in chosen) - scope.before
        last = max(chosen, key=lambda h: h.end)
        # a Chinese noun phrase puts its head last: "启动X的筹备工作" (preparations for X)
        hi = max(h.word for h in chosen) + scope.after + (3 if self.c.terms[last.tid].cjk else 0)
        first = min(h.start for h in chosen)
        agreements = [
            h.start
            for h in self.cue_hits_of(cand.si)
            if h.tid in cand.event.agreement and clause.start <= h.start < clause.end
        ]
        best: tuple[int, str, Hit] | None = None
        for h in self._live_cues(cand, span_end):
            h.word = doc.word_in(clause, h.start)
            frame = h.tid in self.c.frames and h.start < first
            governs = h.start < first and not _TERMINATOR.search(doc.folded, h.end, first)
            # a cue after a comma belongs to the next phrase (history still dates the clause)
            after_comma = h.start >= span_end and bool(
                _AFTER_STOP.search(doc.folded, span_end, h.start)
            )

            for kind in cand.pattern.qualifiers:
                if kind not in self.c.cue_kind[h.tid]:
                    continue
                forward = governs and kind in _FORWARD
                if after_comma and kind != "historical":
                    continue
                if not (kind == "historical" or frame or forward or lo <= h.word <= hi):
                    continue
                future = kind == "proposed" or self.doc.folded[h.start : h.end] in _FUTURE
                if future and any(a <= h.start for a in agreements):
                    continue  # "agreed that they will hold talks": the agreement is the news
                distance = min(abs(h.word - c.word) for c in chosen)
                if best is None or distance < best[0]:
                    best = (distance, kind, h)
        if best is None and "proposed" in cand.pattern.qualifiers:
            return self._infinitive(cand, agreements)
        if best is None:
            return None
        _, found, cue = best
        note = "denial frame governs the clause" if cue.tid in self.c.frames else ""
        return VetoReason(found, doc.display[cue.start : cue.end], cue.start, note)

    def _infinitive(self, cand: Candidate, agreements: list[int]) -> VetoReason | None:
        """ "to establish", "to hold": an infinitive states an aim or a plan, unless an
        agreement before it makes it the news ("agreed to hold talks")."""
        for h in cand.chosen:
            if self.c.terms[h.tid].key.startswith("to "):
                continue
            m = _INFINITIVE.search(self.doc.folded, max(0, h.start - 4), h.start)
            if m and not any(a <= m.start() for a in agreements):
                return VetoReason("proposed", "to", m.start(), "an infinitive: an aim or plan")
        return None

    def _year_veto(self, cand: Candidate, span_end: int) -> VetoReason | None:
        if "historical" not in cand.pattern.qualifiers:
            return None
        clause = cand.clause
        scopes = {self.doc.aside_of(clause, h.start) for h in cand.chosen}
        for s, _e, year in past_years(self.doc.folded[clause.start : clause.end], self.ref_year):
            at = clause.start + s
            if self._after_relative(span_end, at) or self.doc.aside_of(clause, at) not in scopes:
                continue  # the year of another noun, or of an aside the terms are not in
            return VetoReason("historical", year, at, f"a year before {self.ref_year}")
        return None

    def nearest_time(self, cand: Candidate) -> TimeRef | None:
        """The time expression nearest the terms: in the clause, else in the sentence."""
        if self.published is None:
            return None
        doc = self.doc
        sent = doc.sentences[cand.si]
        mid = min(h.start for h in cand.chosen)
        scopes = {doc.aside_of(cand.clause, h.start) for h in cand.chosen}
        for lo, hi in ((cand.clause.start, cand.clause.end), (sent.start, sent.end)):
            if (lo, hi) not in self._times:
                self._times[lo, hi] = time_refs(doc.folded, lo, hi, self.published)
            refs = [
                r
                for r in self._times[lo, hi]
                if r.days_before is not None
                and doc.aside_of(cand.clause, r.start) in scopes
                and not self._dates_other_noun(r, cand)
            ]
            if refs:
                ref = min(refs, key=lambda r: abs(r.start - mid))
                if _FUTURE_TENSE.search(doc.folded, cand.clause.start, ref.start):
                    # "would be held in March": the month ahead, not the one behind
                    return TimeRef(ref.text, ref.start, ref.end, -1, None)
                return ref
        return None

    def _dates_other_noun(self, ref: TimeRef, cand: Candidate) -> bool:
        """ "last month's statement" dates the statement, not the event, unless the possessed
        noun is one of the event's terms ("Tuesday's activation of the channel")."""
        if self.doc.folded[ref.end : ref.end + 2] != "'s":
            return False
        return not any(ref.end < h.start <= ref.end + 24 for h in cand.chosen)

    def _time_veto(self, cand: Candidate, span_end: int) -> VetoReason | None:
        if "historical" not in cand.pattern.qualifiers:
            return None
        ref = self.nearest_time(cand)
        if ref is None or ref.days_before is None or ref.days_before <= cand.event.news_window_days:
            return None
        window = f"news window {cand.event.news_window_days:g} days"
        if ref.resolved is None:
            note = f"'{ref.text}' dates it relative to an earlier event ({window})"
        else:
            note = f"'{ref.text}' = {ref.resolved.isoformat()}, {ref.days_before} days before publication ({window})"
        return VetoReason("historical", self.doc.display[ref.start : ref.end], ref.start, note)

    def _retraction(self, cand: Candidate, span_end: int) -> VetoReason | None:
        if "negated" not in cand.pattern.qualifiers:
            return None
        clause, last = cand.clause, max(h.end for h in cand.chosen)
        for h in self.cue_hits_of(cand.si):
            if h.tid in self.c.retractions and last <= h.start < clause.end:
                note = "the report is taken back in the same clause"
                return VetoReason("negated", self.doc.display[h.start : h.end], h.start, note)
        nxt = cand.si + 1
        if nxt >= len(self.doc.sentences) or not self._same_paragraph(cand.si, nxt):
            return None
        for h in self.cue_hits_of(nxt):
            if h.tid in self.c.retractions:
                note = "the next sentence takes it back"
                return VetoReason("negated", self.doc.display[h.start : h.end], h.start, note)
        return None

    # -- results ----------------------------------------------------------------------------

    def term_hit(self, h: Hit) -> TermHit:
        """A hit as reported: the rule's term, the text it matched, offsets."""
        return TermHit(
            self.c.terms[h.tid].written, self.doc.display[h.start : h.end], h.start, h.end
        )

    def notes(self, cand: Candidate) -> tuple[str, ...]:
        """Plain-language reasons worth showing: forms, script, two sentences, dates."""
        out = []
        for h in cand.chosen + cand.antecedent:
            term = self.c.terms[h.tid]
            text = self.doc.folded[h.start : h.end]
            if term.cjk and self.doc.display[h.start : h.end] != text:
                out.append(f"'{self.doc.display[h.start : h.end]}' read as Simplified '{text}'")
            elif not term.cjk and not term.prefix and text != term.key and text in term.forms:
                out.append(f"'{text}' is a form of '{term.key}'")
        if cand.antecedent:
            clause = cand.clause
            anaphor = next(
                h
                for h in self.by_sentence.get(cand.si, ())
                if clause.start <= h.start < clause.end and h.tid in cand.event.anaphors
            )
            first = cand.antecedent[0]
            where = "the headline" if self.doc.in_title(first.start) else "the sentence before"
            words = ", ".join(f"'{self.doc.display[h.start : h.end]}'" for h in cand.antecedent)
            out.append(
                f"two sentences: '{self.doc.display[anaphor.start : anaphor.end]}' refers back "
                f"to {words} in {where}"
            )
        ref = self.nearest_time(cand)
        if ref is not None and ref.resolved is not None:
            out.append(
                f"'{ref.text}' = {ref.resolved.isoformat()}, {ref.days_before} day(s) before "
                f"publication (within the {cand.event.news_window_days:g}-day news window)"
            )
        return tuple(dict.fromkeys(out))

    def report(self, cand: Candidate, veto: VetoReason | None) -> Evidence | Veto:
        """Evidence for a clean candidate, a Veto for a vetoed one."""
        doc = self.doc
        first, last = doc.sentences[cand.from_sentence], doc.sentences[cand.si]
        sentence = doc.display[first.start : last.end]
        hits = sorted(cand.chosen + cand.antecedent, key=lambda h: h.start)
        terms = tuple(self.term_hit(h) for h in hits)
        if veto is None:
            field = "title" if doc.in_title(cand.clause.start) else "body"
            return Evidence(
                cand.event.name, sentence, first.start, last.end, field, terms, self.notes(cand)
            )
        notes = (veto.note,) if veto.note else ()
        self.vetoed[cand.event.name].add(cand.si)
        return Veto(
            cand.event.name, sentence, first.start, veto.kind, veto.cue, veto.at, terms, notes
        )
