"""The one codec between typed values and what Redis stores: payloads as JSON, alert and
outbox hashes as typed records. Stored data from older versions decodes with defaults;
a value of the wrong type is dropped to its default rather than stopping delivery."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast, get_args

from monitor.models import (
    AlertPayload,
    AlertRecord,
    AlertStatus,
    Change,
    MessageKind,
    OutboxStatus,
)

_TEXTS = ("terms", "route_email", "also")  # tuple[str, ...] fields of AlertPayload
_OPTIONAL = ("published", "route_slack")  # str | None fields ("" reads as None)


def encode_payload(payload: AlertPayload) -> str:
    """The stored form of a payload (JSON, non-ASCII kept readable)."""
    return json.dumps(dataclasses.asdict(payload), ensure_ascii=False)


def payload_json(payload: AlertPayload) -> dict[str, Any]:
    """A payload as a JSON object (for `--json` output)."""
    return dataclasses.asdict(payload)


def decode_payload(stored: str | None) -> AlertPayload:
    """Parse a stored payload (older entries may lack fields: they take the defaults)."""
    try:
        data = json.loads(stored or "{}")
    except json.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    typed: dict[str, Any] = {
        f.name: _field(f.name, data.get(f.name)) for f in dataclasses.fields(AlertPayload)
    }
    return AlertPayload(**{k: v for k, v in typed.items() if v is not None})


def _field(name: str, value: object) -> object:
    """One payload field in its declared type (None: missing or unusable, so the default)."""
    if value is None:
        return None
    if name == "change":
        return value if value in get_args(Change) else None
    if name in _TEXTS:
        return tuple(str(v) for v in value) if isinstance(value, list | tuple) else None
    if name == "seen":
        return float(value) if isinstance(value, int | float) else None
    if name in _OPTIONAL:
        return str(value) if value != "" else None
    return str(value)


def decode_alert(alert_id: str, raw: dict[str, str], counts: AlertCounts) -> AlertRecord:
    """An alert hash (as stored by decide.lua) and its counted sets, as one record."""
    status = raw.get("status", "held")
    return AlertRecord(
        id=alert_id,
        rule=raw.get("rule", ""),
        group=raw.get("group", ""),
        status=cast(AlertStatus, status if status in get_args(AlertStatus) else "held"),
        opened=_float(raw.get("opened")) or 0.0,
        window_end=_float(raw.get("window_end")) or 0.0,
        payload=decode_payload(raw.get("payload")),
        sources=min(counts.outlets, counts.stories),  # independent reports
        outlets=counts.outlets,
        stories=counts.stories,
        articles=counts.articles,
        source_names=tuple(sorted(counts.source_names)),
        outlet_names=tuple(counts.outlet_order) or tuple(sorted(counts.source_names)),
        copies=tuple(sorted(counts.copies)),
        withdrawn_outlets=tuple(sorted(counts.withdrawn_outlets)),
        disputed_by=tuple(sorted(counts.disputers)),
        min_sources=int(_float(raw.get("min_sources")) or 1),
        released=_float(raw.get("released")),
        again=_float(raw.get("again")),
        disputed=raw.get("disputed") == "1",
        corrected=raw.get("corrected") == "1",
    )


@dataclasses.dataclass(frozen=True)
class AlertCounts:
    """The sets and list kept beside an alert's hash, as read in one pipeline."""

    outlets: int
    stories: int
    articles: int
    source_names: list[str]
    disputers: list[str]
    copies: list[str]
    withdrawn_outlets: list[str]
    outlet_order: list[str]


def alert_json(alert: AlertRecord) -> dict[str, Any]:
    """An alert as one JSON object (`alerts list/show --json`, `status`)."""
    return {**dataclasses.asdict(alert), "payload": payload_json(alert.payload)}


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def outbox_status(value: str) -> OutboxStatus:
    """A stored status (unknown values read as pending: the entry is looked at again)."""
    return cast(OutboxStatus, value if value in get_args(OutboxStatus) else "pending")


def message_kind(value: str) -> MessageKind:
    """A stored message kind (unknown values read as an ops notice)."""
    return cast(MessageKind, value if value in get_args(MessageKind) else "ops")
