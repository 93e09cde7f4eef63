"""`monitor run --once` as a user runs it: a subprocess with the embedded Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.builders import SEEDS, article_page, read_seed, rss

ROOT = Path(__file__).resolve().parents[2]


def _monitor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_run_once_archives_n_then_none_with_embedded_redis(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """N article pages -> N seed files; the second run archives none; the embedded Redis is gone after."""
    items = []
    for n, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, paragraphs = read_seed(path)
        httpserver.expect_request(f"/a/{n}").respond_with_data(
            article_page(title, paragraphs), content_type="text/html"
        )
        items.append({"title": title, "link": httpserver.url_for(f"/a/{n}")})
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"feeds:\n  - url: {httpserver.url_for('/feed.xml')}\n    interval: 60\n    name: local\n"
        "data_dir: state\narchive_dir: archive\nallow_private_hosts: [127.0.0.1]\nlog_format: json\n"
        f"rules: {ROOT / 'rules'}\nalerts: {{console: false}}\n"
    )

    first = _monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)
    second = _monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 5
    polls = [json.loads(line) for line in second.stderr.splitlines() if '"event": "poll"' in line]
    assert [(p["status"], p["archived"]) for p in polls] == [
        ("not_modified", 0)
    ]  # same body: no re-parse
    assert (tmp_path / "state" / "redis" / "appendonly.aof").exists() or list(
        (tmp_path / "state" / "redis").glob("appendonly*")
    )
    assert not (tmp_path / "state" / "redis" / "redis.sock").exists()


def test_run_once_exits_nonzero_when_every_feed_fails(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """All feeds failing is an error exit, with the reason logged."""
    httpserver.expect_request("/x").respond_with_data("boom", status=500)
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"feeds:\n  - url: {httpserver.url_for('/x')}\ndata_dir: state\nlog_format: json\n"
        "allow_private_hosts: [127.0.0.1]\n"
        f"rules: {ROOT / 'rules'}\n"
    )

    result = _monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)

    assert result.returncode == 1
    assert "HTTP 500" in result.stderr


def test_bad_config_refuses_to_start(tmp_path: Path) -> None:
    """A broken config exits 2 naming the key."""
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text("feeds:\n  - url: https://e.org/rss\n    interval: nope\n")

    result = _monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)

    assert result.returncode == 2
    assert "feeds.0.interval" in result.stderr


@pytest.mark.parametrize("args", [["--once"], ["--role", "poller"]])
def test_broken_rules_refuse_to_start(tmp_path: Path, args: list[str]) -> None:
    """`monitor run` with a broken rule file exits 1 naming file:line (the poller too, which
    checks the rules in a process of its own and keeps none)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("events:\n  e:\n    all: [[x]]\n    within: lots\n")
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f"rules: {rules}\ndata_dir: state\n")

    result = _monitor("run", *args, "--config", str(cfg), cwd=tmp_path)

    assert result.returncode == 1
    assert f"{rules}:4: events.e.within" in result.stderr and "refusing to start" in result.stderr
