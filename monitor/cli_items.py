"""`monitor items list|requeue`: feed items set aside after repeated processing failures."""

from __future__ import annotations

from typing import Annotated

import typer

from monitor.cli_shared import print_listing, when, with_store
from monitor.config import Settings
from monitor.console import ConfigAfterOpt
from monitor.state.items import SetAside
from monitor.state.store import Store

items_app = typer.Typer(
    no_args_is_help=True, help="Feed items set aside after failing repeatedly; requeue them."
)


@items_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    config: ConfigAfterOpt = None,
) -> None:
    """Every item set aside, with the reason it failed."""
    settings: Settings = ctx.obj(config)

    entries = with_store(settings, lambda s: s.items.set_aside())
    print_listing(entries, _item_json if as_json else None, _item_lines, "item(s) set aside")


def _item_json(n: int, item: SetAside) -> dict[str, object]:
    return {"n": n, "id": item.id, "error": item.error, "at": item.at, "item": item.item}


def _item_lines(n: int, item: SetAside) -> str:
    return (f"{n:>3}  {when(item.at)}  {item.item.get('feed', '?')}  "
            f"{item.item.get('link') or item.id}\n     {item.error}")  # fmt: skip


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

    async def go(store: Store) -> tuple[int, int]:
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

    done, chosen = with_store(settings, go)
    typer.echo(f"requeued {done} of {chosen} item(s)", err=True)
    if done < chosen:
        raise typer.Exit(1)
