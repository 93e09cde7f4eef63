"""Prometheus metrics for the process (one registry; stages increment, `/metrics` serves)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter(
    "monitor_polls",
    "Feed polls by feed and outcome (ok, not_modified, error)",
    ["feed", "status"],
    registry=REGISTRY,
)
ARTICLES = Counter(
    "monitor_articles_extracted",
    "Articles archived, by extraction path (page, feed)",
    ["via"],
    registry=REGISTRY,
)
EXTRACT_FAILURES = Counter(
    "monitor_extraction_failures",
    "Article pages that failed or gave too little text",
    registry=REGISTRY,
)
RULE_MATCHES = Counter("monitor_rule_matches", "Rule matches by rule", ["rule"], registry=REGISTRY)
ALERT_DECISIONS = Counter(
    "monitor_alert_decisions",
    "Alert decisions (open, followup, held, attached, duplicate, correction)",
    ["action"],
    registry=REGISTRY,
)
MESSAGES = Counter(
    "monitor_messages",
    "Outbox messages by sink and result (sent, failed, dead, reconciled)",
    ["sink", "result"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge("monitor_outbox_depth", "Messages waiting in the outbox", registry=REGISTRY)
NOT_MODIFIED_RATIO = Gauge(
    "monitor_http_not_modified_ratio", "Share of polls answered 304 / unchanged", registry=REGISTRY
)
LATENCY = Histogram(
    "monitor_alert_latency_seconds",
    "Feed item seen -> alert delivered",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
    registry=REGISTRY,
)
STREAM_LENGTH = Gauge(
    "monitor_stream_length", "Items in the work stream (back-pressure)", registry=REGISTRY
)
STREAM_PENDING = Gauge(
    "monitor_stream_pending", "Items read by workers but not yet acknowledged", registry=REGISTRY
)
RULES_RELOADS = Counter(
    "monitor_rules_reloads",
    "Rule reloads by result (ok, rejected: file:line problems, error: failed otherwise)",
    ["result"],
    registry=REGISTRY,
)
ITEM_FAILURES = Counter(
    "monitor_item_failures",
    "Feed items whose processing raised, by outcome (retry, set_aside)",
    ["outcome"],
    registry=REGISTRY,
)
POLL_CRASHES = Counter(
    "monitor_poll_crashes",
    "Polls that failed outside fetching and parsing (a full disk, a bug), by feed",
    ["feed"],
    registry=REGISTRY,
)


def refresh_not_modified_ratio() -> None:
    """Recompute the 304 ratio from the poll counters."""
    total = unchanged = 0.0
    for metric in POLLS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                total += sample.value
                if sample.labels.get("status") == "not_modified":
                    unchanged += sample.value
    NOT_MODIFIED_RATIO.set(unchanged / total if total else 0.0)


def render() -> bytes:
    """The exposition text."""
    refresh_not_modified_ratio()
    return generate_latest(REGISTRY)
