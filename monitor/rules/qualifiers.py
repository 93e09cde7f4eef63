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
        "considered whether", "mulling", "mull", "mulls", "mulled", "weighing", "weigh",
        "weighs", "weighed", "expected to", "expects", "expected", "likely",
        "unlikely", "possible", "possibly", "potential", "potentially", "possibility",
        "possibilities", "prospect", "prospects", "whether", "if", "unless", "calls for",
        "called for", "call for", "calling for", "urged", "urges", "urge", "urging", "watch for",
        "hopes", "hope to", "hoped", "hoping", "seek", "seeks", "seeking", "aim to", "aims to",
        "aimed at", "want to", "wants to", "wanted to", "rumor*", "rumour*", "speculat*",
        "perhaps", "maybe", "asked", "asks", "request", "requests", "requested",
        "pushing for", "pressing for", "could see", "envisag*", "envision*", "ought to", "must",
        "need to", "needs to", "has to", "have to", "talk of", "question of", "in favor of",
        "in favour of", "who will", "who would", "who is to", "who might", "reportedly considering", "unconfirmed", "if confirmed", "until",
        "once", "hypothetical",
        "是否", "可能", "拟", "或将", "有望", "考虑", "呼吁", "希望", "预计", "敦促", "或许", "设想",
        "传闻", "传言", "据传", "猜测", "能否", "要求", "期待", "期望", "寻求", "倘若", "如果",
        "应", "应当", "应该", "须", "必须", "盼", "一旦", "假如", "流传", "传出", "据说", "由谁", "谁将", "谁会",
        "坊间", "很快", "就要", "快要", "难以", "需要", "与其", "不如", "何时", "什么时候", "无定论", "恐将", "可望", "有报道称", "有媒体称", "媒体报道称", "外媒称", "据外媒报道",
        "不予置评", "促", "促请", "吁", "吁请", "is close to", "are close to", "was close to", "were close to", "is set to", "are set to", "poised to",
        "re:\\bclose to [a-z]+ing\\b", "citing unnamed", "citing anonymous", "citing people", "citing sources",
        "people familiar", "familiar with the matter", "sources said", "sources say", "a source said",
        "according to people", "according to sources", "消息人士", "知情人士", "据知情", "即使", "即便", "就算", "哪怕",
        "re:据(?:外媒|美媒|港媒|台媒|日媒|美国|英国|日本|香港|台湾|媒体|《)[^，。,]{0,24}报道", "恐难", "进展缓慢", "遥遥无期", "陷入僵局", "僵持不下",
        "deadlocked", "bogged down", "slow progress", "progress has been slow",
        # a value, not an event: "recognised the importance of dialogue", 对话的重要意义
        "importance of", "significance of", "重要意义", "重要性",
        # another outlet's unconfirmed account: "a Tokyo paper reported that the two signed ..."
        "newspaper reported", "paper reported", "daily reported", "media reported", "outlet reported",
        "tabloid reported", "broadcaster reported", "newspaper claimed", "paper claimed",
        "daily claimed", "a report said", "a report claimed", "according to a report",
        "according to media reports", "according to a newspaper", "citing a report",
    ),
    "negated": (
        "not", "*n't", "cannot", "no", "never", "declined to", "declines to", "decline to", "refused",
        "refuses", "refuse", "has yet to", "have yet to", "yet to", "waiting for", "wait for",
        "awaiting", "neither", "nor", "without", "failed to", "fails to", "denied", "denies",
        "deny", "rejected", "rejects", "dismissed", "ruled out", "no longer", "unanswered",
        "went unanswered", "rather than", "instead of", "absence of", "lack of", "lacks",
        "stalled", "suspended", "cancelled", "canceled", "called off", "scrapped", "collapsed",
        "stopped short of", "fell short of", "short of", "far from", "nothing", "none",
        "no such", "false", "fabricated", "untrue", "baseless", "denial",
        "未", "没有", "拒绝", "尚未", "否认", "不会", "并未", "不再", "暂停", "取消", "无意", "并非",
        "从未", "未能", "无法", "不是", "没", "驳斥", "辟谣", "不实", "搁置", "中断", "不属实", "尚有距离", "还有距离", "仍有距离", "距离真正", "并无", "并没有", "未曾", "不在", "不包括", "未包括", "不涉及", "未涉及", "没有涉及", "并不涉及",
    ),
    "historical": (
        "cold war", "soviet", "cuban missile crisis", "previous administration",
        "former administration", "first term", "in the past", "years ago", "decades ago",
        "back in", "at the time", "recalled", "recalls", "history of", "historically", "prior",
        "previously", "earlier rounds", "anniversary", "months later", "years later",
        "a year later", "since then", "recently opened", "recently established",
        "recently launched", "newly opened", "newly established", "newly launched",
        "already established", "existing", "one year after", "a year after", "years after",
        "anniversary of", "多年", "一年前", "周年之际",
        "冷战", "苏联", "上届政府", "多年前", "历史上", "当年", "此前", "早前", "周年", "当时", "以来",
    ),
    "proposed": (
        "plan", "plans", "planned", "planning", "proposal", "proposals", "proposed", "proposes",
        "propose", "will", "shall", "set to", "re:\\bopen'? to\\b", "re:\\d+\\s*天内", "preparations for", "preparation for", "preparatory", "slated", "scheduled", "upcoming", "next week",
        "next month", "next year", "later this", "intend*", "prepared to", "ready to",
        "preparing to", "prepares to", "poised to", "about to", "on the verge of", "in talks to",
        "moving to", "looking to", "getting ready", "is to", "are to", "to be held",
        "willing to", "open to", "discuss", "discussed", "discusses", "discussing",
        "discussion", "discussions", "signaled", "signalled", "signals", "floated", "pitched",
        "idea of", "push for", "draft", "drafting", "negotiating", "working on", "agenda",
        "toward", "towards", "pave the way", "paves the way", "paving the way", "explore",
        "explored", "exploring", "tentative", "tentatively", "pending", "soon",
        "coming weeks", "coming months", "in the coming", "due to", "due in", "scheduled for",
        "close to agreeing", "close to a deal", "nearing", "near a deal", "on the cusp of",
        "is said to", "are said to", "before the deadline", "by the deadline", "ahead of the deadline", "maintaining communication",
        "in communication on", "progress on", "保持沟通", "沟通协调", "within 90 days", "within days",
        "agreed to", "agree to", "agrees to", "decided to", "decide to", "decides to",
        "agreed", "agree", "agrees", "decide", "decided",
        "committed to", "commit to", "commits to", "pledged to", "pledge to", "vowed to",
        "agreement to", "agreement on", "deal to", "consensus on", "in principle",
        "计划", "将", "拟议", "提议", "建议", "准备", "讨论", "愿意", "筹备", "打算", "草案", "探讨",
        "研究", "即将", "有意", "争取", "推动", "商讨", "磋商建立", "着手", "同意", "决定", "商定",
        "承诺", "一致同意", "共识", "年内", "尽快", "尽早", "下一步", "正在就", "就建立", "正在商讨", "规划", "研议", "筹设", "筹建", "下周", "下星期", "下个月", "下月", "明年", "的邀请", "持开放态度", "开放态度",
    ),
}  # fmt: skip

