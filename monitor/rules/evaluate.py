"""Precision and recall of events and rules against a labels file, with FPs and FNs explained."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from monitor.models import MatchResult

Labels = dict[str, set[str]]


def read_labels(path: Path) -> Labels:
    """`[{"file": name, "labels": [ids]}]` -> {name: {ids}}; raises ValueError when malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read labels: {exc}") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: labels must be a JSON list of {{file, labels}} objects")
    out: Labels = {}
    for i, item in enumerate(data):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("file"), str)
            and isinstance(item.get("labels"), list)
        ):
            raise ValueError(f'{path}: item {i} must be {{"file": str, "labels": [ids]}}')
        out[item["file"]] = {str(x) for x in item["labels"]}
    return out


@dataclass
class Score:
    """Counts and the files behind each error, for one event or rule id."""

    tp: int = 0
    fp: list[str] = field(default_factory=list)
    fn: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + len(self.fp)) if self.tp + len(self.fp) else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + len(self.fn)) if self.tp + len(self.fn) else 1.0


def predicted_ids(result: MatchResult) -> set[str]:
    """Event ids and rule ids a result contains."""
    return set(result.events) | {r.rule for r in result.rules}


def score(results: dict[str, MatchResult], labels: Labels, ids: set[str]) -> dict[str, Score]:
    """Score every id in `ids` over the labelled files."""
    scores = {i: Score() for i in sorted(ids)}
    for name, result in results.items():
        got = predicted_ids(result)
        want = labels.get(name, set())
        for i, s in scores.items():
            if i in got and i in want:
                s.tp += 1
            elif i in got:
                s.fp.append(name)
            elif i in want:
                s.fn.append(name)
    return scores


def micro(scores: dict[str, Score]) -> Score:
    """All ids pooled."""
    total = Score()
    for s in scores.values():
        total.tp += s.tp
        total.fp += s.fp
        total.fn += s.fn
    return total
