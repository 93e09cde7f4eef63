"""Choosing terms inside a clause: one hit per group, the tightest combination, longer hits
over the hits inside them, and no term that cuts through a pseudo-cue."""

from __future__ import annotations

from monitor.rules.compiler import CompiledPattern
from monitor.rules.found import Hit


def cut_by(hit: Hit, pseudo: list[Hit]) -> bool:
    """A term that cuts through a pseudo-cue is a misreading: 将担任 inside 中将担任."""
    return any(
        p.start < hit.end and hit.start < p.end and not (hit.start <= p.start and p.end <= hit.end)
        for p in pseudo
    )


def longest(hits: list[Hit]) -> list[Hit]:
    """Drop hits inside a longer hit of the same group ("lead" inside "would lead")."""
    if len(hits) < 2:
        return hits
    reach = -1
    for h in hits:  # sorted by start: without an overlap, nothing can sit inside another
        if h.start < reach:
            break
        reach = h.end
    else:
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


def best_combo(groups: list[list[Hit]]) -> list[Hit]:
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


def ordered_combo(groups: list[list[Hit]]) -> list[Hit]:
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


def tightest(groups: list[list[Hit]], pattern: CompiledPattern) -> list[Hit]:
    """One hit per group, the tightest combination (in order if the pattern says so), or
    nothing when even that spans more than `within` words."""
    chosen = ordered_combo(groups) if pattern.ordered else best_combo(groups)
    if not chosen or max(h.word for h in chosen) - min(h.word for h in chosen) > pattern.within:
        return []
    return chosen


def with_topic(groups: list[list[Hit]], pattern: CompiledPattern) -> list[Hit]:
    """The other groups within `within`, and the topic (the last group) within
    `topic_within` words of them: "met for two days in Bangkok for the second session of
    their dialogue on artificial intelligence" (a chain of adjuncts before the topic)."""
    assert pattern.topic_within is not None
    if len(groups) < 2 or len(groups) != len(pattern.groups):
        return []
    core = tightest(groups[:-1], pattern)
    if not core:
        return []
    lo, hi = min(h.word for h in core), max(h.word for h in core)
    free = [h for h in groups[-1] if not any(h.start < c.end and c.start < h.end for c in core)]
    if not free:
        return []
    topic = min(free, key=lambda h: max(lo - h.word, h.word - hi, 0))
    if max(lo - topic.word, topic.word - hi, 0) > pattern.topic_within:
        return []
    return [*core, topic]
