"""The rule-file format as pydantic models; `monitor rules schema` prints their JSON Schema.

A rule file has four optional sections, shaped on Falco and Sigma:

    lists:       named term lists, reusable across files (`$name` refers to one)
    qualifiers:  add/remove/replace cues of the built-in qualifiers
    events:      clause-level detectors of a development, with qualifiers that veto
    rules:       alerting units: a boolean condition over events and lists, routing, dedup

Terms are strings: `joint statement` (phrase, word-bounded), `issu*` (prefix), `=US`
(case-sensitive), `re:...` (a linear-time RE2 regex), `$china` (every term of a list).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

QualifierKind = Literal["hedged", "negated", "historical", "proposed"]
QUALIFIER_KINDS: tuple[QualifierKind, ...] = ("hedged", "negated", "historical", "proposed")
Severity = Literal["info", "low", "medium", "high", "critical"]
GroupKey = Literal["story", "source", "feed"]
"""What `dedup.group_by` may name: the alerts engine keys a group by these values only."""
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
DURATION_PATTERN = r"^\s*[0-9]+\s*[smhdw]\s*$"
"""What `parse_duration` accepts, for the JSON Schema (editors flag `realert: 7 days`)."""
_DURATION = re.compile(r"^([0-9]+)\s*([smhdw])$")


def parse_duration(value: str) -> int:
    """`90s`, `30m`, `24h`, `7d`, `2w` -> seconds."""
    m = _DURATION.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a duration like 30m, 24h or 7d")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]


WINDOW_PATTERN = r"^\s*([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]\s*$"
"""What `parse_window` accepts (but an empty window such as 22:00-22:00)."""
_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_window(value: str) -> tuple[int, int]:
    """`22:00-07:00` -> (start, end) in minutes after midnight UTC."""
    m = _WINDOW.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a UTC window like 22:00-07:00")
    start, end = int(m.group(1)) * 60 + int(m.group(2)), int(m.group(3)) * 60 + int(m.group(4))
    if start == end:
        raise ValueError("a quiet window must not be empty")
    return start, end


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _window(value: str) -> str:
    parse_window(value)
    return value


# The patterns go into the JSON Schema only, so that an editor flags `realert: 7 days`; the
# validators give the loader a message that says what a valid value looks like.
Duration = Annotated[
    str,
    AfterValidator(_duration),
    Field(json_schema_extra={"pattern": DURATION_PATTERN, "examples": ["90s", "30m", "24h", "7d"]}),
]
Window = Annotated[
    str,
    AfterValidator(_window),
    Field(json_schema_extra={"pattern": WINDOW_PATTERN, "examples": ["22:00-07:00"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Examples(_Strict):
    """Snippets (headline on the first line, then paragraphs) that must / must not match."""

    match: list[str] = Field(default_factory=list)
    no_match: list[str] = Field(default_factory=list)


class QualifierEdit(_Strict):
    """Tune a built-in qualifier's cue list without code."""

    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    replace: list[str] | None = None


class Scope(_Strict):
    """How many words before the first / after the last matched term a qualifier cue may sit."""

    before: int = Field(default=8, ge=0)
    after: int = Field(default=2, ge=0)


class _Groups(_Strict):
    """Groups of terms that co-occur in one clause, how close, and in which order."""

    all: list[list[str] | str] = Field(
        min_length=1, description="groups; one term of each must occur"
    )
    within: int = Field(default=12, ge=1, description="max words between the first and last term")
    ordered: bool = Field(default=False, description="groups must occur in the order listed")
    topic_within: int | None = Field(
        default=None,
        ge=1,
        description="the last group is the topic: it may stand up to this many words from the "
        "others (same clause), which keep `within` among themselves",
    )


class PatternDef(_Groups):
    """An alternative way to report the event: groups that co-occur, optionally in order.

    Role patterns are ordered groups with the actor first: `[[$china], [delegation],
    [led by, headed by]]` reads "China's delegation ... led by X".
    """

    qualifiers: list[QualifierKind] | None = Field(
        default=None, description="qualifiers for this pattern (default: the event's)"
    )


