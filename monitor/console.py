"""Terminal niceties shared by commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def progress(items: list[Path], label: str) -> Iterator[Path]:
    """A progress bar on stderr when it is a TTY; the plain items otherwise."""
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    if not console.is_terminal or len(items) < 20:
        return iter(items)
    return iter(track(items, description=label, console=console, transient=True))
