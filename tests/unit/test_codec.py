"""The state codec: typed payloads and records to and from what Redis stores."""

from __future__ import annotations

import json

from monitor.models import AlertPayload
from monitor.state.codec import (
    AlertCounts,
    alert_json,
    decode_alert,
    decode_payload,
    encode_payload,
)
from monitor.state.outbox import decode_entry


def test_a_payload_survives_the_round_trip_with_tuples_and_non_ascii() -> None:
    """encode then decode gives the same frozen value (tuples stay tuples, CJK stays readable)."""
    payload = AlertPayload(
        rule="r", headline="中美人工智能对话", terms=("对话", "AI"), route_email=("a@x.example",),
        seen=12.5, change="withdrawn", published="2026-06-05T10:00:00+00:00",
    )  # fmt: skip

    stored = encode_payload(payload)

    assert decode_payload(stored) == payload
    assert "中美" in stored


def test_an_older_or_damaged_payload_decodes_with_defaults() -> None:
    """Missing fields, wrong types, an unknown change and bad JSON fall back to the defaults."""
    stored = json.dumps({"headline": "h", "terms": "not a list", "seen": "soon", "change": "x",
                         "route_slack": "", "unknown": 1})  # fmt: skip

    assert decode_payload(stored) == AlertPayload(headline="h")
    assert decode_payload("{not json") == AlertPayload()
    assert decode_payload(None) == AlertPayload()


def test_an_alert_hash_and_its_sets_become_one_record() -> None:
    """Independent reports are min(outlets, stories); flags and times are typed."""
    raw = {"rule": "r", "group": "g", "status": "open", "opened": "100.5", "window_end": "200",
           "released": "101", "disputed": "1", "min_sources": "2",
           "payload": encode_payload(AlertPayload(headline="h"))}  # fmt: skip
    counts = AlertCounts(
        outlets=3, stories=2, articles=4, source_names=["b", "a", "c"], disputers=[],
        copies=["c"], withdrawn_outlets=[], outlet_order=["a", "c", "b"],
    )  # fmt: skip

    alert = decode_alert("A1", raw, counts)

    assert (alert.sources, alert.outlets, alert.status, alert.opened) == (2, 3, "open", 100.5)
    assert (alert.disputed, alert.corrected, alert.released, alert.again) == (
        True,
        False,
        101.0,
        None,
    )
    assert alert.outlet_names == ("a", "c", "b") and alert.source_names == ("a", "b", "c")
    assert alert_json(alert)["payload"]["headline"] == "h"


def test_an_outbox_hash_becomes_a_typed_entry_that_knows_when_to_look_first() -> None:
    """A second claim without a settled first attempt is unsure; unknown kinds read as ops."""
    raw = {"key": "k", "sink": "chat", "kind": "followup", "alert": "A1", "parent": "A1",
           "payload": encode_payload(AlertPayload(headline="h")), "attempts": "1",
           "claims": "2", "status": "pending", "created": "5"}  # fmt: skip

    entry = decode_entry("k|chat", raw)
    odd = decode_entry("x|chat", {**raw, "kind": "telegram", "settled": "1"})

    assert (entry.kind, entry.payload.headline, entry.unsure, entry.parent_entry) == (
        "followup", "h", True, "A1|chat",
    )  # fmt: skip
    assert (odd.kind, odd.unsure) == ("ops", False)
