"""Explain a rule's whole condition: every leaf true or false, where it was looked for, and
the leaf that decided, first (the reason an analyst needs)."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.rules.condition import All, Event, ListRef, Node, Not, references
from monitor.rules.matcher import Analysis, Matcher

_WHERE = "its paragraph, the headline or the question it answers"


@dataclass(frozen=True)
class Leaf:
    """One atom of a condition: what it is, whether it held, and why."""

    text: str
    ok: bool
    detail: str


def render_condition(node: Node) -> str:
    """A condition tree written back as text (how explain and the demo name a leaf)."""
    if isinstance(node, Event):
        return (
            node.name
            if node.context is None
            else f"{node.name} with ({render_condition(node.context)})"
        )
    if isinstance(node, ListRef):
        return f"${node.name}"
    if isinstance(node, Not):
        return f"not {render_condition(node.arg)}"
    if isinstance(node, All):
        return " and ".join(render_condition(a) for a in node.args)
    joiner = " or " if node.n == 1 else ", "
    inner = joiner.join(render_condition(a) for a in node.args)
    return inner if node.n == 1 else f"{node.n} of ({inner})"


def _event_leaf(m: Matcher, a: Analysis, node: Event) -> Leaf:
    found = a.found.get(node.name, [])
    if found:
        good = [e for e in found if m.context_ok(a, e, node)]
        if good:
            return Leaf(render_condition(node), True, f"found: {good[0].sentence[:120]!r}")
        names = references(node.context, contexts=True)[1] if node.context is not None else set()
        present = {n for n in names if m.context_has(a, found[0], n)}
        said = ", ".join(f"${n} {'present' if n in present else 'absent'}" for n in sorted(names))
        return Leaf(
            render_condition(node),
            False,
            f"{node.name} found ({found[0].sentence[:90]!r}) but its context fails "
            f"({said}; looked in {_WHERE})",
        )
    veto = next((v for v in a.vetoes if v.event == node.name), None)
    if veto is not None:
        why = f" ({veto.notes[0]})" if veto.notes else ""
        return Leaf(
            render_condition(node),
            False,
            f"vetoed as {veto.qualifier} by {veto.cue!r}{why}: {veto.sentence[:100]!r}",
        )
    return Leaf(
        render_condition(node), False, f"the terms of {node.name} never came together in a clause"
    )


def leaves(m: Matcher, a: Analysis, node: Node) -> list[Leaf]:
    """Every leaf of a condition, in reading order."""
    if isinstance(node, Event):
        return [_event_leaf(m, a, node)]
    if isinstance(node, ListRef):
        ok = node.name in a.lists_at
        return [
            Leaf(f"${node.name}", ok, "occurs in the article" if ok else "nowhere in the article")
        ]
    if isinstance(node, Not):
        return [Leaf(f"not {x.text}", not x.ok, x.detail) for x in leaves(m, a, node.arg)]
    return [leaf for arg in node.args for leaf in leaves(m, a, arg)]


def deciding(m: Matcher, a: Analysis, rule_id: str) -> Leaf | None:
    """The leaf that decided a rule that did not match: the first false one, events first
    (a found-but-out-of-context event explains more than an absent list)."""
    rule = m.c.rules[rule_id]
    if any(r.rule == rule_id for r in a.rules):
        return None
    false = [leaf for leaf in leaves(m, a, rule.condition) if not leaf.ok]
    return next((x for x in false if " found (" in x.detail), None) or (false[0] if false else None)


def why_silent(m: Matcher, a: Analysis) -> str:
    """One line for an article that alerted nothing: the nearest miss. An event found out of
    context beats a veto, a veto beats absent terms; among vetoes the one nearest the top of
    the article (the headline first) says what the article is about."""
    best: tuple[int, int] | None = None
    line = ""
    for rule_id, rule in m.c.rules.items():
        if rule.definition.follows:
            continue
        leaf = deciding(m, a, rule_id)
        if leaf is None:
            continue
        rank = (
            2 if " found (" in leaf.detail else 1 if leaf.detail.startswith("vetoed") else 0,
            -_first_veto(a, rule_id, m),
        )
        if best is None or rank > best:
            best, line = rank, f"{leaf.text}: {leaf.detail}"
    if best is None or best[0] == 0:
        return "no development's terms came together in one clause"
    return line


def _first_veto(a: Analysis, rule_id: str, m: Matcher) -> int:
    """Offset of the earliest veto of an event the rule uses (large when there is none)."""
    events = m.c.rules[rule_id].events
    return min((v.start for v in a.vetoes if v.event in events), default=10**9)
