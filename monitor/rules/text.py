"""Text for matching: NFKC, same-length lower-casing, sentences and clauses, word positions.

Offsets are stable: `Doc.display` (NFKC, typographic quotes and dashes unified) and
`Doc.folded` (its lower-case twin) have the same length, so every offset found in the
folded text points at the same characters in the display text.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple, Protocol

from monitor.models import without_surrogates
from monitor.rules.script import to_simplified

_UNIFY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": " ",
    }
)  # fmt: skip

_START = re.Match.start  # called by map(): no Python frame per word
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# The characters `_UNIFY` rewrites: found by one regex pass, which is far cheaper than a
# translate() over every character of an article that holds a few curly quotes.
_UNIFY_CHARS = re.compile("[" + "".join(chr(k) for k in _UNIFY) + "]")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# CJK text counts one "word" per two characters (the mean length of a Chinese word).
_WORD = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]{1,2}|[^\W_]+(?:['.-][^\W_]+)*"
)
# One end character first (the regex engine then skips to the next candidate in a tight
# loop), and the rest decided by what that character was.
_SENT_END = re.compile(
    r"[.!?。！？\n]"
    r"(?:(?<=[.!?])[.!?]*[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9\u00c0-\u024f\u3400-\u9fff])"
    r"|(?<=[。！？!?])[。！？!?]*[」』”\"')）]*|(?<=\n))"
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
# A wire dateline opens a paragraph with the day of filing, not the day of the event:
# "WASHINGTON, Nov 20 (Reuters) -", "Singapore, November 19, 2026.", "新华社北京11月19日电".
_DATELINE = re.compile(
    r"[A-Z][A-Za-z.' -]{1,40}(?:, [A-Z][A-Za-z.' -]{1,30})?, "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}(?:, \d{4})?"
    r"(?:\.? ?\([^()]{1,40}\))?(?: ?-+ ?|\. )"
    r"|(?:新华社|中新社|中新网|央视网|人民网|中国日报网|法新社|路透社|美联社)?[^\s,.。]{0,12}?"
    r"\d{1,2}月\d{1,2}日电\s*"
)
# A briefing answer that confirms: "A: Yes.", "MR. BRENNAN: Yes, they did.", "答：是的。"
_AFFIRMATIVE = re.compile(
    r"\s*(?:[^\W\d][\w.' -]{0,40}[:：]\s*)?(?:(?:yes|yeah|correct|that's right|that is right"
    r"|that's correct|that is correct|i can confirm|we can confirm)\b|是的|确实如此|可以证实|我可以证实)",
    re.IGNORECASE,
)
_QUESTIONER = re.compile(r"(?:question|q|记者|问|記者|記者問)\s*[:：]", re.IGNORECASE)
# A speaker's label opening a transcript line: a few words (or Han characters), then a colon.
_SPEAKER = re.compile(r"(?:[^\W\d][\w.'&-]*\s+){0,4}[^\W\d][\w.'&-]*\s*:\s|[^\x00-\x7f]{1,12}[:：]")
# A broadcast's host tells the news before handing over ("PRESENTER: The two governments
# held talks on Tuesday. Helen, what came out of it?"): only the question itself is one.
_HOST = re.compile(
    r"(?:presenter|anchor|host|announcer|newsreader|moderator|主持人|主持|主播)\b[^:：\n]{0,40}[:：]",
    re.IGNORECASE,
)
# (no break at a colon right after a year: "May 2024: officials met ..." labels a date)
_CLAUSE_BREAK = re.compile(
    r"(?=[;:,\s，但而然不；])(?:"  # the first character first: the engine skips to candidates
    r";|(?<!\d\d\d\d):(?=\s)|(?<![\d\s]):(?![\d\s/])|,?\s+(?:but|while|whereas|although|though|however)\s+|，?(?:但是|但|而|然而|不过)|；)"
)

# Asides that do not count toward an event's `within` distance and whose words cannot veto:
# parentheses, dash pairs, and comma-delimited appositives or relative clauses
# ("Chen Wenlong, a vice minister at the Ministry of Science, as head of ...").
_ASIDE = re.compile(
    r"(?=[(（\s,])(?:"  # the first character first: the engine skips to candidates
    r"\([^()]{1,240}\)|（[^（）]{1,120}）|\s-\s[^-;]{1,200}?\s-\s"
    r"|,\s+(?:a|an|the|who|whom|whose|which|formerly|currently|now|also|himself|herself"
    r"|according to|including|both|each|along with|together with)\s[^,;]{1,200},"
    # an appositive may also close the clause: "..., a step promised in November."
    r"|,\s+(?:a|an|who|whom|whose|which|according to|including)\s[^,;]{1,200}(?=[.!?]?$)"
    r"|,\s+(?:held|signed|issued|launched|opened|established|adopted|released|announced|set up"
    r"|created|installed|agreed|reached)\s"
    r"(?:in|on|at|by|during|last|earlier)\b[^,;]{1,120},"
    # any participial aside: "The link, reserved for urgent communication about AI, is ..."
    r"|,\s+[a-z]+ed\s+(?:for|by|to|in|on|at|with|from|under|after|during|about|as)\b[^,;]{1,160},"
    r")"
)


def is_word_char(ch: str) -> bool:
    """A character that joins a Latin term to its neighbour. Han and kana do not: "AI對話"
    holds the word "AI"."""
    return (ch.isalnum() or ch == "_") and not (
        "\u3040" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"
    )


class _WordChars(dict[str, bool]):
    """`is_word_char` memoised per character: the scanner asks twice per raw hit."""

    def __missing__(self, ch: str) -> bool:
        self[ch] = value = is_word_char(ch)
        return value


WORD_CHARS = _WordChars()


def is_cjk(text: str) -> bool:
    """Whether the text contains CJK characters (matched as substrings, no word boundaries)."""
    return bool(_CJK.search(text))


def display_form(text: str) -> str:
    """NFKC with typographic quotes, dashes and odd spaces unified."""
    text = without_surrogates(text)  # the scanner cannot encode them; offsets stay
    if not unicodedata.is_normalized("NFKC", text):
        # Chinese text is mostly full-width punctuation, whose NFKC form is its ASCII twin: a
        # table does that part, and the full normalisation runs only if something else is left
        # (NFKC of the result is the same, as those characters decompose to exactly that).
        text = text.translate(_FULL_WIDTH)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return _UNIFY_CHARS.sub(_unify_one, text)


def _unify_one(m: re.Match[str]) -> str:
    return _UNIFY[ord(m.group())]


_HYPHEN = re.compile(r"-(?=\w)(?<=\w-)")  # the hyphen first: the engine skips to each "-"


def fold(text: str) -> str:
    """Lower-case, Simplified script, and a hyphen between letters read as a space
    ("artificial-intelligence", "military-to-military"), without changing length."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if "-" in lowered:
        lowered = _HYPHEN.sub(" ", lowered)
    return to_simplified(lowered)


