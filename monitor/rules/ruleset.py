"""The loaded rules (a `RuleSet`), each definition with where it was written, and the
collector of every problem found while loading (file:line, all of them in one pass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from monitor.errors import Location, Problem
from monitor.rules.condition import Node
from monitor.rules.schema import EventDef, RuleDef

T = TypeVar("T")


@dataclass(frozen=True)
class Located(Generic[T]):
    """A definition and where it was written."""

    value: T
    where: Location


@dataclass
class RuleSet:
    """Every list, event and rule from a set of files, validated and cross-checked."""

    lists: dict[str, Located[list[str]]] = field(default_factory=dict)
    events: dict[str, Located[EventDef]] = field(default_factory=dict)
    rules: dict[str, Located[RuleDef]] = field(default_factory=dict)
    conditions: dict[str, Node] = field(default_factory=dict)
    qualifier_edits: dict[str, tuple[list[str], list[str], list[str] | None]] = field(
        default_factory=dict
    )
    files: list[Path] = field(default_factory=list)


class Collector:
    """Problems found so far, and every name defined anywhere, valid or not.

    A definition that fails the schema is still *defined*: a reference to it is not reported
    again as unknown. When a whole file or section could not be read (`partial`), no reference
    is reported as unknown, since its target may be in the unread part.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.defined: dict[tuple[str, str], Location] = {}
        self.partial = False

    def add(self, file: Path | str, line: int, message: str) -> None:
        self.problems.append(Problem(Location(str(file), line), message))

    def unknown(self, kind: str, name: str) -> bool:
        """True when nothing anywhere defines `name` (kind: lists, events or rules)."""
        return not self.partial and (kind, name) not in self.defined
