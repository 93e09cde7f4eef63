"""The rule pack against our own corpus (never used as inline examples) and the seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.extract.seed_format import read_article
from monitor.rules.evaluate import micro, read_labels, score
from monitor.rules.load import load_matcher
from tests.support.builders import SEEDS

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")
CORPUS = ROOT / "tests" / "corpus"


def _results() -> dict[str, object]:
    return {p.name: MATCHER.match_article(read_article(p)) for p in sorted(CORPUS.glob("*.txt"))}


def test_corpus_is_not_in_the_inline_examples() -> None:
    """No corpus sentence is copied into the rule file (the corpus measures generalisation)."""
    pack = (ROOT / "rules" / "us-china-ai.yaml").read_text(encoding="utf-8")
    for path in CORPUS.glob("*.txt"):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            assert line not in pack, (path.name, line)


def test_corpus_has_positives_and_hard_negatives_in_two_languages() -> None:
    """At least 15 positives-or-negatives each way, with Chinese articles among both."""
    labels = read_labels(CORPUS / "labels.json")
    rules = set(MATCHER.ruleset.rules)
    positives = [f for f, ids in labels.items() if ids & rules]
    negatives = [f for f, ids in labels.items() if not ids & rules]
    assert len(positives) >= 10 and len(negatives) >= 10
    for group in (positives, negatives):
        assert any("_zh_" in f for f in group)


@pytest.mark.parametrize("rule_id", sorted(MATCHER.ruleset.rules))
def test_each_rule_meets_precision_and_recall(rule_id: str) -> None:
    """Precision >= 0.95 and recall >= 0.9 per rule on the labelled corpus."""
    labels = read_labels(CORPUS / "labels.json")
    s = score(_results(), labels, {rule_id})[rule_id]  # type: ignore[arg-type]
    assert s.precision >= 0.95, f"false positives: {s.fp}"
    assert s.recall >= 0.9, f"false negatives: {s.fn}"


def test_events_and_rules_pooled_meet_the_bars() -> None:
    """Pooled over every event and rule id, the bars hold too."""
    labels = read_labels(CORPUS / "labels.json")
    total = micro(
        score(_results(), labels, set(MATCHER.ruleset.events) | set(MATCHER.ruleset.rules))
    )  # type: ignore[arg-type]
    assert total.precision >= 0.95 and total.recall >= 0.9, (total.fp, total.fn)


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_seeds_match_nothing(seed: Path) -> None:
    """Every seed is pre-development coverage: no event and no rule."""
    result = MATCHER.match_article(read_article(seed))
    assert (result.events, result.rules) == ({}, ())
