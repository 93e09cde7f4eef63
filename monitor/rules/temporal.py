"""News or background: resolve time expressions against the article's publication date.

"On Tuesday", "last month", "in September", "Sept. 3", "three weeks ago", "earlier this
year", "上周", "9月3日", "去年" are found in the folded text and turned into the date (or the
latest date of the period) they point to, looking backwards from `published`: a weekday is
the latest such day on or before publication, a month without a year the latest such month.
The matcher compares the expression nearest the evidence with the event's `news_window`.

The resolution is arithmetic on the publication date, not a general date parser: the
expressions are already isolated by the patterns below, and what matters is "how many days
before publication", with the period's *end* taken so that "in November" read on 13 November
is news (0 days), not background.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import NamedTuple

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            (),
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_WEEKDAYS = {
    d: i
    for i, names in enumerate(
        [
            ("monday",),
            ("tuesday",),
            ("wednesday",),
            ("thursday",),
            ("friday",),
            ("saturday",),
            ("sunday",),
        ]
    )
    for d in names
}
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "several": 3,
    "a few": 3, "few": 3, "some": 3,
}  # fmt: skip
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUM_RE = r"\d{1,2}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))


def _ahead(first: str, pattern: str) -> re.Pattern[str]:
    """`pattern` behind a lookahead on the characters its matches can start with: the regex
    engine then skips to the next such character instead of trying the pattern everywhere
    (same matches, several times faster on a sentence)."""
    return re.compile(f"(?=[{re.escape(first)}])(?:{pattern})")


_NUM_FIRST = "0123456789" + "".join(sorted({w[0] for w in _NUMBERS}))
_MONTH_FIRST = "".join(sorted({m[0] for m in _MONTHS}))
_WEEKDAY_FIRST = "".join(sorted({d[0] for d in _WEEKDAYS} | set("ltosbu")))
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "two months after agreeing to ...": what follows "after" happened that long before now
    ("ago", _ahead(_NUM_FIRST, rf"\b({_NUM_RE})\s+(day|week|month|year)s?\s+(?:ago|earlier|before|after)\b")),
    ("later", _ahead(_NUM_FIRST, rf"\b(?:{_NUM_RE})\s+(?:month|year)s?\s+later\b")),
    ("last", _ahead("lp", r"\b(?:last|past|previous)\s+(week|month|year)\b")),
    ("earlier_this", _ahead("e", r"\bearlier\s+(?:this|in the)\s+(week|month|year)\b")),
    ("this", _ahead("t", r"\b(?:this|the current)\s+(week|month)\b")),
    ("today", _ahead("ty", r"\b(today|tonight|this morning|this afternoon|yesterday)\b")),
    (
        "month_day",
        _ahead(
            _MONTH_FIRST + "0123456789",
            rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?"
            rf"|\b(\d{{1,2}})\s+({_MONTH_RE})\b\.?(?:,?\s+(\d{{4}}))?",
        ),
    ),
    # a season, read backwards like a month: "in the summer", "last spring", "this autumn"
    ("season", _ahead("itlode", r"\b(in the|this|last|over the|during the|earlier this)\s+(spring|summer|autumn|fall|winter)\b")),
    # a deadline looks ahead: "before the end of March", "by March" (a month to come)
    ("deadline", _ahead("bua", rf"\b(?:by|before|until|ahead of)\s+(?:the\s+)?(?:(?:end|start|beginning|middle)\s+of\s+)?({_MONTH_RE})\b(?:\.?\s+(\d{{4}}))?")),
    ("month", _ahead("isdfbotlemh", rf"\b(?:in|since|during|from|by|of|the|last|early|late|mid|their|its|his|her|our)[- ]+({_MONTH_RE})\b(?:\.?\s+(\d{{4}}))?")),
    ("weekday", _ahead(_WEEKDAY_FIRST, r"\b(?:(last|this|on|since|by|until)\s+)?(" + "|".join(_WEEKDAYS) + r")\b")),
    # a day of this or last month: "本月5日", "上月28日"
    ("cn_month_day", _ahead("本上", r"(本月|上个月|上月)(\d{1,2})[日号]")),
    ("cn_date", _ahead("0123456789十一二三四五六七八九", r"(?:(\d{4})年)?(\d{1,2}|十[一二]?|[一二三四五六七八九])月(?:(\d{1,2})[日号])?")),
    # time since: "启动四个月" (launched four months ago), "运行一年来"
    ("cn_since", _ahead("启开建运举成设签发", r"(?:启动|开通|建立|运行|举行|成立|设立|启用|签署|发表)(?:了|已|已经)?(?:近|逾|超过|满)?(\d{1,2}|[一二两三四五六七八九十]{1,2})(?:个)?(天|周|星期|月|年)(?:来|以来|之久)?")),
    # relative to a date told earlier: "同月底", "同年", "当月"
    ("cn_later", _ahead("同次翌当", r"同月|同年|同周|次月|翌年|当月底")),
    ("cn_ago", _ahead("0123456789一二两三四五六七八九十", r"(\d{1,2}|[一二两三四五六七八九十]{1,2})(?:个)?(天|周|星期|月|年)(?:前|之前|以前)(?:的今天|的今日|的这一天)?")),
    ("cn_rel", _ahead("上去前昨今本近日当", r"(上周|上星期|上个月|上月|去年|前年|昨天|昨日|今天|今日|本周|本月|近日|日前|当天)")),
    ("cn_weekday", _ahead("上周星", r"(上)?(?:周|星期)([一二三四五六日天])")),
]  # fmt: skip


# A month as a word ("dec" inside "decided" is none): one regex test instead of substrings
_MONTH_WORD = re.compile(rf"\b(?:{_MONTH_RE})\b")
# Words each pattern cannot match without: a substring test per pattern spares most sentences
# most of the thirteen regex scans (a necessary condition, so the results are the same).
_GATES: dict[str, tuple[str, ...]] = {
    "ago": ("ago", "earlier", "before", "after"), "later": ("later",),
    "last": ("last", "past", "previous"), "earlier_this": ("earlier",),
    "this": ("week", "month"), "today": ("today", "tonight", "morning", "afternoon", "yesterday"),
    "weekday": tuple(_WEEKDAYS), "season": ("spring", "summer", "autumn", "fall", "winter"),
    "cn_month_day": ("本月", "上月", "上个月"), "cn_date": ("月",), "cn_ago": ("前",), "cn_since": ("天", "周", "星期", "月", "年"),
    "cn_later": ("同", "次月", "翌年", "当月"),
    "cn_rel": ("上周", "上星期", "上个月", "上月", "去年", "前年", "昨", "今", "本周", "本月",
               "近日", "日前", "当天"),
    "cn_weekday": ("周", "星期"),
}  # fmt: skip


class TimeRef(NamedTuple):  # a tuple: built in C, several per sentence
    """A time expression and how long before publication it points (None: unknown period)."""

    text: str
    start: int
    end: int
    days_before: int | None  # negative: after publication (a plan)
    resolved: date | None


def _days(published: date, when: date) -> int:
    return (published - when).days


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _latest_month(published: date, month: int, year: int | None) -> date:
    if year is None:
        year = published.year if month <= published.month else published.year - 1
    if (year, month) == (published.year, published.month):
        # "in November", read on 20 November: some day this month, on average half-way
        return published - timedelta(days=(published.day - 1) // 2)
    return _month_end(year, month)


def _latest_day(published: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        when = date(published.year, month, day)
        # a date up to a month ahead is this year's (a plan); further ahead, last year's
        return (
            when
            if when <= published + timedelta(days=31)
            else date(year or published.year - 1, month, day)
        )
    except ValueError:
        return None


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text.startswith("十"):
        return 10 + _CN_DIGITS.get(text[1:], 0)
    return _CN_DIGITS.get(text, 0)


def _weekday(published: date, weekday: int, last: bool) -> date:
    back = (published.weekday() - weekday) % 7
    if last and back == 0:
        back = 7
    return published - timedelta(days=back)


def _ago(g: tuple[str, ...], pub: date) -> date | None:
    n = int(g[0]) if g[0].isdigit() else _NUMBERS[g[0]]
    return pub - timedelta(days=n * _UNIT_DAYS[g[1]])


def _last(g: tuple[str, ...], pub: date) -> date | None:  # the middle of last week, etc.
    return pub - timedelta(days={"week": 10, "month": 30, "year": 365}[g[0]])


def _earlier_this(g: tuple[str, ...], pub: date) -> date | None:
    half = {"week": 3, "month": max(pub.day // 2, 1), "year": pub.timetuple().tm_yday // 2}
    return pub - timedelta(days=half[g[0]])


def _this(g: tuple[str, ...], pub: date) -> date | None:
    return pub - timedelta(days=1 if g[0] == "yesterday" else 0)


def _month_day(g: tuple[str, ...], pub: date) -> date | None:
    if g[0]:
        return _latest_day(pub, _MONTHS[g[0]], int(g[1]), int(g[2]) if g[2] else None)
    return _latest_day(pub, _MONTHS[g[4]], int(g[3]), int(g[5]) if g[5] else None)


def _month(g: tuple[str, ...], pub: date) -> date | None:
    return _latest_month(pub, _MONTHS[g[0]], int(g[1]) if g[1] else None)


_SEASON_START = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}


def _season(g: tuple[str, ...], pub: date) -> date | None:
    """The end of the season meant: "in the summer" the latest one begun by publication,
    "last summer" the one before the current, "this winter" the one starting this calendar
    year (still to come in November), "earlier this autumn" half-way into the current one."""
    first = _SEASON_START[g[1]]
    begun = date(pub.year if pub.month >= first else pub.year - 1, first, 1)
    if g[0] == "this":
        begun = date(pub.year, first, 1)
    elif g[0] == "last" and (pub - begun).days <= 92:
        begun = date(begun.year - 1, first, 1)  # under way now: "last" is the one before
    elif g[0] == "earlier this":
        return begun + (pub - begun) // 2
    end_month = (first + 1) % 12 + 1
    return _month_end(begun.year + (1 if end_month < first else 0), end_month)


def _deadline(g: tuple[str, ...], pub: date) -> date | None:
    month = _MONTHS[g[0]]
    if g[1]:
        return _month_end(int(g[1]), month)
    year = pub.year if month >= pub.month else pub.year + 1
    return _month_end(year, month)


def _weekday_ref(g: tuple[str, ...], pub: date) -> date | None:
    return _weekday(pub, _WEEKDAYS[g[1]], g[0] == "last")


def _cn_date(g: tuple[str, ...], pub: date) -> date | None:
    month = _cn_number(g[1])
    if not 1 <= month <= 12:
        return None
    year = int(g[0]) if g[0] else None
    if g[2]:
        return _latest_day(pub, month, int(g[2]), year)
    return _latest_month(pub, month, year)


def _cn_month_day(g: tuple[str, ...], pub: date) -> date | None:
    if g[0] == "本月":
        return date(pub.year, pub.month, int(g[1]))
    last = date(pub.year, pub.month, 1) - timedelta(days=1)
    return date(last.year, last.month, int(g[1]))


def _cn_ago(g: tuple[str, ...], pub: date) -> date | None:
    unit = {"天": 1, "周": 7, "星期": 7, "月": 30, "年": 365}[g[1]]
    return pub - timedelta(days=unit * (_cn_number(g[0]) if g[0] != "两" else 2))


def _cn_weekday(g: tuple[str, ...], pub: date) -> date | None:
    return _weekday(pub, _CN_WEEKDAY[g[1]], bool(g[0]))


_CN_OFFSETS = {"上周": 10, "上星期": 10, "上个月": 30, "上月": 30, "去年": 365, "前年": 730,
               "昨天": 1, "昨日": 1}  # fmt: skip


def _cn_rel(g: tuple[str, ...], pub: date) -> date | None:
    return pub - timedelta(days=_CN_OFFSETS.get(g[0], 0))


def _later(g: tuple[str, ...], pub: date) -> date | None:
    return None  # relative to an earlier date in the text: background


_RESOLVERS: dict[str, Callable[[tuple[str, ...], date], date | None]] = {
    "ago": _ago, "later": _later, "last": _last, "earlier_this": _earlier_this, "this": _this,
    "today": _this, "month_day": _month_day, "month": _month, "deadline": _deadline, "season": _season, "weekday": _weekday_ref,
    "cn_date": _cn_date, "cn_month_day": _cn_month_day, "cn_rel": _cn_rel, "cn_weekday": _cn_weekday, "cn_ago": _cn_ago, "cn_since": _cn_ago,
    "cn_later": _later,
}  # fmt: skip


_MONTH_KINDS = frozenset({"month_day", "month", "deadline"})


def time_refs(folded: str, start: int, end: int, published: date) -> list[TimeRef]:
    """Every time expression in folded[start:end], resolved against `published`."""
    segment = folded[start:end]
    found: list[TimeRef] = []
    taken: list[tuple[int, int]] = []
    months = _MONTH_WORD.search(segment) is not None
    for kind, pattern in _PATTERNS:
        if kind in _MONTH_KINDS:
            if not months:
                continue
        elif not any(map(segment.__contains__, _GATES[kind])):
            continue
        for m in pattern.finditer(folded, start, end):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue  # "on Sept. 3" is one expression, not also "Sept."
            if kind == "weekday" and folded[m.start() : m.end()].startswith(
                ("since", "by", "until")
            ):
                continue
            try:
                when = _RESOLVERS[kind](m.groups(), published)
            except (ValueError, OverflowError):  # "0000年9月", or a date before year 1
                continue
            relative = kind in ("later", "cn_later")
            days = _days(published, when) if when else (10_000 if relative else None)
            found.append(TimeRef(folded[m.start() : m.end()], m.start(), m.end(), days, when))
            taken.append((m.start(), m.end()))
    return sorted(found, key=lambda t: t.start)