class _Placed(Protocol):
    """A hit to place in words (found.Hit)."""

    start: int
    word: int


class Span(NamedTuple):  # a tuple: built and hashed in C, many per article
    """A sentence or clause: [start, end) in the document."""

    start: int
    end: int


def _sentence_ends(text: str) -> list[int]:
    ends = []
    for m in _SENT_END.finditer(text):
        if m.group().startswith("."):
            before = text[max(0, m.start() - 24) : m.start()].rsplit(None, 1)
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


class Doc:
    """A document prepared for matching: title + body and its sentences.

    Clauses and word positions are computed lazily, per sentence, because only sentences
    holding a candidate event need them (most of a long article never does).
    """

    def __init__(self, title: str, body: str) -> None:
        head = display_form(title.strip()).replace("\n", " ")
        self.display = head + "\n" + display_form(body)
        self.folded = fold(self.display)
        self.title_end = len(head)  # offsets below this are the headline
        self.sentences: list[Span] = []
        text, cursor = self.display, 0
        for end in [*_sentence_ends(text), len(text)]:
            segment = text[cursor:end]
            kept = segment.strip()
            if kept:
                first = cursor + len(segment) - len(segment.lstrip())
                self.sentences.append(Span(first, first + len(kept)))
            cursor = end
        self.sentence_starts = [s.start for s in self.sentences]
        self._newlines = [m.start() for m in re.finditer("\n", self.display)]
        self._clauses: dict[int, list[Span]] = {}
        self._questions: dict[int, bool] = {}  # paragraph -> a transcript question
        self._datelines: dict[int, int] = {}  # paragraph -> end of its dateline
        self._words: dict[tuple[int, int], tuple[list[int], list[int], list[Span]]] = {}

    @classmethod
    def build(cls, title: str, body: str) -> Doc:
        """Normalise and segment an article (headline on its own line)."""
        return cls(title, body)

    def sentence_of(self, offset: int) -> int:
        """Index of the sentence containing `offset` (-1 if none)."""
        i = bisect.bisect_right(self.sentence_starts, offset) - 1
        return i if i >= 0 and offset < self.sentences[i].end else -1

    def clauses_of(self, sentence: int) -> list[Span]:
        """The clauses of one sentence (split at ; and contrastive conjunctions)."""
        if sentence not in self._clauses:
            sent = self.sentences[sentence]
            self._clauses[sentence] = split_spans(self.display, sent.start, sent.end, _CLAUSE_BREAK)
        return self._clauses[sentence]

    def paragraph_span(self, index: int) -> Span:
        """[start, end) of a line (0: the headline); empty past the end."""
        bounds = [-1, *self._newlines, len(self.display)]
        if not 0 <= index < len(bounds) - 1:
            return Span(0, 0)
        return Span(bounds[index] + 1, bounds[index + 1])

    def paragraph_of(self, offset: int) -> int:
        """Index of the line (0: the headline) holding `offset`."""
        return bisect.bisect_right(self._newlines, offset)

    def _layout(self, clause: Span) -> tuple[list[int], list[int], list[Span]]:
        key = (clause.start, clause.end)
        if key not in self._words:
            asides = [
                Span(m.start(), m.end())
                for m in _ASIDE.finditer(self.display, clause.start, clause.end)
            ]
            starts = list(map(_START, _WORD.finditer(self.display, clause.start, clause.end)))
            positions = list(range(len(starts)))
            if asides:  # an aside counts as one word, whatever its length
                positions = []
                pos, a, last = -1, 0, -1
                for start in starts:
                    while a < len(asides) and asides[a].end <= start:
                        a += 1
                    inside = a < len(asides) and asides[a].start <= start
                    if not inside or a != last:
                        pos += 1
                    last = a if inside else -1
                    positions.append(pos)
            self._words[key] = (starts, positions, asides)
        return self._words[key]

    def place_words(self, clause: Span, hits: Iterable[_Placed]) -> None:
        """Set `word` of each hit inside `clause`: its position in words (distances never
        cross clauses; an appositive or parenthetical aside counts as a single word)."""
        starts, positions, _ = self._layout(clause)
        n = len(positions)
        after = positions[-1] + 1 if positions else 0
        for h in hits:
            i = bisect.bisect_left(starts, h.start)
            h.word = positions[i] if i < n else after

    def aside_of(self, clause: Span, offset: int) -> Span | None:
        """The aside of `clause` holding `offset` (None: the clause's main line)."""
        return next((a for a in self._layout(clause)[2] if a.start <= offset < a.end), None)

    def affirmed(self, offset: int) -> bool:
        """Whether the line after the one holding `offset` opens with a plain yes (a briefing
        answer confirming what the question asked)."""
        answer = self.paragraph_span(self.paragraph_of(offset) + 1)
        return bool(_AFFIRMATIVE.match(self.display, answer.start, answer.end))

    def dateline_end(self, offset: int) -> int:
        """Where the dateline of the paragraph holding `offset` ends (its start if none)."""
        index = self.paragraph_of(offset)
        if index not in self._datelines:
            para = self.paragraph_span(index)
            m = _DATELINE.match(self.display, para.start, para.end) if index else None
            self._datelines[index] = m.end() if m else para.start
        return self._datelines[index]

    def question_paragraph(self, offset: int) -> bool:
        """Whether the line holding `offset` is a transcript question (it presupposes what it
        asks about): it opens with a questioner's label ("Question:", "记者："), or with a
        speaker's label ("Phoenix TV:", "总台记者：") and ends with "?". A news paragraph that
        ends on a rhetorical question is not one (only that question is hedged)."""
        return self.is_question(self.paragraph_of(offset))

    def is_question(self, index: int) -> bool:
        """`question_paragraph` for line `index` (0: the headline), computed once per line."""
        if index not in self._questions:
            para = self.paragraph_span(index)
            text = self.display[para.start : para.end].strip()
            self._questions[index] = bool(_QUESTIONER.match(text)) or (
                text.endswith(("?", '?"', "?'"))
                and bool(_SPEAKER.match(text))
                and not _HOST.match(text)
            )
        return self._questions[index]

    def in_title(self, offset: int) -> bool:
        """Whether an offset lies in the headline."""
        return offset < self.title_end
