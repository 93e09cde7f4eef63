"""Qualifiers judge a candidate (NegEx/ConText style): the nearest cue in scope vetoes it.

Pseudo-cues, asides and relative clauses after the terms never veto; denial frames govern the
rest of their clause; a `proposed` cue after an agreement term is part of the development; an
explicit past year, a time expression dating it before the event's news window, a retraction
in the clause or the next sentence, and a question also veto.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from monitor.rules.compiler import Compiled
from monitor.rules.found import Candidate, Hit, VetoReason
from monitor.rules.morphology import is_base_verb
from monitor.rules.qualifiers import past_years
from monitor.rules.schema import QualifierKind
from monitor.rules.temporal import TimeRef, time_refs
from monitor.rules.text import Doc, Span

# Each pattern below opens with a lookahead on its possible first characters, so the regex
# engine skips ahead instead of trying every alternative at every position.
_RELATIVE = re.compile(r"(?=[tw，])(?:\b(?:that|which|who|whom|whose)\b|，(?:该|这))")
# Where a negation or hedge stops governing what follows it (ConText's terminators).
_TERMINATOR = re.compile(
    r"(?=[,aswtc，、])(?:,\s+(?:and|but|while|after|before|because|since|as|which|who|when|where|although)\b"
    r"|\b(?:and then|after which|whereas|said|says|told|added|announced|confirmed|stated)\b|，|、)"
)
_AFTER_STOP = re.compile(r"[,;:]")
_MODIFIER_REACH = 6  # characters from a cue or date to the 的 that makes it a noun's modifier
_GOVERNING = ("under ", "as part of ", "as agreed", "pursuant to ", "in line with ")
_INFINITIVE = re.compile(r"\bto\s+$")
_FUTURE_TENSE = re.compile(
    r"(?=[wsnudpt将拟明下])(?:\b(?:will|would|shall|next|upcoming|due|scheduled|slated|planned|to be held)\b|将|拟|明年|下月|下周)"
)
# Cues further than this (characters) from the terms are not looked at: far beyond any scope
# in real text, and it keeps a hostile endless clause linear.
_REACH = 600
_FORWARD = ("negated", "hedged")  # kinds whose cue governs the rest of the clause after it
# Cues that, after an agreement term, report the agreement: "agreed that talks would be held",
# "affirmed the need to hold talks".
_FUTURE = frozenset({"would", "will", "need to", "need for"})


@dataclass(eq=False)
class Qualifiers:
    """The veto half of the event search, for one document (the caches below fill as
    candidates are judged: most are shared by the candidates of one clause or sentence)."""

    c: Compiled
    doc: Doc
    by_sentence: dict[int, list[Hit]]
    cue_hits_of: Callable[[int], list[Hit]]
    same_paragraph: Callable[[int, int], bool]
    ref_year: int
    published: date | None
    _times: dict[int, list[TimeRef]] = field(
        default_factory=dict, init=False
    )  # sentence -> its times
    _clause_cue_cache: dict[tuple[int, int], list[tuple[Hit, Span | None]]] = field(
        default_factory=dict, init=False
    )
    _scope_cache: dict[tuple[int, ...], set[Span | None]] = field(default_factory=dict, init=False)
    _marks: dict[tuple[int, int], tuple[list[int], list[int]]] = field(
        default_factory=dict, init=False
    )
    _years: dict[tuple[int, int], list[tuple[int, int, str]]] = field(
        default_factory=dict, init=False
    )
    # candidate (by identity, kept alive so the id stays its own) -> its nearest time:
    # asked by the time veto and again by the evidence notes
    _nearest: dict[int, tuple[Candidate, TimeRef | None]] = field(default_factory=dict, init=False)

    def veto(self, cand: Candidate) -> VetoReason | None:
        """The exclusion or qualifier that vetoes a candidate (nearest cue first), or None."""
        doc, clause, chosen = self.doc, cand.clause, cand.chosen
        chosen_ids = {(h.start, h.tid) for h in chosen}
        for h in self.by_sentence.get(cand.si, ()):
            inside = clause.start <= h.start < clause.end
            if inside and h.tid in cand.event.none and (h.start, h.tid) not in chosen_ids:
                return VetoReason("excluded", doc.display[h.start : h.end], h.start)
        span_end = max(h.end for h in chosen)
        confirmed = doc.question_paragraph(clause.start) and doc.affirmed(clause.start)
        for check in (self._cue_veto, self._year_veto, self._time_veto, self._retraction):
            found = check(cand, span_end)
            if found is not None and not (confirmed and found.kind == "hedged"):
                return found
        if confirmed:
            return None  # "Can you confirm that the talks went ahead?" "Yes." reports them
        text = doc.display[clause.start : clause.end]
        if "hedged" in cand.pattern.qualifiers and text.rstrip("\"') ").endswith("?"):
            return VetoReason("hedged", "?", clause.end - 1, "a question")
        if "hedged" in cand.pattern.qualifiers and doc.question_paragraph(clause.start):
            return VetoReason(
                "hedged", "?", clause.start, "inside a question: presupposed, not reported"
            )
        return None

    def _scopes(self, cand: Candidate) -> set[Span | None]:
        """The asides (None: the main line) the candidate's terms sit in: only cues, years
        and dates in these qualify it. Asked by three checks, computed once per candidate."""
        key = (cand.clause.start, *(h.start for h in cand.chosen))
        if key not in self._scope_cache:
            self._scope_cache[key] = {self.doc.aside_of(cand.clause, h.start) for h in cand.chosen}
        return self._scope_cache[key]

    def _after_relative(self, span_end: int, pos: int) -> bool:
        # "a channel that Beijing suspended years ago": the cue describes the noun
        return pos > span_end and self._marked(_RELATIVE, span_end, pos)

    def _marked(self, pattern: re.Pattern[str], start: int, end: int) -> bool:
        """Whether a match of `pattern` lies inside folded[start:end]. The matches of each
        pattern are found once per sentence and bisected, instead of a search per cue."""
        si = self.doc.sentence_of(start)
        if si < 0:
            return pattern.search(self.doc.folded, start, end) is not None
        key = (id(pattern), si)
        if key not in self._marks:
            sent = self.doc.sentences[si]
            found = list(pattern.finditer(self.doc.folded, sent.start, sent.end))
            self._marks[key] = ([m.start() for m in found], [m.end() for m in found])
        starts, ends = self._marks[key]
        i = bisect_left(starts, start)
        return i < len(starts) and ends[i] <= end

    def _clause_cues(self, si: int, clause: Span) -> list[tuple[Hit, Span | None]]:
        """The clause's cue hits that can qualify anything, with the aside each sits in:
        not inside a pseudo-cue ("not only", 中将), not the month May. Computed once per clause
        and shared by every candidate (several events often sit in one sentence)."""
        key = (clause.start, clause.end)
        if key not in self._clause_cue_cache:
            doc = self.doc
            cues = [h for h in self.cue_hits_of(si) if clause.start <= h.start < clause.end]
            pseudo = [(h.start, h.end) for h in cues if h.tid in self.c.pseudo]
            kept = []
            for h in cues:
                if not self.c.cue_kind.get(h.tid):
                    continue
                if any(s <= h.start and h.end <= e for s, e in pseudo):
                    continue
                if doc.display[h.start : h.end] == "May" and h.start != clause.start:
                    continue  # the month, not the modal
                kept.append((h, doc.aside_of(clause, h.start)))
            doc.place_words(clause, (h for h, _ in kept))
            self._clause_cue_cache[key] = kept
        return self._clause_cue_cache[key]

    def _live_cues(self, cand: Candidate, span_end: int) -> list[Hit]:
        """Cues that can veto this candidate: near its terms, not the terms themselves, in the
        same scope (an aside is its own), not in a relative clause after the terms."""
        clause = cand.clause
        lo = max(clause.start, min(h.start for h in cand.chosen) - _REACH)
        hi = max(h.end for h in cand.chosen) + _REACH
        chosen = [(h.start, h.end) for h in cand.chosen]
        scopes = self._scopes(cand)
        return [
            h
            for h, aside in self._clause_cues(cand.si, clause)
            if lo <= h.start < hi
            and not any(s <= h.start and h.end <= e for s, e in chosen)
            and aside in scopes
            and not self._after_relative(span_end, h.start)
            and not self._modifies_noun(h.end, cand)
        ]

    def _modifies_noun(self, end: int, cand: Candidate) -> bool:
        """Whether text ending at `end` sits in a Chinese modifier of the next term:
        "暂停逾半年的中美磋商" (the talks suspended for half a year) resumed; "今年8月暂停的渠道"
        was restored. Only when no term of the candidate lies inside the modifier: in
        "去年建立的热线" the development itself is in it (any of its terms, chosen or not)."""
        nxt = min((h.start for h in cand.chosen if h.start >= end), default=None)
        if nxt is None:
            return False
        de = self.doc.folded.find("的", end, min(nxt, end + _MODIFIER_REACH))
        if de == -1 or _AFTER_STOP.search(self.doc.folded, end, de):
            return False  # a modifier is short and has no comma: "暂停逾半年的"
        terms = cand.pattern.terms
        return not any(end <= h.start < de and h.tid in terms for h in self.by_sentence[cand.si])

    def _cue_veto(self, cand: Candidate, span_end: int) -> VetoReason | None:
        doc, clause, chosen = self.doc, cand.clause, cand.chosen
        scope = cand.event.scope
        lo = min(h.word for h in chosen) - scope.before
        last = max(chosen, key=lambda h: h.end)
        # a Chinese noun phrase puts its head last: "启动X的筹备工作" (preparations for X)
        hi = max(h.word for h in chosen) + scope.after + (3 if self.c.terms[last.tid].cjk else 0)
        first = min(h.start for h in chosen)
        agreements = [
            # "under an agreement reached on Monday" governs the clause from wherever it stands
            clause.start if doc.folded.startswith(_GOVERNING, h.start) else h.start
            for h in self.cue_hits_of(cand.si)
            if h.tid in cand.event.agreement and clause.start <= h.start < clause.end
        ]
        best: tuple[int, QualifierKind, Hit] | None = None
        for h in self._live_cues(cand, span_end):
            frame = h.tid in self.c.frames and h.start < first
            governs = h.start < first and not self._marked(_TERMINATOR, h.end, first)
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
            if not is_base_verb(self.doc.folded[h.start : h.end].split(" ", 1)[0]):
                continue  # "devoted to artificial intelligence": a preposition, not a plan
            m = _INFINITIVE.search(self.doc.folded, max(0, h.start - 4), h.start)
            if m and not any(a <= m.start() for a in agreements):
                return VetoReason("proposed", "to", m.start(), "an infinitive: an aim or plan")
        return None

    def _year_veto(self, cand: Candidate, span_end: int) -> VetoReason | None:
        if "historical" not in cand.pattern.qualifiers:
            return None
        clause = cand.clause
        scopes = self._scopes(cand)
        key = (clause.start, clause.end)
        if key not in self._years:  # once per clause, shared by its candidates
            self._years[key] = past_years(self.doc.folded[clause.start : clause.end], self.ref_year)
        for s, _e, year in self._years[key]:
            at = clause.start + s
            if self._after_relative(span_end, at) or self.doc.aside_of(clause, at) not in scopes:
                continue  # the year of another noun, or of an aside the terms are not in
            return VetoReason("historical", year, at, f"a year before {self.ref_year}")
        return None

    def nearest_time(self, cand: Candidate) -> TimeRef | None:
        """The time expression nearest the terms: in the clause, else in the sentence."""
        if self.published is None:
            return None
        known = self._nearest.get(id(cand))
        if known is None:
            known = self._nearest[id(cand)] = (cand, self._nearest_time(cand, self.published))
        return known[1]

    def _nearest_time(self, cand: Candidate, published: date) -> TimeRef | None:
        doc = self.doc
        sent = doc.sentences[cand.si]
        core = cand.chosen[:-1] if cand.far_topic else cand.chosen  # the topic dates nothing
        mid = min(h.start for h in core)
        span_end = max(h.end for h in core)
        scopes = self._scopes(cand)
        if cand.si not in self._times:  # found once per sentence, shared by its clauses
            # a dateline's date is the day of filing, not of the event
            start = max(sent.start, doc.dateline_end(sent.start))
            self._times[cand.si] = time_refs(doc.folded, start, sent.end, published)
        for lo, hi in ((cand.clause.start, cand.clause.end), (sent.start, sent.end)):
            refs = [
                r
                for r in self._times[cand.si]
                if lo <= r.start
                and r.end <= hi
                and r.days_before is not None
                and doc.aside_of(cand.clause, r.start) in scopes
                and not self._dates_other_noun(r, cand)
                # "N weeks after X" dates X: only when the terms follow it
                and not (r.text.endswith(" after") and r.start > mid)
                and not self._modifies_noun(r.end, cand)
                # "the channel, which it suspended in July": the date of another verb
                and not self._after_relative(span_end, r.start)
            ]
            if refs:
                # "would be held in March": after a future form, the month ahead
                read = [
                    TimeRef(r.text, r.start, r.end, -1, None)
                    if _FUTURE_TENSE.search(doc.folded, cand.clause.start, r.start)
                    else r
                    for r in refs
                ]
                # a past date outranks a future one: "agreed six weeks ago that talks would
                # begin this autumn" is dated by the agreement
                past = [r for r in read if r.days_before is not None and r.days_before >= 0]
                return min(past or read, key=lambda r: abs(r.start - mid))
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
        if nxt >= len(self.doc.sentences) or not self.same_paragraph(cand.si, nxt):
            return None
        for h in self.cue_hits_of(nxt):
            if h.tid in self.c.retractions:
                note = "the next sentence takes it back"
                return VetoReason("negated", self.doc.display[h.start : h.end], h.start, note)
        return None
