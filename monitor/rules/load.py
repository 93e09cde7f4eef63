"""The one way to get a Matcher from rule files: load, validate, compile."""

from __future__ import annotations

from pathlib import Path

from monitor.rules.loader import load_rules
from monitor.rules.matcher import Matcher


def load_matcher(path: Path) -> Matcher:
    """The rules in a file or folder, compiled; raises RuleError listing every problem
    as file:line (pure: the CLI, the daemon's reloads and tests all call this)."""
    return Matcher(load_rules(path))
