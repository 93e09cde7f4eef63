"""`monitor replay` and `monitor alerts list|show|dead|retry`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from monitor.cli_shared import print_listing, table_console, when, with_store
from monitor.config import Settings
from monitor.console import ConfigAfterOpt
from monitor.errors import MonitorError
from monitor.sinks.registry import build_sinks
from monitor.state.codec import alert_json
from monitor.state.outbox import OutboxEntry, entry_json
from monitor.state.store import Store

alerts_app = typer.Typer(no_args_is_help=True, help="Inspect alerts and the dead-letter list.")


def replay_cmd(
    settings: Settings, paths: list[Path], dry_run: bool, clock: str = "published"
) -> None:
    """Replay seed-format files through matching, dedup and delivery."""
    from monitor.cli_rules import matcher_or_exit
    from monitor.daemon import replay

    matcher = matcher_or_exit(settings.rules, refusing=True)
    try:
        done = asyncio.run(replay(settings, matcher, paths, dry_run=dry_run, clock=clock))
    except MonitorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    actions = [a.action for p in done for _r, a in p.decisions]
    summary = {a: actions.count(a) for a in sorted(set(actions))}
    typer.echo(f"replayed {len(done)} file(s): {json.dumps(summary)}", err=True)


JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object per line")]


@alerts_app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    as_json: JsonOpt = False,
    config: ConfigAfterOpt = None,
) -> None:
    """The newest alerts with their source and story counts."""
    settings: Settings = ctx.obj(config)
    alerts = with_store(settings, lambda s: s.alerts.recent(limit))
    if as_json:
        for a in alerts:
            typer.echo(json.dumps(alert_json(a), ensure_ascii=False))
        return
    table = Table("alert", "opened (UTC)", "rule", "status", "sources", "stories", "headline")
    for a in alerts:
        table.add_row(
            a.id,
            when(a.opened),
            a.rule,
            a.status,
            str(a.sources),
            str(a.stories),
            a.payload.headline[:70],
        )
    table_console().print(table)


@alerts_app.command("show")
def show(ctx: typer.Context, alert_id: str, config: ConfigAfterOpt = None) -> None:
    """One alert as JSON: counts, outlets, the first article and its evidence."""
    settings: Settings = ctx.obj(config)
    alert = with_store(settings, lambda s: s.alerts.alert(alert_id))
    if not alert:
        typer.echo(f"error: no alert {alert_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(alert_json(alert), indent=2, ensure_ascii=False))


@alerts_app.command("dead")
def dead(ctx: typer.Context, as_json: JsonOpt = False, config: ConfigAfterOpt = None) -> None:
    """Messages that exhausted their retries, with the last error."""
    settings: Settings = ctx.obj(config)
    entries = with_store(settings, lambda s: s.alerts.dead_entries())
    table = Table("entry", "kind", "sink", "attempts", "created (UTC)", "error")
    for e in entries:
        table.add_row(e.entry, e.kind, e.sink, str(e.attempts), when(e.created), e.error[:80])
    print_listing(entries, (lambda _n, e: entry_json(e)) if as_json else None, table,
                  "dead message(s)")  # fmt: skip


@alerts_app.command("retry")
def retry(
    ctx: typer.Context,
    entries: Annotated[
        list[str] | None, typer.Argument(help="entries to retry (default: all)")
    ] = None,
    drain: Annotated[
        float, typer.Option(help="seconds to try delivering now (0: leave it to the daemon)")
    ] = 30.0,
    config: ConfigAfterOpt = None,
) -> None:
    """Put dead messages back in the outbox with a fresh retry budget, and try them now.

    Says what happened to each one (delivered, dead again with the error, still queued);
    exits 1 unless every revived message was delivered (or left to the daemon with --drain 0).
    """
    from monitor.alerts.deliver import Deliverer

    settings: Settings = ctx.obj(config)

    async def go(store: Store) -> tuple[list[str], list[OutboxEntry | None]]:
        revived = await store.alerts.revive(entries or None)
        if drain > 0 and revived:
            sinks = build_sinks(settings)
            deliverer = Deliverer(store.alerts, sinks, settings.alerts)
            deliverer.ops_channel = settings.service.ops_channel
            try:
                await deliverer.drain(drain)
            finally:
                for sink in sinks.values():
                    await sink.aclose()
        return revived, [await store.alerts.entry(name) for name in revived]

    revived, after = with_store(settings, go)
    if drain <= 0 or not revived:
        typer.echo(f"revived {len(revived)} message(s); the daemon will deliver them")
        return
    outcome = {"delivered": 0, "dead": 0, "pending": 0}
    for name, entry in zip(revived, after, strict=True):
        status = entry.status if entry is not None else "pending"
        error = entry.error if entry is not None else ""
        outcome[status] = outcome.get(status, 0) + 1
        if status == "dead":
            typer.echo(f"dead again: {name}: {error}", err=True)
        elif status == "pending":
            typer.echo(f"still queued: {name}: {error or 'not tried yet'}", err=True)
    typer.echo(
        f"revived {len(revived)} message(s): {outcome['delivered']} delivered, "
        f"{outcome['dead']} dead again, {outcome['pending']} still queued"
    )
    if outcome["delivered"] != len(revived):
        raise typer.Exit(1)
