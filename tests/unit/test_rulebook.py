"""A rule reload swaps one immutable version of the rules; work in hand keeps its version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.rulebook import RuleBook, Rules, build_alerting
from monitor.rules.load import load_matcher
from monitor.sinks.jsonl import JsonlSink
from monitor.state.store import Store
from tests.support.articles import LEAD, article

ROOT = Path(__file__).resolve().parents[2]


def test_rules_are_frozen_with_their_policies() -> None:
    """One version: the matcher and a read-only policy per rule, derived together."""
    rules = Rules.of(load_matcher(ROOT / "rules"))

    assert set(rules.policies) == set(rules.matcher.ruleset.rules)
    with pytest.raises(TypeError):
        rules.policies["x"] = rules.policies[next(iter(rules.policies))]  # type: ignore[index]


async def test_a_swap_replaces_the_engine_and_leaves_the_old_one_alone(
    store: Store, tmp_path: Path
) -> None:
    """After a swap the new rules decide; the engine an article started with is unchanged."""
    settings = load_settings(None, data_dir=str(tmp_path))
    old = load_matcher(ROOT / "rules")
    engine, _deliverer = build_alerting(settings, store, old, {"jsonl": JsonlSink(tmp_path / "a")})
    book = RuleBook(engine)
    lists_only = tmp_path / "lists-only"
    shutil.copytree(ROOT / "rules" / "lists", lists_only)  # a valid pack with no rules
    statement = article(1, "wire.example", "AI statement", [LEAD])

    book.swap(Rules.of(load_matcher(lists_only)))
    processed = await book.process(statement)

    assert book.engine is not engine and engine.match == old.match_article
    assert engine.policies and not book.engine.policies
    assert old.match_article(statement).rules  # the old rules would have matched it
    assert processed.result is not None and processed.result.rules == ()
