"""Items that keep failing are set aside with their reason; `monitor items` lists and requeues."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytest_httpserver import HTTPServer

from monitor.models import FeedEntry
from monitor.state.entry_codec import entry_to_json
from monitor.state.store import Store, connect
from tests.support.builders import article_page
from tests.support.cli import run_monitor

ROOT = Path(__file__).resolve().parents[2]


async def _fail_three_times(redis_url: str, entry: FeedEntry) -> list[bool]:
    store = Store(connect(redis_url))
    try:
        results = []
        for count in (1, 2, 3):
            before = await store.items.failures([entry.entry_id])
            assert (before[entry.entry_id].count if before else 0) == count - 1
            results.append(
                await store.items.failed(
                    entry.entry_id,
                    entry_to_json(entry),
                    f"boom {count}",
                    count=count,
                    retry_at=0.0,
                    give_up_after=3,
                )
            )
        assert await store.items.failures([entry.entry_id]) == {}
        return results
    finally:
        await store.aclose()


def test_an_item_failing_three_times_is_set_aside_listed_and_requeued(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    httpserver.expect_request("/story").respond_with_data(
        article_page("A story that failed before", ["It has enough text to archive. " * 12]),
        content_type="text/html",
    )
    link = httpserver.url_for("/story")
    entry = FeedEntry(feed="news", entry_id=link, link=link, canonical_url=link,
                      title="A story that failed before", summary="", published=None,
                      source="example")  # fmt: skip
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"redis_url: {redis_url}\ndata_dir: {tmp_path / 'state'}\nallow_private_hosts: [127.0.0.1]\n"
        f"archive_dir: {tmp_path / 'archive'}\nrules: {ROOT / 'rules'}\nalerts: {{console: false}}\n"
        "log_format: json\n"
    )

    assert asyncio.run(_fail_three_times(redis_url, entry)) == [False, False, True]

    listed = run_monitor("items", "--config", str(cfg), "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert link in listed.stdout and "boom 3" in listed.stdout
    assert "1 item(s) set aside" in listed.stderr
    status = run_monitor("status", "--config", str(cfg), cwd=tmp_path)
    assert "items set aside: 1" in status.stdout

    requeued = run_monitor("items", "--config", str(cfg), "requeue", cwd=tmp_path)
    assert requeued.returncode == 0, requeued.stderr
    assert "requeued 1 of 1" in requeued.stderr
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 1
    after = run_monitor("items", "--config", str(cfg), "list", cwd=tmp_path)
    assert "0 item(s) set aside" in after.stderr
