"""What an analyst desk sees: denials, copies, corrections, old news. Real Redis, the strict
Slack stand-in, the real rule pack, through `replay`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import Settings, load_settings
from monitor.daemon import replay, run_once
from monitor.extract.seed_format import write_article
from monitor.models import Article
from monitor.rules.load import load_matcher
from monitor.rules.matcher import Matcher
from monitor.state.redis_server import free_port
from monitor.state.store import Store
from monitor.testing.slack_api import SlackAPI
from tests.support.articles import BODY, LEAD, REWRITES, article
from tests.support.builders import article_page, rss
from tests.support.mail import Mailbox
from tests.support.packs import pack_with_dedup

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")
HOTLINE = (
    "US, China launch AI crisis hotline",
    "The United States and China established a hotline for AI-related military incidents on Tuesday.",
)
US_DENIAL = (
    "White House denies report of AI hotline deal",
    "The White House on Tuesday denied a report that the United States and China had "
    "established a hotline for AI-related military incidents.",
)
CN_DENIAL = (
    "China denies hotline report",
    "China's defense ministry on Wednesday denied reports that it had opened an AI crisis "
    "hotline with the United States.",
)


def _settings(redis_url: str, tmp_path: Path, slack: SlackAPI, **alerts: Any) -> Settings:
    return load_settings(
        None,
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        rules=str(ROOT / "rules"),
        slack={"token": "xoxb-test", "channel": "#alerts", "api_url": slack.url},
        alerts={"retry_base": 0.05, "retry_max": 0.2, "lease_s": 1.0, "console": False, **alerts},
    )


def _write(folder: Path, docs: list[Article]) -> Path:
    folder.mkdir(exist_ok=True)
    for n, doc in enumerate(docs):
        write_article(folder / f"{n:03d}_{n:016x}.txt", doc)
    return folder


async def test_denials_by_either_government_dispute_the_alert_and_never_count(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """A US denial that names the development is a dispute, not corroboration; so is China's.
    Each thread reply says who disputes what; the parent shows DISPUTED by both; 1 outlet."""
    folder = _write(tmp_path / "in", [
        article(0, "wire.example", *[HOTLINE[0]], [HOTLINE[1]]),
        article(1, "usnews.example", US_DENIAL[0], [US_DENIAL[1]]),
        article(2, "state.example", CN_DENIAL[0], [CN_DENIAL[1]]),
    ])  # fmt: skip
    with SlackAPI() as slack:
        done = await replay(_settings(redis_url, tmp_path, slack), MATCHER, [folder], dry_run=False)
        msgs = slack.posted("#us-china-ai")

    top = [m for m in msgs if not m.get("thread_ts")]
    replies = [m for m in msgs if m.get("thread_ts")]
    assert [[(r, d.action) for r, d in p.decisions] for p in done] == [
        [("us-china-hotline", "open")],
        [("us-china-hotline-walkback", "correction")],
        [("us-china-hotline-walkback", "correction")],
    ]
    assert len(top) == 1 and len(replies) == 2
    first, second = (str(r["blocks"]) for r in replies)
    assert "Disputed by The White House:" in first
    assert "Disputes: US–China AI hotline or crisis channel established" in first
    assert "Disputed by China's defense ministry:" in second  # the actor of the body sentence
    header = top[0]["blocks"][0]["text"]["text"]
    assert header.startswith("⚠️ DISPUTED by China") and ", The White House · " in header
    assert '*Sources:* 1 independent report"' in str(top[0]["blocks"]).replace("'", '"')
    alert = await store.alerts.alert(done[0].decisions[0][1].alert_id)
    assert alert.sources == 1 and alert.source_names == ("wire.example",)


def _pack_with_min_sources(tmp_path: Path, n: int) -> Matcher:
    return pack_with_dedup(
        tmp_path, "us-china-joint-statement", f"{{realert: 24h, min_sources: {n}}}"
    )


async def test_a_verbatim_copy_does_not_satisfy_min_sources(redis_url: str, tmp_path: Path) -> None:
    """min_sources: 2 counts independent reports: the wire story and its copy on another site
    hold the alert; an independent rewrite releases it, which lists every outlet with the copy
    marked, and counts 2 reports from 3 outlets."""
    matcher = _pack_with_min_sources(tmp_path, 2)
    assert matcher.ruleset.rules["us-china-joint-statement"].value.dedup.min_sources == 2
    title = "US and China issue joint statement on AI"
    copy_folder = _write(tmp_path / "copies", [
        article(0, "wire.example", title, [LEAD, *BODY]),
        article(1, "daily.example", title, [LEAD, *BODY, "Distributed by Wire Example."]),
    ])  # fmt: skip
    rewrite_folder = _write(tmp_path / "rewrite", [
        article(2, "times.example", "Joint AI declaration signed", [REWRITES[0], *BODY[:1]]),
    ])  # fmt: skip
    with SlackAPI() as slack:
        settings = _settings(redis_url, tmp_path, slack)
        held = await replay(settings, matcher, [copy_folder], dry_run=False)
        posted_while_held = slack.posted()
        released = await replay(settings, matcher, [rewrite_folder], dry_run=False)
        msgs = slack.posted("#us-china-ai")

    rule = "us-china-joint-statement"
    assert [d.action for p in held for r, d in p.decisions if r == rule] == ["held", "held"]
    assert [m for m in posted_while_held if rule in str(m["blocks"])] == []
    assert [d.action for p in released for r, d in p.decisions if r == rule] == ["open"]
    [top] = [m for m in msgs if "US and China issue a joint statement" in m["text"]]
    blocks = str(top["blocks"])
    assert "*Sources:* 2 independent reports from 3 outlets" in blocks
    assert "*Outlets:* wire.example, daily.example (copy), times.example" in blocks


def _desk_feed(httpserver: HTTPServer, slow_first: bool) -> None:
    """Original (oldest), two verbatim copies and two rewrites as pages behind one feed;
    the pages answer at different speeds, the original first or last."""
    docs = [
        ("US and China issue joint statement on AI", [LEAD, *BODY]),
        ("US and China issue joint statement on AI", [LEAD, *BODY, "Copyright Daily."]),
        ("US and China issue joint statement on AI", [LEAD, *BODY, "Distributed by Wire."]),
        ("Joint AI declaration signed", [REWRITES[0], *BODY[:1]]),
        ("US, China release AI statement", [REWRITES[1]]),
    ]
    items = []
    for n, (title, paragraphs) in enumerate(docs):
        delay = (0.6 - 0.15 * n) if slow_first else 0.15 * n

        def page(
            _request: Request, body: str = article_page(title, paragraphs), wait: float = delay
        ) -> Response:
            time.sleep(wait)
            return Response(body, content_type="text/html; charset=utf-8")

        httpserver.expect_request(f"/news/{n}").respond_with_handler(page)
        items.append({"title": title, "link": httpserver.url_for(f"/news/{n}")})
    feed = rss(list(reversed(items)))  # the original is the oldest item (rss dates go back)
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed, content_type="application/rss+xml"
    )


async def _once(
    httpserver: HTTPServer, store: Store, redis_url: str, tmp_path: Path
) -> list[tuple[Any, ...]]:
    settings = load_settings(
        None,
        feeds=[{"url": httpserver.url_for("/feed.xml"), "name": "desk"}],
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        rules=str(ROOT / "rules"),
        allow_private_hosts=["127.0.0.1"],
        alerts={"console": False},
    )
    await run_once(settings, MATCHER, drain_s=30)

    return [
        (a.rule, a.payload.url.rsplit("/", 1)[1], a.stories, a.articles)
        for a in await store.alerts.recent(10)
    ]


async def test_the_same_feed_twice_gives_the_same_stories_whatever_the_timing(
    httpserver: HTTPServer, store: Store, redis_url: str, tmp_path: Path, sync_redis: Any
) -> None:
    """Pages answering in the opposite order change nothing: the alert opens on the original
    (the oldest), its copies join its story, and the counts are the same."""
    _desk_feed(httpserver, slow_first=False)
    fast_original = await _once(httpserver, store, redis_url, tmp_path / "a")
    httpserver.clear()
    sync_redis.flushall()
    _desk_feed(httpserver, slow_first=True)
    slow_original = await _once(httpserver, store, redis_url, tmp_path / "b")

    assert fast_original == slow_original
    [(_rule, opened_on, stories, articles)] = [
        a for a in fast_original if a[0] == "us-china-joint-statement"
    ]
    assert opened_on == "0"
    assert articles == 5 and stories == 3


STATEMENT = "US and China issue joint statement on AI"
WRONG = (
    "The United States and China issued separate readouts on artificial intelligence on Friday "
    "rather than a joint statement, officials said."
)


def _slack_settings(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path, slack: SlackAPI
) -> Settings:
    return load_settings(
        None,
        feeds=[{"url": httpserver.url_for("/feed.xml"), "name": "wire"}],
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        rules=str(ROOT / "rules"),
        allow_private_hosts=["127.0.0.1"],
        slack={"token": "xoxb-test", "channel": "#alerts", "api_url": slack.url},
        alerts={"console": False, "retry_base": 0.05, "retry_max": 0.2},
    )


def _serve_item(httpserver: HTTPServer, title: str, paragraphs: list[str]) -> None:
    httpserver.clear()
    httpserver.expect_request("/news/1").respond_with_data(
        article_page(title, paragraphs), content_type="text/html; charset=utf-8"
    )
    link = httpserver.url_for("/news/1")
    feed = rss([{"title": title, "link": link, "guid": "wire-1", "summary": paragraphs[0]}])
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed, content_type="application/rss+xml"
    )


async def test_an_item_corrected_in_place_posts_a_correction_in_the_thread(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    """Same guid, a CORRECTED headline and new text that no longer reports the statement: the
    next poll re-reads it and says so in the alert's thread; the parent is flagged."""
    with SlackAPI() as slack:
        settings = _slack_settings(httpserver, redis_url, tmp_path, slack)
        _serve_item(httpserver, STATEMENT, [LEAD, *BODY])
        await run_once(settings, MATCHER, drain_s=30)
        before = slack.posted("#us-china-ai")
        _serve_item(httpserver, "CORRECTED: US and China issue separate AI readouts", [WRONG])
        await run_once(settings, MATCHER, drain_s=30)
        after = slack.posted("#us-china-ai")

    [alert] = [m for m in before if "US and China issue a joint statement:" in m["text"]]
    replies = [m for m in after if m.get("thread_ts") == alert["ts"]]
    [correction] = [r for r in replies if "Correction from" in r["text"]]
    text = str(correction["blocks"])
    assert "(no longer reports it)" in text
    assert "Was: US and China issue joint statement on AI" in text
    assert "No longer reports: US and China issue a joint statement" in text
    [parent] = [m for m in after if m["ts"] == alert["ts"]]
    assert "✏️ CORRECTED · " in parent["blocks"][0]["text"]["text"]
    assert "*Sources:* no report stands after corrections" in str(parent["blocks"])


