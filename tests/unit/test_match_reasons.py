"""The new reasons are visible: word forms, folded script, two-sentence events, dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from monitor.rules.explain import explain
from monitor.rules.load import load_matcher

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")
PUBLISHED = date(2026, 11, 20)


def _notes(title: str, body: str, event: str) -> tuple[str, ...]:
    result = MATCHER.match(title, body, published=PUBLISHED)
    return tuple(n for e in result.events[event] for n in e.notes)


def test_an_inflection_is_named_as_a_form_of_the_written_term() -> None:
    """'opens' matches the base form 'open', and the evidence says so."""
    notes = _notes(
        "", "Washington and Beijing opens a crisis line for AI incidents.", "hotline_established"
    )
    assert "'opens' is a form of 'open'" in notes


def test_traditional_script_is_read_as_simplified() -> None:
    """熱線 and 開通 match the Simplified terms; the evidence says which way it was read."""
    notes = _notes("", "美中兩軍正式開通人工智慧熱線。", "hotline_established")
    assert "'熱線' read as Simplified '热线'" in notes


def test_a_two_sentence_event_names_the_anaphor_and_its_antecedent() -> None:
    """'The channel' refers back to the crisis channel named in the sentence before."""
    body = (
        "Officials described a crisis channel for AI accidents. The channel was opened on Tuesday."
    )
    result = MATCHER.match("", body, published=PUBLISHED)
    [evidence] = result.events["hotline_established"]
    assert evidence.sentence == body  # both sentences are the evidence
    assert any(n.startswith("two sentences: 'The channel' refers back to") for n in evidence.notes)


def test_a_date_before_the_news_window_vetoes_as_historical_and_says_which() -> None:
    """'in September', read on 20 November, is background; the veto names the date."""
    result = MATCHER.match(
        "", "China and the United States opened an AI hotline in September.", published=PUBLISHED
    )
    [veto] = [v for v in result.vetoes if v.event == "hotline_established"]
    assert veto.qualifier == "historical"
    assert veto.notes == (
        "'in september' = 2026-09-30, 51 days before publication (news window 7 days)",
    )


def test_n_months_after_dates_what_follows_it() -> None:
    """'Three months after opening the hotline, ...': the opening is background."""
    result = MATCHER.match(
        "",
        "Three months after the United States and China opened an AI hotline, it is unused.",
        published=PUBLISHED,
    )
    assert "hotline_established" not in result.events
    [veto] = [v for v in result.vetoes if v.event == "hotline_established"]
    assert veto.qualifier == "historical"
    assert veto.notes[0].startswith("'three months after' = 2026-08-22")


def test_a_recent_date_is_shown_as_news() -> None:
    """'on Tuesday' is within the window, and the evidence shows the resolved date."""
    notes = _notes("", "The two militaries opened an AI hotline on Tuesday.", "hotline_established")
    assert any(
        n.startswith("'on tuesday' = 2026-11-17, 3 day(s) before publication") for n in notes
    )


def test_explain_prints_the_reasons() -> None:
    """`explain` output carries every note as a 'why:' line."""
    result = MATCHER.match("", "美中兩軍正式開通人工智慧熱線。", published=PUBLISHED)
    text = explain(result, events=["hotline_established"]).plain
    assert "why: '熱線' read as Simplified '热线'" in text


def test_an_endless_repetitive_page_is_matched_in_bounded_work() -> None:
    """A hostile body (one clause repeating the terms, or thousands of sentences) still ends:
    hits per group in a clause are capped and only the first 200,000 characters are read."""
    clause = "China and the US opened a hotline and will not " * 20_000
    sentences = "The talks on AI were held. " * 40_000
    for body in (clause, sentences):
        result = MATCHER.match("US China AI talks", body, published=PUBLISHED)
        assert len(result.text) <= 200_000 + len("US China AI talks") + 1
