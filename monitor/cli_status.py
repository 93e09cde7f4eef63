"""`monitor status`: feeds (last poll, cause of the last error, the real next poll), the
archive, the outbox, set-aside items and the last alerts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import textwrap
from typing import Any

import typer
from rich.table import Table

from monitor.cli_shared import table_console, when, with_store
from monitor.config import Settings
from monitor.extract.seed_format import probe_writable
from monitor.redact import redact_text, redact_url
from monitor.state.store import Store


def error_cause(error: str | None, url: str) -> str:
    """The stored error without the URL it repeats (the feed column names the feed)."""
    if not error:
        return ""
    for prefix in (f"{url}: ", f"refused {url}: ", f"{redact_url(url)}: "):
        if error.startswith(prefix):
            return error[len(prefix) :]
    return error


def _archive(settings: Settings) -> str | None:
    try:
        probe_writable(settings.archive_path)
    except OSError as exc:
        return f"{settings.archive_path} is NOT writable: {exc.strerror or exc}"
    return None


def status_cmd(settings: Settings, as_json: bool, wide: bool = False) -> None:
    """Feeds (last poll, error, next run, backoff), the outbox, and the last alerts."""

    async def gather(store: Store) -> dict[str, Any]:
        return {
            "feeds": [dataclasses.asdict(f) for f in await store.all_feed_states()],
            "outbox_depth": await store.alerts.outbox_depth(),
            "dead": len(await store.alerts.dead_entries()),
            "set_aside": len(await store.items.set_aside()),
            "alerts": await store.alerts.recent_alerts(5),
            "archive_problem": await asyncio.to_thread(_archive, settings),
        }

    data = with_store(settings, gather)
    for feed in data["feeds"]:
        feed["url"] = redact_url(feed["url"])
        feed["name"] = redact_url(feed["name"])
        feed["last_error"] = redact_text(feed["last_error"] or "") or None
        feed["moved_from"] = redact_url(feed["moved_from"]) if feed["moved_from"] else None
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    console = table_console()
    console.print(_feeds_table(settings, data["feeds"], wide))
    console.print(f"archive: {data['archive_problem'] or f'{settings.archive_path} writable'}")
    console.print(f"outbox: {data['outbox_depth']} waiting, {data['dead']} dead")
    if data["set_aside"]:
        console.print(f"items set aside: {data['set_aside']} (monitor items list)")
    for a in data["alerts"]:
        console.print(
            f"  {when(a.get('opened'))}  {a.get('rule')}  sources={a['sources']}  {a['payload'].get('headline', '')[:70]}"
        )


def _feeds_table(settings: Settings, feeds: list[dict[str, Any]], wide: bool) -> Table:
    configured = {redact_url(f.key) for f in settings.feeds}
    table = Table("feed", "status", "last poll (UTC)", "last success", "failures",
                  "next poll", "last error", expand=wide)  # fmt: skip
    for f in feeds:
        name = f["name"] + ("" if f["name"] in configured else " (not in config)")
        if f.get("moved_from"):
            name += f" (moved to {f['url']})"
        cause = error_cause(f["last_error"], f["url"])
        table.add_row(
            name,
            f["last_status"] or "-",
            when(f["last_poll"]),
            when(f["last_success"]),
            str(f["failures"]),
            when(f["next_attempt"]),
            cause if wide else textwrap.shorten(cause, width=70, placeholder=" …"),
        )
    for key in sorted(configured - {f["name"] for f in feeds}):
        table.add_row(key, "never polled", "-", "-", "0", "-", "")
    return table