async def test_a_corrected_reissue_at_a_new_url_posts_a_correction(
    redis_url: str, tmp_path: Path
) -> None:
    """The same outlet re-issues its story as CORRECTED at a new URL: a Correction in the
    thread (not a silent extra article, not a new source); a second replay adds nothing."""
    first = article(0, "wire.example", STATEMENT, [LEAD, *BODY])
    fixed = article(
        1, "wire.example", f"CORRECTED: {STATEMENT}",
        [LEAD.replace("on Friday", "on Thursday"), *BODY,
         "This story has been corrected to show the statement was issued on Thursday."],
    )  # fmt: skip
    folder = _write(tmp_path / "in", [first, fixed])
    with SlackAPI() as slack:
        settings = _settings(redis_url, tmp_path, slack)
        done = await replay(settings, MATCHER, [folder], dry_run=False)
        again = await replay(settings, MATCHER, [folder], dry_run=False)
        msgs = slack.posted("#us-china-ai")

    rule = "us-china-joint-statement"
    assert [d.action for p in done for r, d in p.decisions if r == rule] == ["open", "revised"]
    assert {d.action for p in again for r, d in p.decisions if r == rule} <= {"duplicate"}
    [alert] = [m for m in msgs if "US and China issue a joint statement:" in m["text"]]
    [correction] = [m for m in msgs if m.get("thread_ts") == alert["ts"]]
    assert "Correction from wire.example:" in str(correction["blocks"])
    assert "on Thursday, committing both governments" in str(correction["blocks"])
    assert "✏️ CORRECTED · " in alert["blocks"][0]["text"]["text"]
    assert '*Sources:* 1 independent report"' in str(alert["blocks"]).replace("'", '"')


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _config(tmp_path: Path, redis_url: str, slack: SlackAPI) -> Path:
    tmp_path.mkdir(exist_ok=True)
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"redis_url: {redis_url}\ndata_dir: {tmp_path / 'data'}\nrules: {ROOT / 'rules'}\n"
        f"slack: {{token: xoxb-test, channel: '#alerts', api_url: '{slack.url}'}}\n"
        "alerts: {retry_base: 0.05, retry_max: 0.3, console: false}\nlog_format: json\n"
    )
    return cfg


