"""What an analyst desk sees: denials, copies, corrections, old news. Real Redis, the strict
Slack stand-in, the real rule pack, through `replay`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import Settings, load_settings
from monitor.daemon import replay, run_once
from monitor.extract.seed_format import write_article
from monitor.models import Article
from monitor.rules.matcher import Matcher
from monitor.state.store import Store, connect
from monitor.testing.slack_api import SlackAPI
from tests.support.articles import BODY, LEAD, REWRITES, article
from tests.support.builders import article_page, rss

ROOT = Path(__file__).resolve().parents[2]
MATCHER = Matcher.from_path(ROOT / "rules")
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


def _alert(redis_url: str, alert_id: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        store = Store(connect(redis_url))
        try:
            return await store.alerts.alert(alert_id)
        finally:
            await store.aclose()

    return asyncio.run(go())


def test_denials_by_either_government_dispute_the_alert_and_never_count(
    redis_url: str, tmp_path: Path
) -> None:
    """A US denial that names the development is a dispute, not corroboration; so is China's.
    Each thread reply says who disputes what; the parent shows DISPUTED by both; 1 outlet."""
    folder = _write(tmp_path / "in", [
        article(0, "wire.example", *[HOTLINE[0]], [HOTLINE[1]]),
        article(1, "usnews.example", US_DENIAL[0], [US_DENIAL[1]]),
        article(2, "state.example", CN_DENIAL[0], [CN_DENIAL[1]]),
    ])  # fmt: skip
    with SlackAPI() as slack:
        done = asyncio.run(
            replay(_settings(redis_url, tmp_path, slack), MATCHER, [folder], dry_run=False)
        )
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
    assert "Disputed by White House:" in first
    assert "Disputes: US–China AI hotline or crisis channel established" in first
    assert "Disputed by China" in second  # the actor of the evidence sentence
    header = top[0]["blocks"][0]["text"]["text"]
    assert header.startswith("⚠️ DISPUTED by China") and ", White House · " in header
    assert '*Sources:* 1 independent report"' in str(top[0]["blocks"]).replace("'", '"')
    alert = _alert(redis_url, done[0].decisions[0][1].alert_id)
    assert alert["sources"] == 1 and alert["source_names"] == ["wire.example"]


def _pack_with_min_sources(tmp_path: Path, n: int) -> Matcher:
    """The real pack with `min_sources: n` on the joint-statement rule."""
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (ROOT / "rules" / "us-china-ai.yaml").read_text(encoding="utf-8")
    marker = '    route: {slack: "#us-china-ai"}\n    dedup: {realert: 24h}\n'
    assert text.count(marker) >= 1
    (rules / "pack.yaml").write_text(
        text.replace(marker, marker.replace("realert: 24h", f"realert: 24h, min_sources: {n}"), 1),
        encoding="utf-8",
    )
    (rules / "lists.yaml").write_text(
        (ROOT / "rules" / "lists" / "common.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return Matcher.from_path(rules)


def test_a_verbatim_copy_does_not_satisfy_min_sources(redis_url: str, tmp_path: Path) -> None:
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
        held = asyncio.run(replay(settings, matcher, [copy_folder], dry_run=False))
        posted_while_held = slack.posted()
        released = asyncio.run(replay(settings, matcher, [rewrite_folder], dry_run=False))
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


def _once(httpserver: HTTPServer, redis_url: str, tmp_path: Path) -> list[tuple[Any, ...]]:
    settings = load_settings(
        None,
        feeds=[{"url": httpserver.url_for("/feed.xml"), "name": "desk"}],
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        rules=str(ROOT / "rules"),
        allow_private_hosts=["127.0.0.1"],
        alerts={"console": False},
    )
    asyncio.run(run_once(settings, MATCHER, drain_s=30))

    async def alerts() -> list[dict[str, Any]]:
        store = Store(connect(redis_url))
        try:
            return await store.alerts.recent_alerts(10)
        finally:
            await store.aclose()

    return [
        (a["rule"], a["payload"]["url"].rsplit("/", 1)[1], a["stories"], a["articles"])
        for a in asyncio.run(alerts())
    ]


def test_the_same_feed_twice_gives_the_same_stories_whatever_the_timing(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path, sync_redis: Any
) -> None:
    """Pages answering in the opposite order change nothing: the alert opens on the original
    (the oldest), its copies join its story, and the counts are the same."""
    _desk_feed(httpserver, slow_first=False)
    fast_original = _once(httpserver, redis_url, tmp_path / "a")
    httpserver.clear()
    sync_redis.flushall()
    _desk_feed(httpserver, slow_first=True)
    slow_original = _once(httpserver, redis_url, tmp_path / "b")

    assert fast_original == slow_original
    [(_rule, opened_on, stories, articles)] = [
        a for a in fast_original if a[0] == "us-china-joint-statement"
    ]
    assert opened_on == "0"
    assert articles == 5 and stories == 3
