"""The shipped pack against ../shared/corpus, written independently of the rules.

A floor against regressions (the README's "Matching quality" section has the figures): at
alert level every development keeps precision >= 0.90 and recall >= 0.85, in English and in
Chinese separately, scored by the same code `monitor rules eval` runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.extract.seed_format import read_article
from monitor.models import MatchResult
from monitor.rules.evaluate import read_label_set, score_developments
from monitor.rules.load import load_matcher
from tests.support.builders import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
CORPUS = SHARED_DATA.parent / "corpus"
MATCHER = load_matcher(ROOT / "rules")
RULE_DEV = {r: d.value.development for r, d in MATCHER.ruleset.rules.items() if d.value.development}
EVENT_DEV = {
    e: d.value.development for e, d in MATCHER.ruleset.events.items() if d.value.development
}
DEVELOPMENTS = sorted(set(RULE_DEV.values()))


def _results(lang: str) -> dict[str, MatchResult]:
    return {p.name: MATCHER.match_article(read_article(p)) for p in (CORPUS / lang).glob("*.txt")}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("development", DEVELOPMENTS)
def test_each_development_keeps_the_floor(lang: str, development: str) -> None:
    """Alert-level precision >= 0.90 and recall >= 0.85 per development and language."""
    labels = read_label_set(CORPUS / lang / "labels.json")
    scores = score_developments(_results(lang), labels, RULE_DEV, EVENT_DEV).alerts[development]
    assert scores.precision >= 0.90, f"false positives: {scores.fp}"
    assert scores.recall >= 0.85, f"false negatives: {scores.fn}"


def test_every_rule_maps_to_a_labelled_development() -> None:
    """Each shipped rule names the development it reports, and the labels use those names."""
    labels = read_label_set(CORPUS / "en" / "labels.json")
    used = {d for ds in labels.alerts.values() for d in ds}
    assert set(RULE_DEV) == set(MATCHER.ruleset.rules)
    assert set(RULE_DEV.values()) == used


def test_rules_eval_prints_both_levels_and_explains_errors() -> None:
    """`monitor rules eval` on the corpus: two tables, one row per development."""
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "rules", "eval", "--labels",
         str(CORPUS / "zh" / "labels.json"), str(CORPUS / "zh")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "alert level (rules; 90 files)" in result.stdout
    assert "event level (events, any governments)" in result.stdout
    for development in DEVELOPMENTS:
        assert result.stdout.count(f"\n{development} ") == 2, development
    assert "false positive" in result.stdout or "false negative" in result.stdout