async def test_replay_with_sidecar_dates_puts_old_news_in_the_first_thread(
    redis_url: str, tmp_path: Path, sync_redis: Any
) -> None:
    """`monitor replay` runs each file at its sidecar's `published` time: the hotline reported
    again 8 days later (past the 7-day window) replies in the first alert's thread, saying
    when it was first alerted. With `--clock now` both land inside one window instead."""
    first = replace(
        article(0, "wire.example", *[HOTLINE[0]], [HOTLINE[1]]),
        published=datetime(2026, 6, 5, 10, 0, tzinfo=UTC),
    )
    again = replace(
        article(1, "post.example", "AI hotline between US and China in use",
                ["The United States and China established a hotline for AI-related military "
                 "incidents, which officials said was used for the first time on Monday."]),
        published=datetime(2026, 6, 13, 11, 0, tzinfo=UTC),
    )  # fmt: skip
    denial = replace(
        article(2, "state.example", *[CN_DENIAL[0]], [CN_DENIAL[1]]),
        published=datetime(2026, 6, 25, 8, 0, tzinfo=UTC),  # past the reopened window too
    )
    folder = _write(tmp_path / "in", [again, first, denial])  # not the order of events
    with SlackAPI() as slack:
        cfg = _config(tmp_path, redis_url, slack)
        dated = _cli("replay", "--config", str(cfg), str(folder))
        dated_msgs = slack.posted("#us-china-ai")
    sync_redis.flushall()
    with SlackAPI() as slack:
        cfg = _config(tmp_path / "now", redis_url, slack)
        now = _cli("replay", "--config", str(cfg), "--clock", "now", str(folder))
        now_msgs = slack.posted("#us-china-ai")
    bad = _cli("replay", "--config", str(cfg), "--clock", "yesterday", str(folder))

    assert dated.returncode == 0, dated.stderr
    [top] = [m for m in dated_msgs if not m.get("thread_ts")]
    reply, late_denial = [m for m in dated_msgs if m.get("thread_ts") == top["ts"]]
    assert "wire.example" in str(top["blocks"])
    lead = reply["blocks"][0]["text"]["text"]
    assert lead.startswith(
        "🔁 *Reported again, 8 days after the first alert (2026-06-05 10:00 UTC):*"
    )
    assert late_denial["blocks"][0]["text"]["text"].startswith("⚠️ *Disputed by China")
    assert now.returncode == 0, now.stderr
    [now_top] = [m for m in now_msgs if not m.get("thread_ts")]
    assert "post.example" in str(now_top["blocks"])  # file order, one window: no old news
    assert [
        r["blocks"][0]["text"]["text"].split(":*")[0] for r in now_msgs if r.get("thread_ts")
    ] == ["*Also reported", "⚠️ *Disputed by China's defense ministry"]
    assert (
        bad.returncode == 1 and "--clock: expected 'published', 'now' or an ISO date" in bad.stderr
    )


