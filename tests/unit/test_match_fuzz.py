"""Matching never raises, whatever the text and the publication date (hypothesis)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.load import load_matcher
from monitor.rules.temporal import time_refs

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")
# pieces that reach the date arithmetic, the anaphors, the asides and the qualifiers
PIECES = [
    "0000年9月",
    "9999年13月",
    "2026年02月30日",
    "on Feb 31",
    "31 September 2026",
    "in December 0001",
    "99 years ago",
    "9999 days ago",
    "两个月前",
    "上周一",
    "十三月",
    "the channel",
    "the report",
    "the session",
    "Question:",
    "Reuters:",
    "except",
    "中将",
    "China",
    "US",
    "AI",
    "hotline",
    "opened",
    "热线",
    "开通",
    "对话",
    "举行",
    "talks",
    "held",
    "named",
    "counterpart",
    "will",
    "not",
    "denied",
    "(",
    ")",
    " - ",
    ",",
    "。",
    "?",
    "\n",
    "\ud800",
    "\udfff",
]  # fmt: skip  (lone surrogates: a feed's "&#xD800;" decodes to one)
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=40).map(" ".join)
DATES = st.one_of(st.none(), st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))


@settings(max_examples=300, deadline=None)
@given(title=TEXT, body=TEXT, published=DATES)
def test_match_never_raises(title: str, body: str, published: date | None) -> None:
    """Any headline, body and date give a result whose evidence points into its own text."""
    result = MATCHER.match(title, body, published=published)
    for evidence in (e for found in result.events.values() for e in found):
        assert result.text[evidence.start : evidence.end] == evidence.sentence
        for term in evidence.terms:
            assert result.text[term.start : term.end] == term.text


@settings(max_examples=300, deadline=None)
@given(text=TEXT, published=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_time_expressions_never_raise(text: str, published: date) -> None:
    """Impossible dates ("0000年9月", "February 31") are skipped, never raised."""
    folded = text.lower()
    for ref in time_refs(folded, 0, len(folded), published):
        assert 0 <= ref.start < ref.end <= len(folded)
