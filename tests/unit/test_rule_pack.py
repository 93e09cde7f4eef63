"""Every inline example in rules/ (the same code `monitor rules test` runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.rules.examples import example_cases, run_case
from monitor.rules.explain import explain
from monitor.rules.load import load_matcher

RULES = Path(__file__).resolve().parents[2] / "rules"
MATCHER = load_matcher(RULES)
CASES = example_cases(MATCHER)


def test_every_event_and_rule_has_enough_examples() -> None:
    """Each shipped rule has >= 6 match and >= 6 no_match examples, with Chinese ones."""
    for rule_id, located in MATCHER.ruleset.rules.items():
        ex = located.value.examples
        assert len(ex.match) >= 6 and len(ex.no_match) >= 6, rule_id
        assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in ex.match + ex.no_match), (
            rule_id
        )
    for name, located in MATCHER.ruleset.events.items():
        assert located.value.examples.match and located.value.examples.no_match, name


def test_the_required_event_and_rule_ids_exist() -> None:
    """The pack keeps the ids the issue fixed."""
    assert {
        "joint_statement_issued",
        "counterpart_named",
        "hotline_established",
        "dialogue_agreed",
    } <= set(MATCHER.ruleset.events)
    assert {
        "us-china-joint-statement",
        "china-names-ai-counterpart",
        "us-china-hotline",
        "us-china-ai-dialogue",
    } <= set(MATCHER.ruleset.rules)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}:{c.id}" for c in CASES])
def test_inline_example(case: object) -> None:
    """The example matches (or does not) as its file says."""
    outcome = run_case(MATCHER, case)  # type: ignore[arg-type]
    target = outcome.case.target
    why = explain(
        outcome.result,
        rule=target if outcome.case.kind == "rule" else None,
        events=None if outcome.case.kind == "rule" else [target],
    )
    assert outcome.passed, (
        f"{outcome.case.id}: expected {outcome.case.expect}\n{outcome.case.text}\n{why.plain}"
    )
