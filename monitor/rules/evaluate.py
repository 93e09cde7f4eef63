"""Precision and recall against a labels file, at alert level and at event level.

Two label formats are read:

- the corpus format `[{"file": name, "alerts": [developments], "events": [developments]}]`:
  rules and events are mapped to developments by their `development:` field, so a rule pack
  is scored the way a desk judges it (would this alert be wanted?) and, separately, whether
  its events found the development for any governments;
- the short format `[{"file": name, "labels": [rule or event ids]}]`, scored per id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.models import MatchResult

Labels = dict[str, set[str]]


@dataclass(frozen=True)
class LabelSet:
    """What a labels file says each file should produce, at both levels."""

    alerts: Labels  # file -> developments (corpus format) or rule/event ids (short format)
    events: Labels  # file -> developments for any governments (empty in the short format)
    by_development: bool  # corpus format: map rules and events through `development:`


def _item(path: Path, i: int, item: Any) -> tuple[str, set[str], set[str], bool]:
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise ValueError(f'{path}: item {i} must be an object with a "file" string')
    if isinstance(item.get("labels"), list):
        return item["file"], {str(x) for x in item["labels"]}, set(), False
    alerts, events = item.get("alerts"), item.get("events", [])
    if not isinstance(alerts, list) or not isinstance(events, list):
        raise ValueError(
            f'{path}: item {i} needs "labels": [ids] or "alerts": [...] (and "events": [...])'
        )
    return item["file"], {str(x) for x in alerts}, {str(x) for x in events}, True


def read_label_set(path: Path) -> LabelSet:
    """Read either label format; raises ValueError (with the item number) when malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read labels: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read labels: {exc}") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: labels must be a JSON list of objects with a file name")
    alerts: Labels = {}
    events: Labels = {}
    kinds = set()
    for i, raw in enumerate(data):
        name, a, e, by_dev = _item(path, i, raw)
        alerts[name], events[name] = a, e
        kinds.add(by_dev)
    if len(kinds) > 1:
        raise ValueError(f"{path}: mixes the short (labels) and corpus (alerts/events) formats")
    return LabelSet(alerts, events, kinds == {True})


def read_labels(path: Path) -> Labels:
    """The alert-level labels of a file (kept for callers that score ids directly)."""
    return read_label_set(path).alerts


@dataclass
class Score:
    """Counts and the files behind each error, for one id or development."""

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


def developments(ids: Iterable[str], mapping: dict[str, str]) -> set[str]:
    """The developments that matched ids stand for (ids without one are left out)."""
    return {mapping[i] for i in ids if i in mapping}


def score_sets(predicted: Labels, labels: Labels, ids: Iterable[str]) -> dict[str, Score]:
    """Score every id in `ids` over the labelled files, given what was predicted per file."""
    scores = {i: Score() for i in sorted(ids)}
    for name in sorted(labels):
        got = predicted.get(name, set())
        want = labels[name]
        for i, s in scores.items():
            if i in got and i in want:
                s.tp += 1
            elif i in got:
                s.fp.append(name)
            elif i in want:
                s.fn.append(name)
    return scores


def score(results: dict[str, MatchResult], labels: Labels, ids: set[str]) -> dict[str, Score]:
    """Score rule and event ids directly (the short label format)."""
    return score_sets({n: predicted_ids(r) for n, r in results.items()}, labels, ids)


def micro(scores: dict[str, Score]) -> Score:
    """All ids pooled."""
    total = Score()
    for s in scores.values():
        total.tp += s.tp
        total.fp += s.fp
        total.fn += s.fn
    return total


@dataclass(frozen=True)
class DevelopmentScores:
    """Scores per development at alert level (rules) and at event level (events)."""

    alerts: dict[str, Score]
    events: dict[str, Score]


def score_developments(
    results: dict[str, MatchResult],
    labels: LabelSet,
    rule_dev: dict[str, str],
    event_dev: dict[str, str],
) -> DevelopmentScores:
    """Map what matched to developments through `development:` and score both levels."""
    wanted = set(rule_dev.values()) | set(event_dev.values())
    alert_pred = {
        n: developments((r.rule for r in res.rules), rule_dev) for n, res in results.items()
    }
    event_pred = {n: developments(res.events, event_dev) for n, res in results.items()}
    alert_ids = wanted | {d for ds in labels.alerts.values() for d in ds}
    event_ids = set(event_dev.values()) | {d for ds in labels.events.values() for d in ds}
    return DevelopmentScores(
        score_sets(alert_pred, labels.alerts, alert_ids),
        score_sets(event_pred, labels.events, event_ids),
    )
