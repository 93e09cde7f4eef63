"""Shared wording of messages: the labels and lines every sink renders the same way
(its own module, so the protocol in `base.py` and the sinks import it without a circle)."""

from __future__ import annotations

from monitor.models import Delivery


def severity_badge(severity: str) -> str:
    """A short visible marker for a severity."""
    return {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}.get(
        severity, "⚪"
    )


def disputed_label(d: Delivery) -> str:
    """`Disputed by The White House, Beijing` (who walks the development back)."""
    return f"Disputed by {', '.join(d.disputed_by)}" if d.disputed_by else "Disputed"


def lead_label(d: Delivery) -> str:
    """What a message is, in the words the desk uses."""
    if d.kind == "correction":
        return disputed_label(d)
    if d.kind == "revision":
        return f"Correction from {d.source}" + (
            " (no longer reports it)" if d.change == "withdrawn" else ""
        )
    if d.kind == "again":
        return (
            f"Reported again, {d.again_after_days} days after the first alert ({d.first_alerted})"
        )
    if d.kind == "followup" and d.copy_of:
        return f"{d.copy_of} copy via {d.source}"
    return {"alert": "New development", "followup": "Also reported"}.get(d.kind, "Notice")


def sources_line(d: Delivery) -> str:
    """`4 independent reports from 6 outlets` (syndicated copies count once)."""
    n, standing = d.sources, len(d.outlets) - len(d.withdrawn)
    if n == 0 and d.withdrawn:
        return "no report stands after corrections"
    line = f"{n} independent report{'' if n == 1 else 's'}"
    if standing > n:
        line += f" from {standing} outlets"
    return line


def outlets_line(d: Delivery) -> str:
    """Every outlet on the alert in arrival order, copies marked."""
    marks = {**dict.fromkeys(d.copies, " (copy)"), **dict.fromkeys(d.withdrawn, " (withdrawn)")}
    return ", ".join(f"{o}{marks.get(o, '')}" for o in d.outlets)


def headline_line(d: Delivery) -> str:
    """`[HIGH] Rule title — Headline`."""
    return f"[{d.severity.upper()}] {d.rule_title} — {d.headline}"
