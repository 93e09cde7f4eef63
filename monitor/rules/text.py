"""Text for matching: NFKC, same-length lower-casing, sentences and clauses, word positions.

Offsets are stable: `Doc.display` (NFKC, typographic quotes and dashes unified) and
`Doc.folded` (its lower-case twin) have the same length, so every offset found in the
folded text points at the same characters in the display text.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

_UNIFY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": " ",
    }
)  # fmt: skip

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# CJK text counts one "word" per two characters (the mean length of a Chinese word).
_WORD = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]{1,2}|[^\W_]+(?:['.-][^\W_]+)*"
)
_SENT_END = re.compile(
    r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9\u00c0-\u024f\u3400-\u9fff])|[。！？!?]+[」』”\"')）]*|\n"
)
_ABBREV = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "lt",
        "col",
        "sgt",
        "capt",
        "sen",
        "rep",
        "gov",
        "pres",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "no",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "p.m",
        "a.m",
        "e.g",
        "i.e",
        "etc",
        "dept",
        "est",
        "fig",
        "approx",
        "ave",
        "blvd",
        "mt",
        "ft",
    ]
)
_CLAUSE_BREAK = re.compile(
    r";|:(?=\s)|,?\s+(?:but|while|whereas|although|though|however)\s+|，?(?:但是|但|而|然而|不过)|；"
)


def is_cjk(text: str) -> bool:
    """Whether the text contains CJK characters (matched as substrings, no word boundaries)."""
    return bool(_CJK.search(text))


def display_form(text: str) -> str:
    """NFKC with typographic quotes, dashes and odd spaces unified."""
    return unicodedata.normalize("NFKC", text).translate(_UNIFY)


def fold(text: str) -> str:
    """Lower-case without changing length (characters whose lower form is longer are kept)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@dataclass(frozen=True)
class Span:
    """A sentence or clause: [start, end) in the document."""

    start: int
    end: int


def _sentence_ends(text: str) -> list[int]:
    ends = []
    for m in _SENT_END.finditer(text):
        if m.group().startswith("."):
            before = text[: m.start()].rsplit(None, 1)
            token = before[-1].lower().lstrip("\"'(") if before else ""
            if token in _ABBREV or (len(token) == 1 and token.isalpha()):
                continue
        ends.append(m.end())
    return ends


def split_spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[Span]:
    """Split [start, end) at the matches of `pattern`, trimming whitespace."""
    out = []
    cursor = start
    for m in pattern.finditer(text, start, end):
        out.append(Span(cursor, m.start()))
        cursor = m.end()
    out.append(Span(cursor, end))
    return [s for s in (_trim(text, s) for s in out) if s.end > s.start]


def _trim(text: str, span: Span) -> Span:
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end)


@dataclass
class Doc:
    """A document prepared for matching: title + body, sentences, clauses, word positions."""

    display: str
    folded: str
    title_end: int  # offsets < title_end are the title
    sentences: list[Span]
    clauses: list[Span]
    clause_sentence: list[int]  # clause index -> sentence index
    word_starts: list[int] = field(repr=False)

    @classmethod
    def build(cls, title: str, body: str) -> Doc:
        """Normalise and segment an article (headline on its own line)."""
        display = display_form(title.strip() + "\n" + body)
        title_end = len(display_form(title.strip()))
        ends = _sentence_ends(display)
        sentences: list[Span] = []
        cursor = 0
        for end in [*ends, len(display)]:
            span = _trim(display, Span(cursor, end))
            if span.end > span.start:
                sentences.append(span)
            cursor = end
        clauses: list[Span] = []
        owner: list[int] = []
        for i, sent in enumerate(sentences):
            for clause in split_spans(display, sent.start, sent.end, _CLAUSE_BREAK):
                clauses.append(clause)
                owner.append(i)
        words = [m.start() for m in _WORD.finditer(display)]
        return cls(display, fold(display), title_end, sentences, clauses, owner, words)

    def word_index(self, offset: int) -> int:
        """How many words start before `offset` (a position in words)."""
        return bisect.bisect_left(self.word_starts, offset)

    def clause_of(self, offset: int) -> int:
        """Index of the clause containing `offset` (-1 if none)."""
        starts = [c.start for c in self.clauses]
        i = bisect.bisect_right(starts, offset) - 1
        if i >= 0 and self.clauses[i].start <= offset < self.clauses[i].end:
            return i
        return -1

    def in_title(self, offset: int) -> bool:
        """Whether an offset lies in the headline."""
        return offset < self.title_end
