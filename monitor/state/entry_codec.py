"""FeedEntry <-> the JSON a poller publishes on the items stream (and items set aside keep).

Beside `streams.py`: the stream's payload format is decided here, once, for the poller that
writes it, the worker that reads it and `monitor items requeue`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from monitor.models import FeedEntry


def entry_to_json(entry: FeedEntry) -> dict[str, Any]:
    """A FeedEntry as stream payload."""
    data = dataclasses.asdict(entry)
    data["published"] = entry.published.isoformat() if entry.published else None
    return data


def entry_from_json(data: dict[str, Any]) -> FeedEntry:
    """The FeedEntry a poller published."""
    published = datetime.fromisoformat(data["published"]) if data.get("published") else None
    return FeedEntry(**{**data, "published": published, "tags": tuple(data.get("tags") or ())})
