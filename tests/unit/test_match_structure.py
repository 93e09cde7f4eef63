"""Engine behaviours found on independent probes: each case fails without its rule.

The shipped pack is used, so each line is also a check that the pack keeps the behaviour.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.rules.load import load_matcher

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")
PUBLISHED = date(2026, 11, 20)


def _rules(title: str, body: str) -> list[str]:
    return sorted(r.rule for r in MATCHER.match(title, body, published=PUBLISHED).rules)


@pytest.mark.parametrize(
    "body",
    [
        "The United States and China haven't opened an AI hotline, officials said.",
        "China won't name a counterpart for the AI talks with the United States.",
        "China didn't name a counterpart for the AI talks with the United States.",
    ],
)
def test_contractions_negate(body: str) -> None:
    assert _rules("", body) == []


def test_to_before_a_noun_is_no_infinitive() -> None:
    """'devoted to artificial intelligence' is a preposition, not an aim."""
    body = (
        "US and Chinese officials held a first round of talks devoted to artificial intelligence."
    )
    assert _rules("", body) == ["us-china-ai-dialogue"]


def test_a_wire_dateline_is_not_the_date_of_the_event() -> None:
    """'Nov 20' in the dateline is the filing date; 'in September' dates the opening."""
    body = (
        "WASHINGTON, Nov 20 (Reuters) - The AI crisis line that the United States and China "
        "switched on in September has been used twice."
    )
    assert _rules("", body) == []


def test_a_deadline_month_looks_ahead() -> None:
    """'before the end of March' is a month to come, not March past."""
    body = (
        "Washington and Beijing agreed on Wednesday to hold another round of their AI dialogue "
        "before the end of March."
    )
    assert _rules("", body) == ["us-china-ai-dialogue"]


def test_the_two_governments_take_their_names_from_the_lead_paragraph() -> None:
    head = "Opinion: talks at last"
    body = (
        "American and Chinese officials met in Vienna this week.\n"
        "That the two governments held a first round of talks on artificial intelligence is the "
        "news."
    )
    assert _rules(head, body) == ["us-china-ai-dialogue"]


def test_a_confirmed_briefing_question_is_a_report() -> None:
    head = "Department Press Briefing, November 19, 2026"
    body = (
        "QUESTION: Can you confirm that the AI talks with China went ahead this week?\n"
        "MR. SMITH: Yes. Our team met their counterparts in Vienna."
    )
    assert _rules(head, body) == ["us-china-ai-dialogue"]
    unconfirmed = body.replace("Yes. Our team met", "I won't characterize what our team did")
    assert _rules(head, unconfirmed) == []


def test_an_anaphor_reaches_the_paragraph_before() -> None:
    """Wire copy: one sentence per paragraph; 'The link' refers to the line named above."""
    head = "US and China link defence ministries"
    body = (
        "U.S. and Chinese officials sent test messages on Thursday over a secure connection "
        "between their defence ministries.\n"
        "The link, reserved for urgent communication about AI, is now in service, officials said."
    )
    assert _rules(head, body) == ["us-china-hotline"]


def test_a_statement_title_is_the_statement() -> None:
    head = "Joint Statement of the United States and the People's Republic of China on AI Safety"
    body = "The two sides affirm the need to keep humans in control of nuclear weapons."
    assert _rules(head, body) == ["us-china-joint-statement"]


def test_n_weeks_after_dates_what_follows_it_only() -> None:
    """'nine weeks after the two sides committed to it' dates the commitment, not the opening."""
    body = (
        "The AI incident channel between Washington and Beijing is now operational, both "
        "governments said on Wednesday, nine weeks after the two sides committed to creating it."
    )
    assert _rules("", body) == ["us-china-hotline"]


def test_a_season_is_read_like_a_month() -> None:
    body = (
        "Officials said talks on AI, which the United States and China agreed in the summer to "
        "hold, would resume next year."
    )
    assert _rules("", body) == []


def test_a_past_date_outranks_a_future_one() -> None:
    """The agreement six weeks ago dates it, not the autumn the talks were to begin in."""
    body = (
        "Six weeks ago, the United States and China agreed that they would begin formal talks on "
        "artificial intelligence this autumn."
    )
    assert _rules("", body) == []


def test_another_pair_of_governments_is_not_us_china() -> None:
    assert _rules("U.S. and Japan hold AI dialogue in Tokyo as talks with Beijing stall", "") == []
    assert _rules("英中發表AI安全聯合聲明 美中同類文件仍付之闕如", "") == []


@pytest.mark.parametrize(
    ("body", "fires"),
    [
        # a plain "no such channel" answers a question; it denies no report
        ("Asked about an AI hotline with the United States, the Chinese spokesman said there "
         "is no such channel at this stage.", False),
        ("China said reports that it had opened an AI hotline with the United States were "
         "false.", True),
        ("Beijing said the so-called AI hotline with Washington was a fabrication.", True),
    ],
)  # fmt: skip
def test_a_walk_back_needs_a_denial_or_a_report(body: str, fires: bool) -> None:
    assert (_rules("", body) == ["us-china-hotline-walkback"]) is fires, body


def test_a_chinese_modifier_describes_its_noun() -> None:
    """暂停逾半年的 (suspended for half a year) modifies the talks that resumed; 今年8月暂停的
    dates the suspension, not the restoration. A development inside the modifier still is one."""
    assert _rules("", "暂停逾半年的中美人工智能政府间磋商18日在北京恢复举行。") == [
        "us-china-ai-dialogue"
    ]
    assert _rules("", "中方宣布已恢复今年8月暂停的中美人工智能事件通报渠道。") == [
        "us-china-hotline"
    ]
    assert _rules("", "去年建立的中美人工智能危机沟通热线运行一年来共启用两次。") == []


@pytest.mark.parametrize(
    "body",
    [
        "The British government denied a report that it had set up an AI hotline with China.",
        "12家美国与中国的人工智能企业在各自安全团队之间设立24小时热线。",
    ],
)
def test_a_hotline_of_others_is_not_a_us_china_hotline(body: str) -> None:
    assert _rules("", body) == []


def test_a_newsroom_correction_is_not_a_government_walk_back() -> None:
    body = (
        "The United States and China issued a joint statement on AI on Thursday. "
        "This story has been corrected to show the statement was issued on Thursday."
    )
    assert _rules("", body) == ["us-china-joint-statement"]
    walk_back = "The State Department corrected a spokesman who had said a joint statement on AI "
    assert _rules("", walk_back + "with China was issued.") == ["us-china-joint-statement-walkback"]


def test_time_since_and_relative_dates_in_chinese() -> None:
    """启动四个月 (four months since the launch) and 同月底 (the end of that month) are background."""
    assert _rules("", "中美人工智能对话启动四个月,双方仍缺互信。") == []
    assert _rules("", "同月底,两国外交部门之间的人工智能风险沟通热线开通。") == []


def test_a_date_in_a_relative_clause_dates_its_own_verb() -> None:
    body = (
        "China has restored the AI crisis channel with the United States, which it suspended in "
        "July, the foreign ministry said on Thursday."
    )
    assert _rules("", body) == ["us-china-hotline"]


def test_a_newsroom_correction_negates_what_it_corrects() -> None:
    """ "An earlier version incorrectly said they agreed": the agreement did not happen."""
    body = (
        "Correction: a previous version of this article wrongly reported that Washington and "
        "Beijing agreed to launch talks on artificial intelligence."
    )
    assert _rules("US and China officials speak by phone", body) == []


@pytest.mark.parametrize(
    "answer",
    [
        "I want to stress that there is no so-called secret AI hotline between the militaries. "
        "Such stories are made up.",
        "我要强调的是，根本不存在所谓中美两军人工智能秘密热线，这类报道是编造的。",
    ],
)
def test_a_speakers_emphasis_is_no_hedge_and_made_up_stories_are_denied(answer: str) -> None:
    """ "I want to stress" is not a wish; "made up"/编造 take a reported hotline back."""
    question = (
        "Q: A newspaper in Washington reported that the US and Chinese militaries have run a "
        "secret AI hotline since the summer. Is that true?"
    )
    rules = _rules("Briefing transcript", question + "\n" + answer)
    assert rules == ["us-china-hotline-walkback"]


def test_a_report_called_groundless_is_taken_back() -> None:
    body = (
        "A ministry spokesman said a report that China and the United States signed a secret "
        "joint statement on military AI was groundless."
    )
    assert _rules("", body) == ["us-china-joint-statement-walkback"]


def test_a_topic_left_out_of_the_agenda_is_not_met() -> None:
    """不在议程之内: the AI subject is negated, so the talks are not AI talks."""
    body = "中美两军海上安全磋商本周在青岛举行。人工智能相关议题不在本次会议议程之内。"
    assert _rules("中美两军磋商在青岛举行", body) == []


def test_a_day_of_this_month_dates_the_event() -> None:
    """本月5日 is the 5th, fifteen days before publication: background, not news."""
    body = "双方本月5日同意启动中美人工智能政府间对话。"
    assert _rules("", body) == []
    assert _rules("", "双方本月18日同意启动中美人工智能政府间对话。") == ["us-china-ai-dialogue"]


def test_another_pair_in_headlinese_with_a_comma() -> None:
    """ "U.S., Japan hold ...": the pair is the headline's, even if China appears below."""
    body = (
        "The United States and Japan held their third dialogue on artificial intelligence on "
        "Wednesday. Officials said China was on their minds during the talks."
    )
    assert _rules("U.S., Japan hold AI dialogue in Osaka", body) == []
    assert _rules("U.S., China hold AI dialogue in Osaka", body.replace("Japan", "China")) == [
        "us-china-ai-dialogue"
    ]


