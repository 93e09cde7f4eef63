"""Explaining a rule's whole condition: every leaf, and the one that decided."""

from __future__ import annotations

from pathlib import Path

from monitor.rules.load import load_matcher
from monitor.rules.trace import deciding, leaves, why_silent

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")


def test_the_deciding_leaf_of_an_other_pair_statement_is_the_missing_country() -> None:
    """A US-Japan joint statement is found as an event; the rule fails because China is absent."""
    a = MATCHER.analyse("", "The United States and Japan issued a joint statement on AI on Monday.")
    leaf = deciding(MATCHER, a, "us-china-joint-statement")
    assert leaf is not None
    assert "$china absent" in leaf.detail and "$us present" in leaf.detail


def test_a_vetoed_event_names_its_qualifier_and_cue() -> None:
    """A hedged report is explained by the hedge, not by missing terms."""
    a = MATCHER.analyse("", "The United States and China may open an AI hotline next year.")
    leaf = deciding(MATCHER, a, "us-china-hotline")
    assert leaf is not None and leaf.detail.startswith("vetoed as hedged by 'may'")


def test_every_leaf_of_a_matching_rule_is_true() -> None:
    """When the rule matches there is no deciding leaf and every leaf holds."""
    a = MATCHER.analyse("", "The United States and China opened an AI crisis hotline on Monday.")
    rule = MATCHER.c.rules["us-china-hotline"]
    assert deciding(MATCHER, a, "us-china-hotline") is None
    assert all(leaf.ok for leaf in leaves(MATCHER, a, rule.condition))


def test_why_silent_prefers_a_found_event_over_absent_terms() -> None:
    """The demo's one-line reason is the nearest miss: the event found out of context."""
    a = MATCHER.analyse(
        "US and Japan issue AI statement", "Tokyo and Washington issued a joint statement on AI."
    )
    assert why_silent(MATCHER, a).startswith("joint_statement_issued with (")
