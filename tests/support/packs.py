"""The real rule pack with one rule's `dedup:` changed, for tests of dedup options."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from monitor.rules.load import load_matcher
from monitor.rules.matcher import Matcher

ROOT = Path(__file__).resolve().parents[2]


def pack_with_dedup(tmp_path: Path, rule_id: str, dedup: str) -> Matcher:
    """A copy of `rules/` where `rule_id`'s own `dedup:` line reads `dedup: <dedup>`."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    pack = rules / "us-china-ai.yaml"
    text = pack.read_text(encoding="utf-8")
    start = text.index(f"- id: {rule_id}\n")
    line = re.compile(r"^(\s+)dedup: .*$", re.MULTILINE).search(text, start)
    assert line is not None, f"{rule_id} has no dedup line"
    text = text[: line.start()] + f"{line.group(1)}dedup: {dedup}" + text[line.end() :]
    pack.write_text(text, encoding="utf-8")
    matcher = load_matcher(rules)
    assert rule_id in matcher.ruleset.rules
    return matcher