def _mail_settings(redis_url: str, tmp_path: Path, port: int, starttls: bool) -> Settings:
    return load_settings(
        None,
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        rules=str(ROOT / "rules"),
        email={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "sender": "monitor@desk.example",
            "recipients": ["analyst@desk.example"],
            "starttls": starttls,
            **({"username": "monitor", "password": "s3cret"} if starttls else {}),
        },
        alerts={"console": False, "retry_base": 0.05, "retry_max": 0.2},
    )


async def test_mail_replies_keep_the_subject_and_plain_text_is_refused(
    store: Store, redis_url: str, tmp_path: Path, sync_redis: Any
) -> None:
    """Follow-ups and disputes reuse the alert's subject with "Re:", carry Auto-Submitted and a
    +0000 Date; with starttls: true a server offering no STARTTLS gets nothing at all."""
    folder = _write(tmp_path / "in", [
        article(0, "wire.example", STATEMENT, [LEAD]),
        article(1, "times.example", "Joint AI declaration signed", [REWRITES[0]]),
        article(2, "state.example", "Beijing disputes statement",
                ["Beijing denied that a joint statement on AI had been agreed with Washington."]),
    ])  # fmt: skip
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)  # no STARTTLS offered
    controller.start()
    try:
        await replay(
            _mail_settings(redis_url, tmp_path, port, False), MATCHER, [folder], dry_run=False
        )
        plain = list(box.messages)
        box.messages.clear()
        sync_redis.flushall()
        refused = await replay(
            _mail_settings(redis_url, tmp_path / "tls", port, True),
            MATCHER,
            [folder],
            dry_run=False,
        )
    finally:
        controller.stop()

    alert, *replies = plain
    assert alert["Subject"] == f"[HIGH] US and China issue a joint statement: {STATEMENT}"
    assert [r["Subject"] for r in replies] == [f"Re: {alert['Subject']}"] * 2
    assert {m["Auto-Submitted"] for m in plain} == {"auto-generated"}
    assert all(str(m["Date"]).endswith("+0000") for m in plain)
    assert next(d.action for p in refused for _r, d in p.decisions) == "open"
    assert box.messages == []
    [dead, *_] = [e for e in await store.alerts.dead_entries() if e.kind == "alert"]
    assert "offers no STARTTLS; refusing to send credentials and mail in plain text" in dead.error


