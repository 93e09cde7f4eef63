"""Command line: `monitor run | demo | status | match | explain | rules ...`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor import logs
from monitor.config import Settings, load_settings
from monitor.console import exit_if_missing
from monitor.errors import ConfigError, MonitorError
from monitor.redact import redact_text

if TYPE_CHECKING:
    from monitor.rules.matcher import Matcher

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help=__doc__,
    pretty_exceptions_show_locals=False,  # locals hold settings: secrets must not be printed
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config file (default: $MONITOR_CONFIG)",
        envvar="MONITOR_CONFIG",
    ),
]


@app.callback()
def _group() -> None:
    """monitor: tells analysts the moment a development is reported as having happened."""


def _settings(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"error: {redact_text(str(exc))}", err=True)
        raise typer.Exit(2) from None
    logs.configure(settings.log_level, settings.log_format)
    return settings


@app.command()
def run(
    config: ConfigOpt = None,
    once: Annotated[bool, typer.Option("--once", help="poll every feed once, then exit")] = False,
    role: Annotated[str, typer.Option("--role", help="all | poller | worker | sender")] = "all",
) -> None:
    """Run the monitor: poll feeds on schedule, archive, match and alert."""
    from monitor.cli_rules import matcher_or_exit, rules_checked_or_exit
    from monitor.daemon import Daemon, Role, run_once

    try:
        chosen = Role(role)
    except ValueError:
        typer.echo(f"error: --role must be one of {', '.join(Role)}", err=True)
        raise typer.Exit(2) from None
    settings = _settings(config)
    if chosen.compiles_rules or once:
        matcher: Matcher | None = matcher_or_exit(settings.rules, refusing=True)
    else:
        rules_checked_or_exit(settings.rules)
        matcher = None
    try:
        if once:
            outcomes = asyncio.run(run_once(settings, matcher))
            failed = [o for o in outcomes if o.status == "error"]
            if outcomes and len(failed) == len(outcomes):
                typer.echo(f"error: all {len(failed)} feeds failed", err=True)
                raise typer.Exit(1)
            return
        raise typer.Exit(asyncio.run(Daemon(settings, matcher, chosen).run()))
    except MonitorError as exc:
        typer.echo(f"error: {redact_text(str(exc))}", err=True)
        raise typer.Exit(1) from None


@app.command("status")
def status(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="whole error messages")] = False,
) -> None:
    """Feeds with last poll, the cause of the last error and the next poll; archive; outbox."""
    from monitor.cli_status import status_cmd

    settings = _settings(config)
    try:
        status_cmd(settings, as_json, wide)
    except MonitorError as exc:
        typer.echo(f"error: {redact_text(str(exc))}", err=True)
        raise typer.Exit(1) from None


@app.command("demo")
def demo(
    rules: Annotated[
        Path | None, typer.Option("--rules", help="rule file or folder (default: ./rules)")
    ] = None,
) -> None:
    """A first minute, offline: a bundled feed on 127.0.0.1 through the real pipeline."""
    from monitor.demo.run import run_demo

    logs.configure("warning", "console")
    try:
        run_demo(rules)
    except MonitorError as exc:
        typer.echo(f"error: {redact_text(str(exc))}", err=True)
        raise typer.Exit(1) from None


@app.command("replay")
def replay(
    paths: Annotated[list[Path], typer.Argument(help="seed-format files or folders, in order")],
    config: ConfigOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print alerts as JSON lines; send and store nothing")
    ] = False,
    clock: Annotated[
        str,
        typer.Option(
            help="'published': each article at its sidecar's publication time, in that order; "
            "'now': the wall clock, in the order given; or a fixed ISO time"
        ),
    ] = "published",
) -> None:
    """Feed archived articles through matching, dedup and delivery as if they arrived then."""
    from monitor.cli_alerts import replay_cmd

    exit_if_missing(paths)
    replay_cmd(_settings(config), paths, dry_run, clock)


def _register() -> None:
    from monitor.cli_alerts import alerts_app
    from monitor.cli_items import items_app
    from monitor.cli_rules import explain_cmd, match, rules_app

    app.add_typer(rules_app, name="rules")
    app.add_typer(alerts_app, name="alerts", callback=_alerts_callback)
    app.add_typer(items_app, name="items", callback=_items_callback)
    app.command("match")(match)
    app.command("explain")(explain_cmd)


class _SettingsFrom:
    """A group's `--config` (or $MONITOR_CONFIG), which a subcommand's own `--config` beats:
    `alerts --config X dead` and `alerts dead --config X` both work, as `status --config X`."""

    def __init__(self, config: Path | None) -> None:
        self.config = config

    def __call__(self, config: Path | None = None) -> Settings:
        return _settings(config or self.config)


def _alerts_callback(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Inspect alerts and the dead-letter list."""
    ctx.obj = _SettingsFrom(config)


def _items_callback(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Feed items set aside after failing repeatedly: list and requeue them."""
    ctx.obj = _SettingsFrom(config)


_register()


def main() -> None:
    """Console-script entry point. A user error no command foresaw (a folder given where a
    file was expected, a file that vanished or cannot be read) is one line, not a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `monitor match ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {redact_text(where + (exc.strerror or str(exc)))}", err=True)
        sys.exit(1)
    except MonitorError as exc:
        typer.echo(f"error: {redact_text(str(exc))}", err=True)
        sys.exit(1)
