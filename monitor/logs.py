"""structlog set-up: JSON lines when not on a TTY, pretty on a TTY.

Libraries that log through the standard `logging` module (APScheduler, asyncio, httpx) go
through the same renderer, so the stream stays one JSON object per line; every string is
passed through `monitor.redact` so a credential never reaches a log line.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from monitor.redact import redact_event


def configure(level: str = "info", fmt: str = "auto", stream: Any = None) -> None:
    """Configure structlog and the standard `logging` root once for the process (stderr)."""
    out = stream or sys.stderr
    pretty = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if pretty
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(out, renderer, numeric)


def _route_stdlib(out: Any, renderer: Any, level: int) -> None:
    """Render `logging` records (APScheduler's own lines among them) like ours."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_event,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # APScheduler says "Running job ..." at INFO for every poll: only its warnings matter
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
