"""Events inside clauses: pick the tightest terms, then let qualifiers veto (NegEx/ConText).

For each sentence that can hold an event, each clause and each of the event's patterns:
one hit per group within `within` words (asides count as one word); a group missing from
the clause may be completed by a definite noun that refers back to the sentence before or
to the headline ("The channel was opened on Wednesday"). The candidate is then judged by
the qualifiers (vetoes.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import date
from operator import attrgetter

from monitor.models import Evidence, EvidenceField, TermHit, Veto
from monitor.rules.combos import cut_by, longest, tightest, with_topic
from monitor.rules.compiler import Compiled, CompiledEvent
from monitor.rules.found import Candidate, Hit, VetoReason
from monitor.rules.text import Doc, Span
from monitor.rules.vetoes import Qualifiers

__all__ = ["Candidate", "EventFinder", "Hit", "VetoReason"]

_START = attrgetter("start")

# A clause is a sentence part: real ones hold a handful of hits per group. A hostile page (one
# endless "sentence" repeating the terms) must not make the search quadratic, so only the
# first hits of each group in a clause are combined.
MAX_GROUP_HITS = 24


def _by_sentence(hits: list[Hit], sentences: list[Span]) -> dict[int, list[Hit]]:
    """Hits (in text order) by the sentence holding their start: hits and sentences are both
    in text order, so two bisections per sentence that holds any, not one per hit."""
    out: dict[int, list[Hit]] = {}
    if not hits:
        return out
    hit_starts = [h.start for h in hits]
    lo, n = 0, len(hits)
    for si, sent in enumerate(sentences):
        lo = bisect_left(hit_starts, sent.start, lo)
        if lo == n:
            break
        hi = bisect_left(hit_starts, sent.end, lo)
        if hi > lo:
            out[si] = hits[lo:hi]
            lo = hi
    return out


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
        self.by_sentence: dict[int, list[Hit]] = defaultdict(
            list, _by_sentence(hits, doc.sentences)
        )
        self.vetoed: dict[str, set[int]] = defaultdict(set)  # event -> sentences with a veto
        self._sentence_tids: dict[int, set[int]] = {}
        self._place_cache: dict[int, list[tuple[str, int, list[Hit]]]] = {}
        self._clause_cache: dict[int, list[tuple[Span, list[Hit]]]] = {}
        self._title_hits = hits[: bisect_left(hits, doc.title_end, key=_START)]  # in text order
        self.candidates: dict[str, set[int]] = defaultdict(set)  # event -> sentences to examine
        anchors, anaphoric = c.anchors, c.anaphor_events
        for si, sentence_hits in self.by_sentence.items():
            tids = self._sentence_tids[si] = {h.tid for h in sentence_hits}
            for tid in tids & anchors.keys():
                for name, rest in anchors[tid]:
                    if not any(map(tids.isdisjoint, rest)):  # every other group present too
                        self.candidates[name].add(si)
            # short of a group or two, a pattern matters only beside an anaphor of its event
            # and only if the places it may point to hold the missing groups (a necessary
            # condition of viable_patterns, tested here once per sentence on their union)
            names = {n for tid in tids & anaphoric.keys() for n in anaphoric[tid]}
            around: set[int] | None = None
            for name in names:
                for pattern in c.events[name].patterns:
                    missing = [g for g in pattern.groups if g.isdisjoint(tids)]
                    if not 0 < len(missing) <= 2 or len(missing) == len(pattern.groups):
                        continue
                    if around is None:
                        around = set().union(*self._source_tids(si))
                    if not any(map(around.isdisjoint, missing)):
                        self.candidates[name].add(si)
                        break
        self.qualifiers = Qualifiers(
            c, doc, self.by_sentence, self.cue_hits_of, self._same_paragraph, ref_year, published
        )

    # -- candidate sentences ----------------------------------------------------------------

    def sentences_for(self, ev: CompiledEvent) -> list[int]:
        """Sentences worth examining: a pattern complete, or (two-sentence events) short of a
        group or two beside an anaphor of the event ("the channel")."""
        return sorted(self.candidates.get(ev.name, ()))

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
            if not any(map(tids.isdisjoint, pattern.groups)):
                out.append(p)
                continue
            missing = {g for g, group in enumerate(pattern.groups) if group.isdisjoint(tids)}
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
        """Term ids of every place an anaphor in sentence `si` may point to (a superset of
        `_sources`: no clause split, no veto), for the cheap test above."""
        return [self._tids(si)] + [{h.tid for h in hits} for _, _, hits in self._places(si)]

    def _places(self, si: int) -> list[tuple[str, int, list[Hit]]]:
        """(what, evidence start, hits) of the places outside sentence `si` an anaphor in it
        may point to: the sentence before (in the paragraph, or closing the paragraph before:
        wire copy puts one sentence in each), the transcript question an answer replies to,
        the headline. Computed once per sentence."""
        if si not in self._place_cache:
            doc, out = self.doc, []
            para = doc.paragraph_of(doc.sentences[si].start)
            before = doc.paragraph_of(doc.sentences[si - 1].start) if si > 0 else -1
            if before == para or (before == para - 1 >= 1 and not self.doc.is_question(before)):
                out.append(("before", si - 1, self.by_sentence.get(si - 1, [])))
            if para > 1 and self.doc.is_question(para - 1):
                asked = doc.paragraph_span(para - 1)
                out.append(("question", si, self._hits_between(asked.start, asked.end)))
            out.append(("headline", si, self._title_hits))  # the evidence stays the body sentence
            self._place_cache[si] = [(what, where, hits) for what, where, hits in out if hits]
        return self._place_cache[si]

    def _tids(self, si: int) -> set[int]:
        if si not in self._sentence_tids:
            self._sentence_tids[si] = {h.tid for h in self.by_sentence.get(si, ())}
        return self._sentence_tids[si]

    def clause_hits(self, si: int) -> list[tuple[Span, list[Hit]]]:
        """Each clause of a sentence with the trigger hits inside it (once per sentence: the
        events that examine it share the split)."""
        if si not in self._clause_cache:
            out = []
            hits = self.by_sentence.get(si, [])
            for clause in self.doc.clauses_of(si):
                inside = [h for h in hits if clause.start <= h.start < clause.end]
                out.append((clause, inside))
            self._clause_cache[si] = out
        return self._clause_cache[si]

    # -- candidates -------------------------------------------------------------------------

    def candidate(
        self, ev: CompiledEvent, p: int, si: int, clause: Span, chits: list[Hit]
    ) -> Candidate | None:
        """The tightest combination of one pattern in one clause, or None."""
        pattern = ev.patterns[p]
        in_title = clause.start < self.doc.title_end
        if (ev.field == "title" and not in_title) or (ev.field == "body" and in_title):
            return None
        terms = self.c.terms
        cjk = any(terms[h.tid].cjk for h in chits)  # 中将担任: only Han runs misread
        pseudo = self._pseudo_cues(si) if cjk else []
        groups = [
            longest(
                [h for h in chits if h.tid in g and not cut_by(h, pseudo)][:MAX_GROUP_HITS]
                if pseudo
                else [h for h in chits if h.tid in g][:MAX_GROUP_HITS]
            )
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
            self.doc.place_words(clause, g)
        chosen = tightest(groups, pattern)
        far_topic = False
        if not chosen and pattern.topic_within and not antecedent:
            chosen = with_topic(groups, pattern)
            far_topic = True
        if not chosen:
            return None
        return Candidate(
            ev, pattern, si, clause, tuple(chosen), tuple(antecedent), first, far_topic
        )

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
            # one anaphor stands for one group (a noun of that group, or "the report" for
            # whichever is missing first); any other missing group is borrowed
            stand_in = next((g for g in missing if g in refs and hit_of[g] is not None), None)
            borrowed = [g for g in missing if g != stand_in]
            if not anchors or len(borrowed) > 1 or any(hit_of[g] is None for g in missing):
                continue  # the sentence must say most of it itself: one group may be borrowed
            filled = [
                [Hit(r.tid, r.start, r.end) for r in refs[g]] if g == stand_in else hits
                for g, hits in enumerate(groups)
            ]
            # borrowed groups drop out of the distance; so does a group the anaphor itself
            # belongs to ("the report" standing for the channel is also the claim denied)
            said = {(r.start, r.end) for r in refs[stand_in]} if stand_in is not None else set()
            kept = [
                hits
                for g, hits in enumerate(filled)
                if hits and (g == stand_in or not any((h.start, h.end) in said for h in hits))
            ]
            antecedent = [a for g in sorted({*anchors, *missing}) if (a := hit_of[g])]
            return kept, antecedent, where
        return None

    def _sources(self, si: int, clause: Span, event: str) -> list[tuple[int, list[Hit]]]:
        """Where an anaphor may point: earlier clauses of the sentence, then `_places`. A
        source whose own candidate was vetoed passes nothing on ("将于下周举行。这一对话…"
        stays a plan), and a vetoed sentence before stops the search there."""
        doc, vetoed = self.doc, self.vetoed[event]
        earlier = [h for h in self.by_sentence.get(si, []) if h.start < clause.start]
        out = [(si, earlier)] if earlier else []
        for what, where, hits in self._places(si):
            if what == "before" and where in vetoed:
                return out  # the nearest antecedent was a plan or a hedge
            if what == "question" and any(doc.sentence_of(h.start) in vetoed for h in hits):
                continue
            if what == "headline" and (doc.in_title(clause.start) or self._title_vetoed(event)):
                continue
            out.append((where, self._unmisread(hits)))
        return out

    def _unmisread(self, hits: list[Hit]) -> list[Hit]:
        """Hits without the Han terms that cut through a pseudo-cue of their sentence (公报
        inside the newspaper 大公报), as a clause's own groups are chosen."""
        terms = self.c.terms
        if not any(terms[h.tid].cjk for h in hits):
            return hits
        out = []
        for h in hits:
            si = self.doc.sentence_of(h.start) if terms[h.tid].cjk else -1
            if si >= 0 and cut_by(h, self._pseudo_cues(si)):
                continue
            out.append(h)
        return out

    def _pseudo_cues(self, si: int) -> list[Hit]:
        """The pseudo-cues of a sentence (中将, 大公报): Han terms cut by one are misreadings."""
        return [h for h in self.cue_hits_of(si) if h.tid in self.c.pseudo]

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

    # -- vetoes (vetoes.py) ------------------------------------------------------------------

    def veto(self, cand: Candidate) -> VetoReason | None:
        """The exclusion or qualifier that vetoes a candidate (nearest cue first), or None."""
        return self.qualifiers.veto(cand)

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
        ref = self.qualifiers.nearest_time(cand)
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
            field: EvidenceField = "title" if doc.in_title(cand.clause.start) else "body"
            return Evidence(
                cand.event.name, sentence, first.start, last.end, field, terms, self.notes(cand)
            )
        notes = (veto.note,) if veto.note else ()
        self.vetoed[cand.event.name].add(cand.si)
        return Veto(
            cand.event.name, sentence, first.start, veto.kind, veto.cue, veto.at, terms, notes
        )
