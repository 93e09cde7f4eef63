"""Human-readable explanations of a MatchResult (highlighted with rich on a TTY)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from monitor.models import Evidence, MatchResult, TermHit, Veto


def _highlight(
    sentence: str, offset: int, terms: tuple[TermHit, ...], style: str = "bold yellow"
) -> Text:
    text = Text(sentence)
    for t in terms:
        text.stylize(style, t.start - offset, t.end - offset)
    return text


def evidence_text(ev: Evidence) -> Text:
    """One evidence line: the sentence with matched terms highlighted, and the terms."""
    line = Text(f"  [{ev.event}] ({ev.field}) ")
    line.append(_highlight(ev.sentence, ev.start, ev.terms))
    line.append(
        "\n      terms: " + ", ".join(f"{t.text!r}@{t.start - ev.start}" for t in ev.terms),
        style="dim",
    )
    for note in ev.notes:  # word forms, folded script, two-sentence events, dates
        line.append(f"\n      why: {note}", style="dim")
    return line


def veto_text(v: Veto) -> Text:
    """One near-miss line: which qualifier vetoed which sentence, and the cue."""
    line = Text(f"  [{v.event}] vetoed as ", style="")
    line.append(v.qualifier, style="bold red")
    line.append(f" by {v.cue!r}: ")
    sentence = _highlight(v.sentence, v.start, v.terms)
    cue_at = v.cue_start - v.start
    if 0 <= cue_at < len(v.sentence):
        sentence.stylize("bold red underline", cue_at, cue_at + len(v.cue))
    line.append(sentence)
    for note in v.notes:  # e.g. which date made it background
        line.append(f"\n      why: {note}", style="dim")
    return line


def explain(
    result: MatchResult, *, rule: str | None = None, events: Iterable[str] | None = None
) -> Text:
    """Explain why a rule and its events matched, and which candidates were vetoed and why.

    `events` limits the event sections (default: every event with a candidate sentence).
    """
    out = Text()
    if rule is not None:
        hit = next((r for r in result.rules if r.rule == rule), None)
        out.append(f"rule {rule}: ", style="bold")
        out.append("MATCH\n" if hit else "no match\n", style="green" if hit else "red")
        if hit:
            for ev in hit.evidence:
                out.append(evidence_text(ev))
                out.append("\n")
    wanted = (
        set(events) if events is not None else set(result.events) | {v.event for v in result.vetoes}
    )
    for name in sorted(wanted):
        evs = result.events.get(name, ())
        vetoes = [v for v in result.vetoes if v.event == name]
        if not evs and not vetoes:
            out.append(
                f"event {name}: no candidate sentence (terms did not co-occur)\n", style="dim"
            )
            continue
        out.append(f"event {name}: {len(evs)} match(es), {len(vetoes)} vetoed\n", style="bold")
        for ev in evs:
            out.append(evidence_text(ev))
            out.append("\n")
        for v in vetoes:
            out.append(veto_text(v))
            out.append("\n")
    if not wanted and rule is None:
        out.append("no event terms co-occurred in any clause\n", style="dim")
    return out