# Phrases that contain a cue but are not one (NegEx "pseudo-triggers"): a cue hit inside one of
# these is ignored. Tunable in YAML as `qualifiers: {pseudo: {add: [...]}}`.
PSEUDO: tuple[str, ...] = (
    "not only", "not just", "no doubt", "not least", "no later than", "no longer than",
    "nothing short of", "not to mention", "if not", "could not be reached", "did not respond",
    "did not immediately respond", "declined to comment", "declined to elaborate",
    "would not comment", "no comment", "political will", "the will of", "goodwill",
    "no.", "can't wait", "not only did", "no sooner", "false start", "false starts", "促进", "促成", "促使", "督促",
    "未来", "中将", "少将", "上将", "大将", "将军", "将领", "将士", "将近", "将帅", "模拟", "虚拟",
    "不仅", "不只", "毫无疑问", "无论", "研究院", "研究所", "研究员", "研究中心", "没有想到",
    "回应", "应邀", "相应", "反应", "响应", "适应", "供应", "应对", "应用", "答应", "效应",
    "未经", "达成共识", "根据共识", "can tell you", "can share", "can confirm", "can announce",
    "can inform", "can say", "may i", "you may have seen",
    # a speaker's emphasis, not a hedge: "I want to stress that there is no such channel"
    "want to stress", "want to emphasize", "want to emphasise", "want to make clear",
    "want to make it clear", "want to reiterate", "want to point out", "want to underline",
    "would like to stress", "would like to emphasize", "would like to emphasise",
    "would like to point out", "would like to reiterate", "would like to make clear",
    "must stress", "must point out", "must emphasize", "should point out", "need to stress",
    "需要强调", "需要指出", "必须指出", "必须强调", "应当指出", "应该指出", "想强调", "要强调",
    "无所不在", "不在少数", "不在话下", "不在于",
)  # fmt: skip