def test_track_two_participants_are_not_the_governments() -> None:
    body = (
        "Participants in an unofficial US-China AI dialogue in Hong Kong issued a joint "
        "statement on Tuesday urging both governments to keep humans in control of nuclear weapons."
    )
    assert _rules("", body) == []


def test_the_chinese_side_as_the_object_of_leading() -> None:
    body = (
        "A deputy chief of the military's foreign affairs office will head the Chinese "
        "delegation, the defence ministry in Beijing said on Thursday, after the two militaries "
        "agreed to hold their first talks on AI risks with the United States."
    )
    assert "china-names-ai-counterpart" in _rules("", body)


def test_a_session_after_a_chain_of_adjuncts_is_held() -> None:
    """The AI topic closes a long phrase: "met ... in Lima this week for the third session of
    their government-to-government dialogue on artificial intelligence"."""
    body = (
        "American and Chinese officials met for two days in Lima this week for the third "
        "session of their government-to-government dialogue on artificial intelligence."
    )
    assert _rules("", body) == ["us-china-ai-dialogue"]


def test_a_broadcast_hosts_news_is_no_question() -> None:
    """A host tells the news, then asks: only the question is presupposed."""
    body = (
        "ANCHOR: Washington and Beijing held a second round of official talks on artificial "
        "intelligence in Oslo on Wednesday. Maria, what came out of it?\n"
        "MARIA: Mostly an agreement to meet again."
    )
    assert _rules("Evening bulletin transcript", body) == ["us-china-ai-dialogue"]
    asked = "Q: Washington and Beijing held AI talks in Oslo on Wednesday. What came out of it?"
    assert _rules("Briefing transcript", asked) == []


