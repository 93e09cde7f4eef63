"""Built-in qualifiers: cue lists that veto a candidate clause, by kind.

Analysts tune them in YAML (`qualifiers: {hedged: {add: [...], remove: [...]}}`).
`historical` also fires on an explicit year before the article's year ("in 1963").
A question (a clause ending in "?") counts as `hedged`.
"""

from __future__ import annotations

import re

from monitor.rules.schema import QualifierKind

BUILTIN_CUES: dict[QualifierKind, tuple[str, ...]] = {
    "hedged": (
        "may", "might", "could", "would", "should", "can", "considering", "consider", "considers",
        "considered whether", "mulling", "weighing", "expected to", "expects", "likely", "unlikely",
        "possible", "possibly", "potential", "potentially", "whether", "if", "unless", "calls for",
        "called for", "call for", "calling for", "urged", "urges", "urge", "urging", "watch for",
        "hopes", "hope to", "hoping", "seek", "seeks", "seeking", "aim to", "aims to", "rumor*",
        "rumour*", "speculat*", "perhaps", "maybe", "would-be", "asked", "asks", "pushing for",
        "pressing for", "could see", "envisag*", "envision*", "ought to", "must", "need to",
        "needs to", "has to", "have to",
        "是否", "可能", "拟", "或将", "有望", "考虑", "呼吁", "希望", "预计", "敦促", "或许", "设想",
    ),
    "negated": (
        "not", "n't", "no", "never", "declined to", "declines to", "decline to", "refused",
        "refuses", "refuse", "has yet to", "have yet to", "yet to", "waiting for", "wait for",
        "awaiting", "neither", "nor", "without", "failed to", "fails to", "denied", "denies",
        "deny", "rejected", "rejects", "dismissed", "ruled out", "no longer", "unanswered",
        "went unanswered", "rather than", "instead of", "absence of", "lack of", "lacks",
        "stalled", "suspended", "cancelled", "canceled", "called off", "scrapped", "collapsed",
        "未", "没有", "拒绝", "尚未", "否认", "不会", "并未", "不再", "暂停", "取消", "无意",
    ),
    "historical": (
        "cold war", "soviet", "cuban missile crisis", "previous administration",
        "former administration", "first term", "in the past", "years ago", "decades ago",
        "back in", "at the time", "recalled", "recalls", "history of", "historically", "prior",
        "previously", "former", "formerly", "once again", "earlier rounds",
        "冷战", "苏联", "上届政府", "多年前", "历史上", "当年",
    ),
    "proposed": (
        "plan", "plans", "planned", "planning", "proposal", "proposals", "proposed", "proposes",
        "propose", "will", "shall", "set to", "slated", "scheduled", "upcoming", "next week",
        "next month", "next year", "later this", "intend*", "prepared to", "ready to",
        "preparing to", "prepares to", "poised to", "about to", "on the verge of", "in talks to",
        "moving to", "looking to", "getting ready",
        "willing to", "open to", "discuss", "discussed", "discusses", "discussing",
        "discussion", "discussions", "signaled", "signalled", "signals", "floated", "pitched",
        "idea of", "push for", "draft", "drafting", "negotiating", "working on", "agenda",
        "计划", "将", "拟议", "提议", "建议", "准备", "讨论", "愿意", "筹备", "打算", "草案",
    ),
}  # fmt: skip

YEAR = re.compile(r"(?<![\d.,])(1[6-9]\d\d|20\d\d)(?![\d.,]\d)")
YEAR_CUE = re.compile(
    r"(?:\b(?:in|during|by|of|back in|until|before)\s+(?:(?:early|late|mid)[- ])?"
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?:\d{1,2},?\s+)?)?"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+|\d{1,2}\s+"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+)$"
)
CJK_YEAR = re.compile(r"(1[6-9]\d\d|20\d\d)年")


def cue_lists(
    edits: dict[QualifierKind, tuple[list[str], list[str], list[str] | None]],
) -> dict[QualifierKind, tuple[str, ...]]:
    """Built-in cues with the YAML edits applied (replace, then remove, then add)."""
    out: dict[QualifierKind, tuple[str, ...]] = {}
    for kind, builtin in BUILTIN_CUES.items():
        add, remove, replace = edits.get(kind, ([], [], None))
        cues = list(replace) if replace is not None else list(builtin)
        drop = {r.casefold() for r in remove}
        cues = [c for c in cues if c.casefold() not in drop]
        cues.extend(a for a in add if a not in cues)
        out[kind] = tuple(cues)
    return out


def past_years(folded_clause: str, ref_year: int) -> list[tuple[int, int, str]]:
    """Explicit past years in a clause ("in 1963", "in November 2023", "2019年") before `ref_year`.

    A bare year with no preposition or date before it ("the first since 2023" is kept out
    by requiring the cue to precede it) does not count.
    """
    hits = []
    for m in YEAR.finditer(folded_clause):
        year = int(m.group(1))
        if year >= ref_year:
            continue
        before = folded_clause[max(0, m.start() - 40) : m.start()]
        if YEAR_CUE.search(before):
            hits.append((m.start(), m.end(), m.group(1)))
    for m in CJK_YEAR.finditer(folded_clause):
        if int(m.group(1)) < ref_year:
            hits.append((m.start(), m.end(), m.group(0)))
    return hits