class EventDef(_Groups):
    """A development detected in one clause: every group co-occurs within `within` words."""

    description: str = ""
    field: Literal["title", "body", "both"] = "both"
    patterns: list[PatternDef] = Field(
        default_factory=list, description="alternative patterns (e.g. role patterns)"
    )
    none: list[str] = Field(default_factory=list, description="terms that rule the clause out")
    qualifiers: list[QualifierKind] = Field(default_factory=lambda: list(QUALIFIER_KINDS))
    scope: Scope = Field(default_factory=Scope)
    agreement: list[str] = Field(
        default_factory=list,
        description="terms (agreed, announced, 宣布) after which a `proposed` cue such as "
        "'will' or 将 is part of the development, not a veto: 'agreed that they will hold talks'",
    )
    across_sentences: bool = Field(
        default=True,
        description="the event may complete in the next sentence of the same paragraph when "
        "it refers back with a definite noun of a group ('the channel', 该机制) or to the headline",
    )
    refers_back: list[str] = Field(
        default_factory=list,
        description="nouns that refer back to the whole antecedent ('the report', 相关报道): "
        "with one, a missing group may come from the sentence before, the question or the headline",
    )
    news_window: Duration = Field(
        default="7d",
        description="a development dated (by a time expression near it) more than this before "
        "the article's publication is background (historical)",
    )

    def term_lists(self) -> list[tuple[tuple[str | int, ...], list[str]]]:
        """Every term list of the event with its path inside the event (for validation)."""
        out: list[tuple[tuple[str | int, ...], list[str]]] = []
        for g, group in enumerate(self.all):
            out.append((("all", g), [group] if isinstance(group, str) else group))
        for p, pattern in enumerate(self.patterns):
            for g, group in enumerate(pattern.all):
                out.append(
                    (("patterns", p, "all", g), [group] if isinstance(group, str) else group)
                )
        out.append((("none",), self.none))
        out.append((("agreement",), self.agreement))
        out.append((("refers_back",), self.refers_back))
        return out

    development: str | None = Field(
        default=None, description="the labelled development this event detects (for `rules eval`)"
    )
    examples: Examples = Field(default_factory=Examples)


class Route(_Strict):
    """Where a rule's alerts go (defaults: the configured Slack channel / email recipients)."""

    slack: str | None = None
    email: list[str] = Field(default_factory=list)


class Dedup(_Strict):
    """Alertmanager-style grouping: one alert per group within the realert window."""

    realert: Duration = Field(default="24h", description="one alert per group this long")
    group_by: list[GroupKey] = Field(
        default_factory=list, description="one alert per story, source (outlet) or feed"
    )
    min_sources: int = Field(default=1, ge=1)
    digest: Duration | None = Field(
        default=None,
        description="email: one digest per period (e.g. 1h) instead of one mail per message",
    )
    quiet_hours: Window | None = Field(
        default=None, description="UTC window like 22:00-07:00: messages wait until it ends"
    )


class RuleDef(_Strict):
    """An alerting unit."""

    id: str
    title: str
    description: str = ""
    severity: Severity = "medium"
    tags: list[str] = Field(default_factory=list)
    condition: str = Field(description="e.g. `joint_statement_issued with ($us and $china)`")
    route: Route = Field(default_factory=Route)
    dedup: Dedup = Field(default_factory=Dedup)
    follows: str | None = Field(default=None, description="post into this rule's open alert")
    development: str | None = Field(
        default=None,
        description="the labelled development an alert of this rule reports (for `rules eval`)",
    )
    examples: Examples = Field(default_factory=Examples)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lower-case letters, digits, '-', '_' or '.'")
        return value


class RuleFile(_Strict):
    """One YAML rule file."""

    lists: dict[str, list[str]] = Field(default_factory=dict)
    qualifiers: dict[QualifierKind | Literal["pseudo"], QualifierEdit] = Field(
        default_factory=dict,
        description="edit the built-in cues; `pseudo` lists phrases that contain a cue but are "
        "not one ('not only', 将军)",
    )
    events: dict[str, EventDef] = Field(default_factory=dict)
    rules: list[RuleDef] = Field(default_factory=list)
