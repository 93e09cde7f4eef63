"""One bad link, one broken feed, one full disk: contained to that item or feed, recorded,
visible in `status`, never a raw traceback (issue 11 item 3, issue 12 item 1)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer

from monitor.state.keys import Keys
from tests.support.builders import article_page, rss
from tests.support.cli import run_monitor

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-feed-secret"


def _config(tmp_path: Path, feeds: list[tuple[str, str]], redis_url: str, extra: str = "") -> Path:
    cfg = tmp_path / "monitor.yaml"
    listed = "".join(f"  - {{url: '{url}', name: {name}, interval: 60}}\n" for name, url in feeds)
    cfg.write_text(
        f"feeds:\n{listed}redis_url: {redis_url}\ndata_dir: {tmp_path / 'state'}\n"
        f"archive_dir: {tmp_path / 'archive'}\nallow_private_hosts: [127.0.0.1]\nlog_format: json\n"
        f"rules: {ROOT / 'rules'}\nalerts: {{console: false}}\n"
        "http: {connect_timeout: 2, read_timeout: 1, total_timeout: 5}\n" + extra
    )
    return cfg


def _json_lines(stderr: str) -> list[dict[str, object]]:
    """Every stderr line is a JSON object (a plain-text traceback fails here), but for the
    command's own closing `error: ...` line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return [json.loads(line) for line in lines if not line.startswith("error: ")]


def _feed_states(cfg: Path, tmp_path: Path) -> dict[str, dict[str, object]]:
    done = run_monitor("status", "--json", "--config", str(cfg), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return {f["name"]: f for f in json.loads(done.stdout)["feeds"]}


def test_a_credentialed_link_beside_good_items_poisons_nothing(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    """The credentialed link is refused (never requested), its item still archived from the
    feed text; the good items are archived from their pages; a second run fetches nothing."""
    for n in (1, 2):
        httpserver.expect_request(f"/good/{n}").respond_with_data(
            article_page(f"Good story {n}", [f"Paragraph of good story {n}. " * 12]),
            content_type="text/html",
        )
    port = httpserver.port
    items = [
        {"title": "Good story 1", "link": httpserver.url_for("/good/1")},
        {"title": "Behind a login", "link": f"http://editor:{SECRET}@127.0.0.1:{port}/private",
         "summary": "The summary of the story behind the login."},
        {"title": "Broken port", "link": "http://127.0.0.1:99999/x", "summary": "Port out of range."},
        {"title": "Good story 2", "link": httpserver.url_for("/good/2")},
    ]  # fmt: skip
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    cfg = _config(tmp_path, [("mixed", httpserver.url_for("/feed.xml"))], redis_url)

    first = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)
    second = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    events = _json_lines(first.stderr)
    archived = {e["url"]: e["via"] for e in events if e["event"] == "archived"}
    assert archived[httpserver.url_for("/good/1")] == "page"
    assert archived[httpserver.url_for("/good/2")] == "page"
    assert sorted(archived.values()).count("feed") == 2
    fallbacks = [e["reason"] for e in events if e["event"] == "page_fallback"]
    assert any("carries credentials" in str(r) for r in fallbacks)
    assert any("invalid URL" in str(r) for r in fallbacks)
    assert not [r for r, _ in httpserver.log if r.path == "/private"]
    assert SECRET not in first.stderr + first.stdout + second.stderr
    assert [e["archived"] for e in _json_lines(second.stderr) if e["event"] == "poll"] == [0]
    assert _feed_states(cfg, tmp_path)["mixed"]["last_status"] in ("ok", "not_modified")


def test_a_feed_url_with_credentials_is_refused_at_start(redis_url: str, tmp_path: Path) -> None:
    cfg = _config(tmp_path, [("login", f"http://reader:{SECRET}@127.0.0.1:9/feed.xml")], redis_url)

    done = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)

    assert done.returncode == 2
    assert "feeds.0.url" in done.stderr and "must not carry credentials" in done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_a_failure_outside_fetch_and_parse_is_recorded_against_the_feed(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    """The archive cannot be written (a file is in its way, as a full disk would be): the
    poll fails with the reason, the item stays unseen for the next poll, nothing escapes."""
    httpserver.expect_request("/a").respond_with_data(
        article_page("A story", ["Some paragraph text. " * 20]), content_type="text/html"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([{"title": "A story", "link": httpserver.url_for("/a")}]),
        content_type="application/rss+xml",
    )
    (tmp_path / "archive").write_text("not a folder\n")
    cfg = _config(tmp_path, [("disk", httpserver.url_for("/feed.xml"))], redis_url)

    done = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)

    assert done.returncode == 1  # every feed failed
    events = _json_lines(done.stderr)
    crashed = [e for e in events if e["event"] == "poll_crashed"]
    assert crashed and crashed[0]["feed"] == "disk" and "Traceback" in str(crashed[0]["exception"])
    state = _feed_states(cfg, tmp_path)["disk"]
    assert state["last_status"] == "error" and state["failures"] == 1
    assert "NotADirectoryError" in str(state["last_error"]) or "FileExistsError" in str(
        state["last_error"]
    )
    seen = redis.Redis.from_url(redis_url).zcard(Keys().seen("disk"))
    assert seen == 0  # retried on the next poll, not lost
    human = run_monitor("status", "--config", str(cfg), cwd=tmp_path)
    assert "NOT writable" in human.stdout


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts and never answers (a read timeout)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_feed_errors_name_their_real_cause(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path, silent_port: int
) -> None:
    """Refused, TLS, HTTP status and timeout each read as themselves, without the URL."""
    from monitor.state.redis_server import free_port

    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    feeds = [
        ("refused", f"http://127.0.0.1:{free_port()}/feed.xml"),
        ("tls", f"https://127.0.0.1:{httpserver.port}/feed.xml"),
        ("missing", httpserver.url_for("/gone")),
        ("silent", f"http://127.0.0.1:{silent_port}/feed.xml"),
    ]
    cfg = _config(tmp_path, feeds, redis_url)

    done = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)
    states = _feed_states(cfg, tmp_path)
    table = run_monitor("status", "--wide", "--config", str(cfg), cwd=tmp_path).stdout

    assert done.returncode == 1
    causes = {name: str(states[name]["last_error"]) for name, _ in feeds}
    assert causes["refused"].endswith(": connection refused")
    assert "TLS handshake failed" in causes["tls"]
    assert causes["missing"].endswith("HTTP 404 NOT FOUND")
    assert causes["silent"].endswith("read timeout after 1s")
    assert "connection refused" in table and "read timeout after 1s" in table
    assert f"127.0.0.1:{silent_port}/feed.xml: read" not in table  # the URL is not repeated


def test_status_cuts_long_errors_at_a_word(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    long_path = "/" + "very-long-path-segment/" * 6 + "feed.xml"
    httpserver.expect_request(long_path).respond_with_data("<html><body>hi</body></html>",
                                                           content_type="text/html")  # fmt: skip
    cfg = _config(tmp_path, [("html", httpserver.url_for(long_path))], redis_url)

    run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)
    narrow = run_monitor("status", "--config", str(cfg), cwd=tmp_path).stdout
    wide = run_monitor("status", "--wide", "--config", str(cfg), cwd=tmp_path).stdout

    assert "got an HTML page, not a feed" in wide.replace("\n", " ")
    assert "got an HTML page" in narrow
