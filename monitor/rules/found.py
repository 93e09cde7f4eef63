"""What the event search passes around: hits, candidates, and the reason for a veto."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from monitor.models import VetoKind
from monitor.rules.compiler import CompiledEvent, CompiledPattern
from monitor.rules.text import Span


@dataclass(slots=True)
class Hit:
    """A term found in the text; `word` is its position inside the clause being examined."""

    tid: int
    start: int
    end: int
    word: int = 0


class Candidate(NamedTuple):  # a tuple: built in C, several per article
    """An event's terms found together in one clause (perhaps completed by an anaphor)."""

    event: CompiledEvent
    pattern: CompiledPattern
    si: int
    clause: Span
    chosen: tuple[Hit, ...]
    antecedent: tuple[Hit, ...]  # hits in the sentence before / headline an anaphor refers to
    from_sentence: int  # first sentence of the evidence (si - 1 for a two-sentence event)
    far_topic: bool = False  # the last hit is a topic beyond `within` (dates ignore it)


class VetoReason(NamedTuple):  # a tuple: built in C, several per article
    """Which qualifier vetoed a candidate, the cue, where, and a plain-language note."""

    kind: VetoKind
    cue: str
    at: int
    note: str = ""
