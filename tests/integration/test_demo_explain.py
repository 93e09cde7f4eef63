"""The demo's trap lines give the same reason `monitor explain` gives for the same file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitor.extract.seed_format import read_article
from monitor.rules.condition import AtLeast, Node
from monitor.rules.load import load_matcher
from monitor.rules.trace import render_condition

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = ROOT / "monitor" / "demo" / "articles"


def _run(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    done = subprocess.run([sys.executable, "-m", "monitor", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _alternatives(node: Node) -> list[Node]:
    """The condition itself and, for "a or b", each alternative."""
    if isinstance(node, AtLeast) and node.n == 1:
        return [node, *node.args]
    return [node]


def test_every_trap_line_agrees_with_explain() -> None:
    """For each silent trap, explain's 'decided by' line for the rule the demo names says the same."""
    demo = _run("demo")
    traps = demo.split("Traps that stayed silent, and why:\n", 1)[1].splitlines()
    titles = {read_article(p).title: p for p in ARTICLES.glob("*.txt")}
    conditions = {  # a rule's condition, or one alternative of it, names the deciding leaf
        render_condition(part): rule_id
        for rule_id, r in load_matcher(ROOT / "rules").c.rules.items()
        for part in _alternatives(r.condition)
    }
    checked = 0
    for line in (t.strip()[2:] for t in traps if t.strip().startswith("- ")):
        title = next(t for t in titles if line.startswith(t[:70] + ": "))
        reason = line[len(title[:70]) + 2 :]
        rule_text = next((c for c in conditions if reason.startswith(c + ": ")), None)
        if rule_text is None:
            assert reason == "no development's terms came together in one clause"
            continue
        explained = _run("explain", conditions[rule_text], str(titles[title]))
        decided = next(x for x in explained.splitlines() if x.strip().startswith("decided by:"))
        assert (
            decided.strip() == f"decided by: {rule_text} -> false: {reason[len(rule_text) + 2 :]}"
        )
        checked += 1
    assert checked >= 5
