"""The matcher's behaviours, each on a tiny rule file written for the test."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monitor.rules.load import load_matcher
from monitor.rules.matcher import Matcher
from monitor.rules.text import Doc


def _matcher(tmp_path: Path, text: str) -> Matcher:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    return load_matcher(path)


BASE = """lists:
  us: ["=US", United States, Washington, 美国]
  china: [China, Beijing, 中国]
events:
  opened:
    all: [[hotline, 热线], [opened, open*, 开通]]
    within: 6
rules:
  - id: r-with
    title: T
    condition: opened with ($us and $china)
  - id: r-two
    title: T
    condition: 2 of (opened, $us, $china)
  - id: r-not
    title: T
    condition: $china and not opened
"""


def test_case_sensitive_term_does_not_match_the_pronoun(tmp_path: Path) -> None:
    """`=US` matches "US" but not "us"."""
    m = _matcher(tmp_path, BASE)
    hit = m.match("", "The US and China opened a hotline.")
    miss = m.match("", "China opened a hotline for us.")
    assert [r.rule for r in hit.rules if r.rule == "r-with"] == ["r-with"]
    assert "r-with" not in [r.rule for r in miss.rules]


def test_word_boundaries_for_latin_and_substrings_for_cjk(tmp_path: Path) -> None:
    """ "hotlines" is not "hotline" (no `*`), but 热线 matches inside a longer CJK run."""
    m = _matcher(tmp_path, BASE)
    assert "opened" not in m.match("", "They opened hotlinesX.").events
    assert "opened" in m.match("", "中美开通人工智能热线。").events


def test_prefix_terms_match_inflections(tmp_path: Path) -> None:
    """`open*` matches "opening"."""
    m = _matcher(tmp_path, BASE)
    assert "opened" in m.match("", "Washington reports the opening of a hotline.").events


def test_terms_must_share_a_clause_within_the_distance(tmp_path: Path) -> None:
    """Terms in different sentences, or too far apart, are no candidate."""
    m = _matcher(tmp_path, BASE)
    assert m.match("", "A hotline exists. Stores opened today.").events == {}
    far = "The hotline, after a long and winding and very slow process, finally opened."
    assert m.match("", far).events == {}


@pytest.mark.parametrize(
    ("sentence", "kind", "cue"),
    [
        ("China may have opened a hotline.", "hedged", "may"),
        ("China has not opened a hotline.", "negated", "not"),
        ("China opened a hotline in 1998.", "historical", "1998"),
        ("China plans to open a hotline.", "proposed", "plans"),
        ("Has China opened a hotline?", "hedged", "?"),
        ("中国可能开通热线。", "hedged", "可能"),
    ],
)
def test_qualifiers_veto_and_say_why(tmp_path: Path, sentence: str, kind: str, cue: str) -> None:
    """Each qualifier kind vetoes and is reported as the near miss."""
    m = _matcher(tmp_path, BASE)
    result = m.match("", sentence, ref_year=2026)
    assert result.events == {}
    assert [(v.qualifier, v.cue) for v in result.vetoes] == [(kind, cue)]


def test_historical_year_is_relative_to_the_article(tmp_path: Path) -> None:
    """ "in 2025" is history for a 2026 article, news for a 2025 one."""
    m = _matcher(tmp_path, BASE)
    assert m.match("", "China opened a hotline in 2025.", ref_year=2026).events == {}
    assert "opened" in m.match("", "China opened a hotline in 2025.", ref_year=2025).events


def test_qualifier_edits_in_yaml_tune_the_cues(tmp_path: Path) -> None:
    """Removing `may` from hedged lets "may" through; adding a cue vetoes with it."""
    m = _matcher(
        tmp_path, BASE + "qualifiers:\n  hedged:\n    remove: [may]\n    add: [supposedly]\n"
    )
    assert "opened" in m.match("", "China may have opened a hotline.").events
    assert m.match("", "China supposedly opened a hotline.").events == {}


def test_evidence_carries_sentence_and_term_offsets(tmp_path: Path) -> None:
    """Offsets point at the matched text in the document."""
    m = _matcher(tmp_path, BASE)
    result = m.match("Headline", "Intro. China opened a hotline on Monday.")
    [ev] = result.events["opened"]
    assert ev.sentence == "China opened a hotline on Monday."
    assert [(t.text, result.text[t.start : t.end]) for t in ev.terms] == [
        ("opened", "opened"),
        ("hotline", "hotline"),
    ]
    terms = ev.as_dict()["terms"]
    assert [(t["text"], ev.sentence[t["start"] : t["end"]]) for t in terms] == [
        ("opened", "opened"),
        ("hotline", "hotline"),
    ]  # type: ignore[index]


def test_n_of_and_not_conditions(tmp_path: Path) -> None:
    """`2 of (...)` and `not` evaluate at article level."""
    m = _matcher(tmp_path, BASE)
    result = m.match("", "China and Washington talked.")
    assert {r.rule for r in result.rules} == {"r-two", "r-not"}
    assert {r.rule for r in m.match("", "China opened a hotline.").rules} == {"r-two"}


def test_user_regex_is_linear_time(tmp_path: Path) -> None:
    """A catastrophic-backtracking pattern finishes at once (RE2)."""
    m = _matcher(tmp_path, "events:\n  e:\n    all: [['re:(a+)+$'], [b]]\n")
    started = time.process_time()
    m.match("", "a" * 50_000 + "! b")
    assert time.process_time() - started < 5  # a backtracking engine would take ages


def test_sentences_split_for_both_scripts() -> None:
    """Abbreviations do not end sentences; 。！？ do."""
    doc = Doc.build("", "U.S. officials met Mr. Xi. They agreed. 双方同意。美方欢迎！是吗？Yes.")
    assert [doc.display[s.start : s.end] for s in doc.sentences] == [
        "U.S. officials met Mr. Xi.",
        "They agreed.",
        "双方同意。",
        "美方欢迎!",
        "是吗?",
        "Yes.",
    ]


def test_unicode_is_normalised(tmp_path: Path) -> None:
    """Full-width letters and curly quotes match their plain forms."""
    m = _matcher(tmp_path, BASE)
    assert "opened" in m.match("", "Ｃｈｉｎａ ＯＰＥＮＥＤ a ＨＯＴＬＩＮＥ.").events


AGREEMENT = """events:
  talks:
    all: [[talks], [hold]]
    within: 6
    agreement: [agree, under an agreement, under a deal]