TWO = article(
    0, "wire.example", "US and China agree AI talks, issue joint statement",
    ["BEIJING, June 5 (Reuters) - The United States and China issued a joint statement on "
     "artificial intelligence on Friday.",
     "The two governments also agreed to launch an official dialogue on AI risks, officials said."],
)  # fmt: skip


async def test_messages_read_at_3am(redis_url: str, tmp_path: Path) -> None:
    """The quote is the body sentence with its dateline, the why is plain with the engine
    detail and rule id in small print, times are in the desk's zone, and an article reporting
    two developments says so in each alert."""
    folder = _write(tmp_path / "in", [TWO])
    with SlackAPI() as slack:
        settings = _settings(redis_url, tmp_path, slack, timezone="Europe/Berlin")
        await replay(settings, MATCHER, [folder], dry_run=False)
        msgs = {m["text"].split(":")[0]: m for m in slack.posted("#us-china-ai")}

    joint = msgs["[HIGH] US and China issue a joint statement"]
    blocks = [b for b in joint["blocks"]]
    source_line, quote = blocks[1]["text"]["text"], blocks[2]["text"]["text"]
    context = [e["text"] for e in blocks[-1]["elements"]]
    assert source_line.endswith("\nwire.example · 2026-06-05 12:00 CEST")  # 10:00 UTC
    assert quote.startswith("> BEIJING, June 5 (Reuters) - The United States and China *issued*")
    assert context[0].startswith(
        "*Why:* reported as done; no hedge, plan, denial or history cue nearby"
    )
    assert (
        context[1]
        == "Same article also reports: US and China agree to (or hold) an official AI dialogue"
    )
    assert context[2].startswith("rule us-china-joint-statement, event ")
    dialogue = [m for k, m in msgs.items() if "official AI dialogue" in k]
    assert "Same article also reports: US and China issue a joint statement" in str(
        dialogue[0]["blocks"]
    )


async def test_a_desk_wide_digest_gathers_every_rule(redis_url: str, tmp_path: Path) -> None:
    """alerts.desk_digest_s: the two developments of one article reach the mailbox as one
    digest naming both, instead of one mail per rule."""
    folder = _write(tmp_path / "in", [TWO])
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = _mail_settings(redis_url, tmp_path, port, False)
        settings = settings.model_copy(
            update={"alerts": settings.alerts.model_copy(update={"desk_digest_s": 3600.0})}
        )
        await replay(settings, MATCHER, [folder], dry_run=False)
    finally:
        controller.stop()

    [digest] = box.messages
    assert digest["Subject"] == "[Digest] 2 developments: 2 update(s)"
    body = digest.get_body(("plain",)).get_content()
    assert "- US and China issue a joint statement: New development:" in body
    assert "- US and China agree to (or hold) an official AI dialogue: New development:" in body