@pytest.mark.parametrize(
    "body",
    [
        "Beijing knocked down a report that it had switched on an AI hotline with Washington.",
        "A Chinese spokesman said reports of an AI crisis line with the United States did not "
        "accord with the facts.",
    ],
)
def test_more_ways_to_take_a_report_back(body: str) -> None:
    assert _rules("", body) == ["us-china-hotline-walkback"]


def test_another_outlets_account_is_unconfirmed() -> None:
    body = (
        "A Seoul newspaper reported on Thursday that Washington and Beijing had signed a secret "
        "joint statement on military AI."
    )
    assert _rules("", body) == []


def test_britain_without_the_article_is_another_pair() -> None:
    title = "UK and China switch on AI incident line; analysts want Washington in too"
    body = (
        "Analysts in Washington said Beijing should open a similar channel with the United States."
    )
    assert _rules(title, body) == []


def test_a_three_way_dialogue_is_not_the_bilateral_one() -> None:
    body = "The United States, China and Japan held a trilateral dialogue on military AI on Monday."
    assert _rules("", body) == []


def test_a_joint_statement_named_with_its_authors_is_reported() -> None:
    body = (
        "A rare joint statement by Washington and Beijing on artificial intelligence and nuclear "
        "command left markets unmoved on Thursday."
    )
    assert _rules("Markets shrug", body) == ["us-china-joint-statement"]


