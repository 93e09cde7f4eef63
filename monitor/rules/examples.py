"""Run every inline example of every event and rule (semgrep's ruleid/ok idea, in the file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from monitor.models import MatchResult
from monitor.rules.matcher import Matcher

ExampleKind = Literal["event", "rule"]
Expectation = Literal["match", "no_match"]


@dataclass(frozen=True)
class ExampleCase:
    """One inline example: which definition, which way, which text."""

    kind: ExampleKind
    target: str
    expect: Expectation
    index: int
    text: str

    @property
    def id(self) -> str:
        """Test id like `us-china-hotline/no_match/3`."""
        return f"{self.target}/{self.expect}/{self.index}"


@dataclass(frozen=True)
class ExampleOutcome:
    """An example and what the matcher made of it."""

    case: ExampleCase
    passed: bool
    result: MatchResult


_DATED = re.compile(r"^@(\d{4}-\d{2}-\d{2})\s+")


def split_snippet(text: str) -> tuple[str, str]:
    """One line: body text with no headline. Several lines: headline, then body."""
    lines = [line for line in _DATED.sub("", text.strip()).splitlines() if line.strip()]
    if len(lines) <= 1:
        return "", lines[0].strip() if lines else ""
    return lines[0], "\n".join(lines[1:])


def snippet_date(text: str) -> date | None:
    """`@2026-11-20 ...` dates an example, so news vs background can be shown in one line."""
    m = _DATED.match(text.strip())
    return date.fromisoformat(m.group(1)) if m else None


def example_cases(matcher: Matcher) -> list[ExampleCase]:
    """Every example in the rule set, events first."""
    cases = []
    for name, located in matcher.ruleset.events.items():
        ex = located.value.examples
        cases += [ExampleCase("event", name, "match", i, t) for i, t in enumerate(ex.match)]
        cases += [ExampleCase("event", name, "no_match", i, t) for i, t in enumerate(ex.no_match)]
    for rule_id, rule_def in matcher.ruleset.rules.items():
        ex = rule_def.value.examples
        cases += [ExampleCase("rule", rule_id, "match", i, t) for i, t in enumerate(ex.match)]
        cases += [ExampleCase("rule", rule_id, "no_match", i, t) for i, t in enumerate(ex.no_match)]
    return cases


def run_case(matcher: Matcher, case: ExampleCase, ref_year: int | None = None) -> ExampleOutcome:
    """Match one example and judge it."""
    title, body = split_snippet(case.text)
    result = matcher.match(title, body, ref_year=ref_year, published=snippet_date(case.text))
    hit = (
        case.target in result.events
        if case.kind == "event"
        else any(r.rule == case.target for r in result.rules)
    )
    return ExampleOutcome(case, hit == (case.expect == "match"), result)


def run_examples(matcher: Matcher, ref_year: int | None = None) -> list[ExampleOutcome]:
    """Run them all."""
    return [run_case(matcher, c, ref_year) for c in example_cases(matcher)]
