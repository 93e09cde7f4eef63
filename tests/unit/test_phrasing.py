"""Phrasing classes in our own words (tests/phrasing/*.txt): each line alerts as labelled."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.rules.load import load_matcher

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")
CASES = [
    pytest.param(want, text, id=f"{path.stem}:{n}")
    for path in sorted((ROOT / "tests" / "phrasing").glob("*.txt"))
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    if line.strip() and not line.startswith("#")
    for want, text in [line.split("|", 1)]
]


@pytest.mark.parametrize(("want", "text"), CASES)
def test_phrasing(want: str, text: str) -> None:
    """`-`: no rule matches; otherwise a matched rule id contains the label (`a+b`: each)."""
    title, body = text.split(" || ", 1) if " || " in text else ("", text)
    body = body.replace(" // ", "\n")  # paragraphs
    rules = [r.rule for r in MATCHER.match(title, body, published=date(2026, 11, 20)).rules]
    if want == "-":
        assert rules == [], text
    else:
        for label in want.split("+"):
            assert any(label in r for r in rules), (label, rules, text)
