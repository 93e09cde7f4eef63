"""The smaller items of issue 11: moved feeds, impossible dates, boilerplate pages, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

from monitor.config import FeedConfig
from monitor.extract.seed_format import read_article
from monitor.sources.feeds import parse_feed
from tests.support.builders import article_page, rss
from tests.support.cli import run_monitor

ROOT = Path(__file__).resolve().parents[2]
FEED = FeedConfig(url="http://example.org/feed.xml")
SUMMARY = (
    "The United States and China agreed on Tuesday to open a hotline for incidents involving "
    "military artificial intelligence, officials in both capitals said."
)
BOILERPLATE = """<!DOCTYPE html><html lang="en"><head><title>Example News</title></head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a>
<a href="/tech">Technology</a> <a href="/sport">Sport</a></nav></header>
<div class="cookie">We use cookies to improve your experience on our website. By continuing to
browse you agree to our use of cookies. Manage your preferences in the settings at any time.</div>
<footer><p>Copyright 2026 Example News. All rights reserved. Example News is not responsible
for the content of external sites. Read about our approach to external linking.</p>
<p>Terms of use | Privacy policy | Cookies | Contact us | Advertise with us | Careers</p></footer>
</body></html>"""


def _config(tmp_path: Path, url: str, redis_url: str) -> Path:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"feeds:\n  - {{url: '{url}', name: news, interval: 60}}\nredis_url: {redis_url}\n"
        f"data_dir: {tmp_path / 'state'}\narchive_dir: {tmp_path / 'archive'}\n"
        f"allow_private_hosts: [127.0.0.1]\nlog_format: json\nrules: {ROOT / 'rules'}\n"
        "alerts: {console: false}\n"
    )
    return cfg


def test_a_301_is_remembered_and_a_302_is_not(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    httpserver.expect_request("/old.xml").respond_with_data(
        "", status=301, headers={"Location": "/new.xml"}
    )
    httpserver.expect_request("/new.xml").respond_with_data(
        rss([{"title": "One", "link": httpserver.url_for("/one"), "summary": SUMMARY}]),
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/one").respond_with_data(
        article_page("One", [SUMMARY]), content_type="text/html"
    )
    cfg = _config(tmp_path, httpserver.url_for("/old.xml"), redis_url)

    for _ in range(2):
        done = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)
        assert done.returncode == 0, done.stderr

    requests = [r.path for r, _ in httpserver.log]
    assert requests.count("/old.xml") == 1 and requests.count("/new.xml") == 2
    status = json.loads(run_monitor("status", "--json", "--config", str(cfg), cwd=tmp_path).stdout)
    [feed] = status["feeds"]
    assert feed["url"] == httpserver.url_for("/new.xml")
    assert feed["moved_from"] == httpserver.url_for("/old.xml")
    table = run_monitor("status", "--wide", "--config", str(cfg), cwd=tmp_path).stdout
    assert "moved to" in table


def test_a_temporary_redirect_is_followed_each_time(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    httpserver.expect_request("/today.xml").respond_with_data(
        "", status=302, headers={"Location": "/edition.xml"}
    )
    httpserver.expect_request("/edition.xml").respond_with_data(
        rss([{"title": "One", "link": "http://127.0.0.1:9/x", "summary": SUMMARY}]),
        content_type="application/rss+xml",
    )
    cfg = _config(tmp_path, httpserver.url_for("/today.xml"), redis_url)

    for _ in range(2):
        assert run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path).returncode == 0

    assert [r.path for r, _ in httpserver.log].count("/today.xml") == 2


def test_impossible_publication_dates_become_no_date() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>a</title><link>http://e.org/a</link><pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate></item>"
        b"<item><title>b</title><link>http://e.org/b</link><pubDate>Sat, 01 Jan 2300 00:00:00 GMT</pubDate></item>"
        b"<item><title>c</title><link>http://e.org/c</link><pubDate>Fri, 20 Nov 2026 12:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b"<entry><id>urn:1</id><title>x</title><link href='http://e.org/x'/>"
        b"<updated>0001-01-01T00:00:00Z</updated></entry>"
        b"<entry><id>urn:2</id><title>y</title><link href='http://e.org/y'/>"
        b"<updated>9999-12-31T23:59:59Z</updated></entry></feed>"
    )
    broken = body.replace(b"<title>T</title>", b"<title>T &nbsp; </title>")  # feedparser's path

    for doc in (body, broken):
        dates = [e.published for e in parse_feed(doc, {}, FEED).entries]
        assert dates[0] is None and dates[1] is None and dates[2] is not None
        assert dates[2].year == 2026
    assert [e.published for e in parse_feed(atom, {}, FEED).entries] == [None, None]


def test_a_boilerplate_only_page_falls_back_to_the_feed_summary(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    httpserver.expect_request("/walled").respond_with_data(BOILERPLATE, content_type="text/html")
    httpserver.expect_request("/article").respond_with_data(
        article_page("Washington and Beijing set up AI hotline",
                     [SUMMARY.replace("agreed on Tuesday", "decided this week"), "More text. " * 30]),
        content_type="text/html",
    )  # fmt: skip
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([
            {"title": "US, China agree AI hotline", "link": httpserver.url_for("/walled"), "summary": SUMMARY},
            {"title": "US, China agree AI hotline (2)", "link": httpserver.url_for("/article"), "summary": SUMMARY},
        ]),
        content_type="application/rss+xml",
    )  # fmt: skip
    cfg = _config(tmp_path, httpserver.url_for("/feed.xml"), redis_url)

    done = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    articles = {a.url: a for a in map(read_article, (tmp_path / "archive").rglob("*.txt"))}
    walled = articles[httpserver.url_for("/walled")]
    assert walled.extraction == "feed" and walled.paragraphs == (SUMMARY,)
    assert articles[httpserver.url_for("/article")].extraction == "page"


def test_library_log_lines_are_json_and_masked() -> None:
    """APScheduler (and any `logging` user) renders through the same JSON renderer."""
    code = (
        "import logging\nfrom monitor import logs\nlogs.configure('info', 'json')\n"
        "logging.getLogger('apscheduler.scheduler').warning('Run time of job %s was missed', 'x')\n"
        "logging.getLogger('apscheduler.executors').info('Running job every poll')\n"
        "logging.getLogger('httpx').warning('GET redis://:pw-123@h/0 failed')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [line["event"] for line in lines] == [
        "Run time of job x was missed",
        "GET redis://:***@h/0 failed",
    ]
    assert lines[0]["logger"] == "apscheduler.scheduler" and lines[0]["level"] == "warning"