rules:
  - id: r
    title: T
    condition: talks
"""


@pytest.mark.parametrize(
    ("sentence", "fires"),
    [
        ("The two sides agreed that they will hold talks in March.", True),
        # a governing agreement counts wherever it stands in the clause
        ("The two sides will hold talks every spring under a deal struck on Monday.", True),
        ("They will hold talks in March under an agreement signed last week.", True),
        # an ordinary agreement after the future does not make it news
        ("They will hold talks in March and agree on a text later.", False),
        ("The two sides will hold talks in March.", False),
    ],
)
def test_an_agreement_governs_a_future_form(tmp_path: Path, sentence: str, fires: bool) -> None:
    m = _matcher(tmp_path, AGREEMENT)
    assert bool(m.match("", sentence, ref_year=2026).rules) is fires, sentence


def test_lone_surrogates_are_matched_around_not_fatal(tmp_path: Path) -> None:
    """A feed's "&#xD800;" decodes to a lone surrogate, which the scanner cannot encode: it is
    read as U+FFFD and the rest of the article still matches, offsets unchanged."""
    m = _matcher(tmp_path, BASE)
    result = m.match(
        "China \ud800", "The United States opened the hotline \udfff today.", ref_year=2026
    )
    assert sorted(r.rule for r in result.rules) == ["r-two", "r-with"]
    [evidence] = result.events["opened"]
    assert result.text[evidence.start : evidence.end].endswith("\ufffd today.")


TOPIC = """events:
  talks_held:
    all: [[talks, dialogue], [held, met for], [trade, tariffs]]
    within: 6
    topic_within: 10
  talks_held_strict:
    all: [[talks, dialogue], [held, met for], [trade, tariffs]]
    within: 6
rules:
  - id: r
    title: T
    condition: talks_held
"""


def test_a_topic_may_close_a_chain_of_adjuncts(tmp_path: Path) -> None:
    """`topic_within`: the last group may stand further off than `within`, the others not;
    without it the same sentence is no candidate."""
    m = _matcher(tmp_path, TOPIC)
    far = "Officials met for talks in a lakeside hotel for two days on tariffs."
    found = m.match("", far).events
    assert "talks_held" in found and "talks_held_strict" not in found
    assert [t.term for t in found["talks_held"][0].terms] == ["met for", "talks", "tariffs"]
    too_far = (
        "Officials met for talks in a quiet hotel by the lake far from the crowds and the "
        "noise of the capital on tariffs."
    )
    assert "talks_held" not in m.match("", too_far).events
    core_apart = (
        "Talks took place after officials who had long waited finally met for lunch on trade."
    )
    assert "talks_held" not in m.match("", core_apart).events


def test_a_far_topic_does_not_date_the_event(tmp_path: Path) -> None:
    """The nearest date is looked for beside the core terms, not beside a far topic."""
    from datetime import date

    m = _matcher(tmp_path, TOPIC)
    old = (
        "On Wednesday a trade official said that both sides held a first dialogue with "
        "each other in September."
    )
    res = m.match("", old, published=date(2026, 11, 20))
    assert "talks_held" not in res.events
    assert any(v.event == "talks_held" and v.qualifier == "historical" for v in res.vetoes)


def test_a_rule_on_lists_alone_holds_without_any_event(tmp_path: Path) -> None:
    """Articles with no event evidence skip list placement only when every rule needs an
    event: `$china and not opened` still holds on a page that names China and nothing else."""
    m = _matcher(tmp_path, BASE)
    assert "r-not" in m.c.event_free_rules and "r-with" not in m.c.event_free_rules
    assert [r.rule for r in m.match("", "Beijing held a parade.").rules] == ["r-not"]
