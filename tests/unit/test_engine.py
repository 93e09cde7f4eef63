"""The alerts stage's pure parts: batch order, quiet hours, digest periods, and what a
message says about an article (outlet, who disputes, corrected re-issues)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from monitor.alerts.engine import alert_order, digest_window, quiet_until
from monitor.alerts.messages import (
    disputer,
    first_sentence,
    is_corrected_reissue,
    outlet,
    payload_for,
)
from monitor.models import Evidence, RuleMatch, RulePolicy, TermHit, article_id
from tests.support.articles import LEAD, article

DAY = 86400.0
RULE = RulePolicy(id="talks", title="Talks agreed", severity="high", condition="e", realert_s=DAY)


def test_a_batch_goes_through_in_publication_order_then_by_url() -> None:
    """Older first; equal times by canonical URL, so the fetch order never matters."""
    a, b = article(1, "a.example", "A", [LEAD]), article(2, "b.example", "B", [LEAD])
    early = replace(b, published=datetime(2026, 1, 1, tzinfo=UTC))

    assert sorted([a, early], key=alert_order)[0] is early
    assert sorted([b, a], key=alert_order) == sorted([a, b], key=alert_order)


def test_quiet_hours_defer_to_the_window_end_across_midnight_and_within_a_day() -> None:
    """22:00-07:00 at 23:00 -> 07:00 next day, at 06:00 -> 07:00, at 08:00 -> now; 12-13 too."""
    day = 20_000 * DAY

    assert quiet_until(day + 23 * 3600, (22 * 60, 7 * 60)) == day + DAY + 7 * 3600
    assert quiet_until(day + 6 * 3600, (22 * 60, 7 * 60)) == day + 7 * 3600
    assert quiet_until(day + 8 * 3600, (22 * 60, 7 * 60)) == day + 8 * 3600
    assert quiet_until(day + 12.5 * 3600, (12 * 60, 13 * 60)) == day + 13 * 3600
    assert quiet_until(day + 3, None) == day + 3


def test_a_digest_period_ends_at_the_next_multiple_of_its_length() -> None:
    """Periods are aligned to the epoch: 10 min into an hour ends at the hour."""
    assert digest_window(3600 * 5 + 600, 3600) == 3600 * 6
    assert digest_window(3600 * 5, 3600) == 3600 * 6


def test_the_outlet_is_the_domain_unless_the_url_is_a_server_address() -> None:
    """www.x.example -> x.example; an IP or localhost falls back to the source name."""
    a = article(1, "wire.example", "A", [LEAD])

    assert outlet(replace(a, url="https://www.wire.example/x")) == "wire.example"
    assert outlet(replace(a, url="http://127.0.0.1:8080/x", source="Local feed")) == "Local feed"
    assert outlet(replace(a, url="http://localhost/x", source="")) == "unknown"


def _evidence(sentence: str, term: str) -> Evidence:
    start = sentence.index(term)
    hit = TermHit(term=term, text=term, start=start, end=start + len(term))
    return Evidence("deny", sentence, 0, len(sentence), "body", (hit,))


def test_who_disputes_is_the_phrase_before_the_first_matched_term() -> None:
    """Leading time words and bylines are dropped; a long phrase falls back to the outlet."""
    said = _evidence("The White House on Tuesday denied the report.", "denied")
    byline = _evidence("By Jane Doe Beijing denied the report.", "denied")
    rambling = _evidence(" ".join(["word"] * 12) + " denied it.", "denied")

    assert disputer(said, "x.example") == "The White House"
    assert disputer(byline, "x.example") == "Beijing"
    assert disputer(rambling, "x.example") == "x.example"
    assert disputer(None, "x.example") == "x.example"


def test_a_payload_freezes_the_quote_the_why_and_the_article_id() -> None:
    """The body sentence is quoted, the article id is its canonical URL hash."""
    a = article(1, "wire.example", "Talks agreed", [LEAD])
    ev = _evidence(LEAD, "joint statement")
    match = RuleMatch("talks", "Talks agreed", "high", (), (ev,))

    p = payload_for(a, match, RULE)

    assert (p.rule, p.severity, p.evidence, p.terms) == (
        "talks",
        "high",
        LEAD,
        ("joint statement",),
    )
    assert p.article == article_id(a) and p.disputer == "" and p.why.startswith("reported as done")


def test_corrected_reissues_are_recognised_by_their_marks_only() -> None:
    """'CORRECTED:' in the title or an editor's note at the end; a plain report is not."""
    a = article(1, "wire.example", "Talks agreed", [LEAD])

    assert is_corrected_reissue(replace(a, title="CORRECTED: Talks agreed"))
    assert is_corrected_reissue(
        replace(a, paragraphs=(LEAD, "An earlier version of this story misstated the date."))
    )
    assert not is_corrected_reissue(a)
    assert first_sentence(replace(a, paragraphs=("One. Two.",))) == "One."
