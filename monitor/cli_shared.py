"""What the `alerts`, `items` and `status` commands share: the store for one command, times
and tables on the terminal, and how a listing is printed."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from monitor.config import Settings
from monitor.state.runtime import open_store
from monitor.state.store import Store

T = TypeVar("T")


def with_store(settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    """Run `fn` on the configured store, opened for this command only (a store error
    reaches `cli.main`, which prints it as one line)."""

    async def go() -> T:
        async with open_store(settings) as store:
            return await fn(store)

    return asyncio.run(go())


def when(ts: float | None) -> str:
    """An epoch time as `2026-11-23 11:32:48` (UTC), `-` when unknown."""
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def table_console() -> Console:
    """The terminal's console; 200 columns when stdout is not a terminal."""
    return Console() if sys.stdout.isatty() else Console(width=200)


def print_listing(
    rows: Sequence[T],
    as_json: Callable[[int, T], object] | None,
    show: Callable[[int, T], str] | Table,
    counted: str,
) -> None:
    """Each row as one JSON line (with `as_json`), else as `show` renders it (a line per row
    or a table), then how many there are on stderr (`3 dead message(s)`)."""
    if as_json is not None:
        for n, row in enumerate(rows, start=1):
            typer.echo(json.dumps(as_json(n, row), ensure_ascii=False))
    elif isinstance(show, Table):
        table_console().print(show)
    else:
        for n, row in enumerate(rows, start=1):
            typer.echo(show(n, row))
    typer.echo(f"{len(rows)} {counted}", err=True)