class _Desk:
    """A local news site: pages with their outlet's name, one feed; items can be edited."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.pages: dict[str, tuple[str, str, list[str]]] = {}  # guid -> (site, title, text)

    def put(self, n: int, site: str, title: str, paragraphs: list[str]) -> None:
        """Add or replace item n (served from the next `serve`)."""
        self.pages[f"{site}-{n}"] = (site, title, paragraphs)

    def serve(self) -> None:
        """Serve the pages and the feed as they are now (the first item put is the oldest)."""
        self.server.clear()  # the first matching handler wins: drop the old versions
        items = []
        for guid, (site, title, paragraphs) in self.pages.items():
            path = f"/{guid}"
            body = article_page(title, paragraphs, site=site)
            self.server.expect_request(path).respond_with_data(body, content_type="text/html")
            items.append({"title": title, "link": self.server.url_for(path), "guid": guid,
                          "summary": paragraphs[0]})  # fmt: skip
        self.server.expect_request("/feed.xml").respond_with_data(
            rss(list(reversed(items))), content_type="application/rss+xml"
        )


def _threads(slack: SlackAPI) -> list[tuple[str, list[str]]]:
    """Each alert (header and counts) with the leads of its thread replies, in order."""
    msgs = slack.posted("#us-china-ai")
    out = []
    for top in (m for m in msgs if not m.get("thread_ts")):
        header = top["blocks"][0]["text"]["text"]
        sources = next(e["text"] for e in top["blocks"][-1]["elements"]).split("*Sources:* ")[1]
        leads = [
            r["blocks"][0]["text"]["text"].split(":*")[0]
            for r in msgs
            if r.get("thread_ts") == top["ts"]
        ]
        out.append((f"{header} | {sources}", leads))
    return out


async def test_replay_of_the_archive_reproduces_what_the_daemon_posted(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path, sync_redis: Any
) -> None:
    """Live: an alert, an independent report, a denial, then one report corrected in place.
    `monitor replay` of the archive into a fresh Redis and Slack posts the same alerts,
    threads, counts, flags and corrections."""
    desk = _Desk(httpserver)
    desk.put(0, "wire.example", STATEMENT, [LEAD, *BODY])
    desk.put(1, "times.example", "Joint AI declaration signed", [REWRITES[0], *BODY[:1]])
    desk.put(2, "state.example", "Beijing disputes statement",
             ["Beijing denied that a joint statement on AI had been agreed with Washington."])  # fmt: skip
    desk.serve()
    with SlackAPI() as live:
        settings = _slack_settings(httpserver, redis_url, tmp_path / "live", live)
        await run_once(settings, MATCHER, drain_s=30)
        desk.put(1, "times.example", "CORRECTED: AI declaration not yet signed",
                 ["The United States and China have not yet signed a joint declaration on AI, "
                  "officials said on Friday, correcting an earlier report."])  # fmt: skip
        desk.serve()
        await run_once(settings, MATCHER, drain_s=30)
        live_threads = _threads(live)
    archive = settings.archive_path
    sync_redis.flushall()
    with SlackAPI() as again:
        cfg = _config(tmp_path / "replay", redis_url, again)
        replayed = _cli("replay", "--config", str(cfg), str(archive))
        replay_threads = _threads(again)

    assert replayed.returncode == 0, replayed.stderr
    joint = [t for t in live_threads if "US and China issue a joint statement" in t[0]]
    assert joint == [(
        "⚠️ DISPUTED by Beijing · ✏️ CORRECTED · 🟠 US and China issue a joint statement"
        " | 1 independent report",
        ["*Also reported", "⚠️ *Disputed by Beijing", "✏️ *Correction from times.example (no longer reports it)"],
    )]  # fmt: skip
    assert replay_threads == live_threads
