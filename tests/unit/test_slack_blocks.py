"""Slack messages stay inside Block Kit limits and escape what mrkdwn would misread."""

from __future__ import annotations

from monitor.models import Delivery
from monitor.sinks.slack import alert_blocks, bold_terms, fallback_text, reply_blocks


def _delivery(**over: object) -> Delivery:
    base: dict[str, object] = dict(
        key="k", kind="alert", alert_id="a", rule="r", rule_title="T" * 400, severity="high",
        headline="H <b>&" * 300, url="https://e.org/x", source="S", published=None, event="e",
        evidence="The two sides issued a joint statement. " * 400, terms=("issued", "joint statement"),
        why="w" * 5000, sources=3, stories=2,
    )  # fmt: skip
    base.update(over)
    return Delivery(**base)  # type: ignore[arg-type]


def test_alert_blocks_respect_block_kit_limits() -> None:
    """Header <= 150 chars, every section and context text <= 3000, <= 50 blocks."""
    blocks = alert_blocks(_delivery())
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks[1:]:
        texts = (
            [block["text"]["text"]] if "text" in block else [e["text"] for e in block["elements"]]
        )
        assert all(len(t) <= 3000 for t in texts)
    assert len(fallback_text(_delivery())) <= 3000
    for block in reply_blocks(_delivery(kind="followup")):
        texts = (
            [block["text"]["text"]] if "text" in block else [e["text"] for e in block["elements"]]
        )
        assert all(len(t) <= 3000 for t in texts)


def test_evidence_terms_are_bold_and_markup_is_escaped() -> None:
    """Matched terms become *bold*; <, > and & cannot inject mrkdwn links."""
    assert bold_terms("A <x> & the joint statement was issued", ("issued", "joint statement")) == (
        "A &lt;x&gt; &amp; the *joint statement* was *issued*"
    )
