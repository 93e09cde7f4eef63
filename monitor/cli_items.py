"""`monitor items list|requeue`: feed items set aside after repeated processing failures."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from monitor.config import Settings
from monitor.console import ConfigAfterOpt
from monitor.errors import MonitorError
from monitor.redact import redact_text
from monitor.state.items import SetAside
from monitor.state.runtime import open_store

items_app = typer.Typer(
    no_args_is_help=True, help="Feed items set aside after failing repeatedly; requeue them."
)


def _when(ts: float | None) -> str:
    from monitor.cli_alerts import _when as when

    return when(ts)


@items_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    config: ConfigAfterOpt = None,
) -> None:
    """Every item set aside, with the reason it failed."""
    settings: Settings = ctx.obj(config)

    async def go(store: Any) -> list[SetAside]:
        return list(await store.items.set_aside())

    entries = _run(settings, go)
    for n, item in enumerate(entries, start=1):
        if as_json:
            typer.echo(json.dumps({"n": n, "id": item.id, "error": item.error, "at": item.at,
                                   "item": item.item}, ensure_ascii=False))  # fmt: skip
        else:
            typer.echo(f"{n:>3}  {_when(item.at)}  {item.item.get('feed', '?')}  "
                       f"{item.item.get('link') or item.id}\n     {item.error}")  # fmt: skip
    typer.echo(f"{len(entries)} item(s) set aside", err=True)


@items_app.command("requeue")
def requeue(
    ctx: typer.Context,
    numbers: Annotated[
        list[int] | None, typer.Argument(help="numbers from `items list` (default: all)")
    ] = None,
    config: ConfigAfterOpt = None,
) -> None:
    """Process set-aside items again now, in this process; those that fail again stay."""
    from monitor.cli_rules import matcher_or_exit
    from monitor.pipeline import Pipeline
    from monitor.state.entry_codec import entry_from_json

    settings: Settings = ctx.obj(config)
    matcher = matcher_or_exit(settings.rules, refusing=True)

    async def go(store: Any) -> tuple[int, int]:
        entries = list(await store.items.set_aside())
        chosen = [e for n, e in enumerate(entries, start=1) if not numbers or n in numbers]
        pipeline = Pipeline.build(settings, store, matcher)
        done = 0
        try:
            for item in chosen:
                try:
                    await pipeline.process_entry(entry_from_json(item.item))
                except Exception as exc:  # reported per item; the rest are still tried
                    typer.echo(
                        f"still failing: {item.item.get('link')}: {type(exc).__name__}: {exc}",
                        err=True,
                    )
                    continue
                await store.items.release(item)
                done += 1
            if pipeline.deliverer is not None:
                await pipeline.deliverer.drain(30.0)
        finally:
            await pipeline.aclose()
        return done, len(chosen)

    done, chosen = _run(settings, go)
    typer.echo(f"requeued {done} of {chosen} item(s)", err=True)
    if done < chosen:
        raise typer.Exit(1)


def _run(settings: Settings, fn: Any) -> Any:
    async def go() -> Any:
        async with open_store(settings) as store:
            return await fn(store)

    try:
        return asyncio.run(go())
    except MonitorError as exc:
        typer.echo(f"error: {redact_text(str(exc))}", err=True)
        raise typer.Exit(1) from None