def test_a_new_channel_linking_the_sides_exists() -> None:
    body = (
        "A new AI incident channel links the defence ministries of China and the United States, "
        "officials said on Friday."
    )
    assert _rules("", body) == ["us-china-hotline"]


def test_a_newspapers_name_is_no_statement_even_as_an_antecedent() -> None:
    """公报 inside 大公报 (Ta Kung Pao) is no communiqué, in its sentence or referred back to."""
    body = "【大公报讯】外交部发言人表示，日本传媒关于中美人工智能合作的报道毫无根据。美方亦未证实该报道。"
    assert _rules("外交部：报道毫无根据", body) == []


@pytest.mark.parametrize(
    "body",
    [
        "The Pentagon brought its AI crisis line with the People's Liberation Army online on "
        "Tuesday.",
        "A secure telephone link between the two militaries for AI incidents was stood up on "
        "Tuesday, the Pentagon and China's defence ministry said.",
        "Officials confirmed that a channel allowing Washington and Beijing to flag AI "
        "emergencies was switched on this week.",
    ],
)
def test_editors_ways_to_open_a_line(body: str) -> None:
    """The particle after the object, "stood up", and a channel named by its use."""
    assert _rules("", body) == ["us-china-hotline"]


def test_standing_up_to_pressure_opens_nothing() -> None:
    body = "China stood up to US pressure over an AI hotline, officials in Beijing said on Tuesday."
    assert _rules("", body) == []


def test_a_newly_agreed_dialogue_is_background_to_a_naming() -> None:
    """ "the lead for China in the newly agreed dialogue": the attribute describes the
    dialogue, the naming is the news."""
    body = (
        "China's foreign ministry said a vice minister had been designated as the lead for "
        "China in the newly agreed dialogue with the United States on artificial intelligence."
    )
    assert _rules("", body) == ["china-names-ai-counterpart"]


def test_a_line_named_by_its_use_and_its_first_call() -> None:
    body = (
        "The first call was placed on Wednesday over a new line for AI mishaps between the "
        "Pentagon and China's defence ministry."
    )
    assert _rules("", body) == ["us-china-hotline"]


@pytest.mark.parametrize(
    "body",
    [
        "Both governments recognised the importance of dialogue on AI risks and agreed to "
        "fight misuse of AI by criminals.",
        "中美双方认识到人工智能对话的重要意义，同意共同应对人工智能被滥用的风险。",
    ],
)
def test_the_importance_of_dialogue_is_no_dialogue(body: str) -> None:
    assert _rules("", body) == []


def test_a_claim_called_fabricated_is_taken_back() -> None:
    body = "外交部发言人表示，日本媒体所称中美秘密签署人工智能联合公报一事纯属捏造。"
    assert _rules("", body) == ["us-china-joint-statement-walkback"]


@pytest.mark.parametrize(
    ("body", "want"),
    [
        (
            "A government working group of the two countries on AI safety testing convened for "
            "the first time on Wednesday, with officials from Washington and Beijing.",
            ["us-china-ai-dialogue"],
        ),
        (
            "Beijing has tapped a veteran ambassador to spearhead China's delegation in its AI "
            "dialogue with the United States.",
            ["china-names-ai-counterpart"],
        ),
        (
            "The embassy said a purported US-China communique on AI circulating online does not "
            "exist.",
            ["us-china-joint-statement-walkback"],
        ),
        (
            "外交部发言人表示，有关中美已就人工智能发表联合声明的报道并无此事。",
            ["us-china-joint-statement-walkback"],
        ),
    ],
)
def test_round_eight_classes(body: str, want: list[str]) -> None:
    """Working groups convening, "spearhead", "does not exist" and 并无此事."""
    assert _rules("", body) == want