# Denial frames: a denial verb governs everything after it in its clause ("denied reports
# that the two sides had agreed to set up a hotline"), however far the reported event sits.
FRAMES: tuple[str, ...] = (
    "denied", "denies", "deny", "denying", "dismissed", "dismisses", "rejected", "rejects",
    "refuted", "refutes", "pushed back on", "pushed back against", "pushes back on",
    "played down", "plays down", "downplayed", "downplays", "disputed", "disputes",
    "contradicted", "poured cold water on", "denial of", "no truth to",
    "否认", "驳斥", "辟谣", "批驳", "澄清",
    # a newsroom's correction: "an earlier version incorrectly said the two sides had agreed"
    "re:\\b(?:incorrectly|wrongly|erroneously|mistakenly|falsely|inaccurately)\\s+(?:said|stated|reported|described|suggested|characteri[sz]ed|claimed|wrote|identified|attributed)\\b",
    "re:\\bmis(?:stated|reported|quoted|characteri[sz]ed|identified|attributed)\\b",
    "错误地称", "错误地报道", "误称", "误报称",
)  # fmt: skip

# Takes the report back: after the terms in their clause ("reports that ... were premature"),
# or in the sentence right after the evidence, same paragraph ("No such channel exists.").
RETRACTIONS: tuple[str, ...] = (
    "no such", "not true", "untrue", "is false", "are false", "was false", "were false",
    "fabricated", "premature", "were wrong", "was wrong", "incorrect", "inaccurate",
    "baseless", "groundless", "unfounded", "no agreement", "nothing has been agreed",
    "并无此事", "不实", "不属实", "与事实不符", "纯属捏造", "没有这回事", "子虚乌有", "毫无根据", "并不存在", "不符合事实",
)  # fmt: skip

# Definite determiners that make a noun refer back ("the channel", 该机制).
DETERMINERS: tuple[str, ...] = ("the", "this", "that", "these", "those", "the new", "this new")
CJK_DETERMINERS: tuple[str, ...] = (
    "该", "此", "这一", "这个", "这条", "这项", "上述", "此次", "这次", "这一新",
)  # fmt: skip

YEAR = re.compile(r"(?=[12])(?<![\d.,])(1[6-9]\d\d|20\d\d)(?![\d.,]\d)")  # [12] first: fast skip
YEAR_CUE = re.compile(
    r"(?:\b(?:in|during|by|of|back in|until|before|after)\s+(?:(?:early|late|mid)[- ])?"
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?:\d{1,2},?\s+)?)?"
    # a month right before the year: "May 2024: officials hold ..." (a timeline entry)
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+|\d{1,2}\s+"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+)$"
)
CJK_YEAR = re.compile(r"(1[6-9]\d\d|20\d\d)年")


def cue_lists(
    edits: dict[str, tuple[list[str], list[str], list[str] | None]],
) -> dict[str, tuple[str, ...]]:
    """Built-in cues (and pseudo-cues) with the YAML edits applied (replace, remove, add)."""
    out: dict[str, tuple[str, ...]] = {}
    for kind, builtin in [*BUILTIN_CUES.items(), ("pseudo", PSEUDO)]:
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
    for m in CJK_YEAR.finditer(folded_clause) if "年" in folded_clause else ():
        if int(m.group(1)) < ref_year:
            hits.append((m.start(), m.end(), m.group(0)))
    return hits
