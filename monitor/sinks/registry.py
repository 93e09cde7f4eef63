"""The registry of sink kinds: config `type` -> a factory that builds the sink from its
typed config. A new sink is a module, one line here and one config model in `config.py`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monitor.config import EmailSinkConfig, JsonlSinkConfig, Settings, SlackSinkConfig
from monitor.sinks.base import Sink
from monitor.sinks.email import EmailSink
from monitor.sinks.jsonl import JsonlSink
from monitor.sinks.slack import SlackSink, SlackWebhookSink


def _slack(cfg: SlackSinkConfig, settings: Settings) -> Sink:
    """A bot-token sink (threads, reconciliation), else the incoming-webhook fallback."""
    if cfg.token is not None:
        return SlackSink(
            cfg.token.get_secret_value(),
            cfg.channel,
            cfg.api_url,
            lookback_s=settings.alerts.reconcile_window_s,
            name=cfg.name,
        )
    assert cfg.webhook_url is not None  # the config model requires one of the two
    return SlackWebhookSink(cfg.webhook_url.get_secret_value(), name=cfg.name)


def _email(cfg: EmailSinkConfig, settings: Settings) -> Sink:
    return EmailSink(
        cfg.smtp_host, cfg.smtp_port, cfg.sender, cfg.recipients,
        username=cfg.username, password=cfg.password.get_secret_value() if cfg.password else None,
        starttls=cfg.starttls, use_ssl=cfg.ssl, name=cfg.name,
    )  # fmt: skip


def _jsonl(cfg: JsonlSinkConfig, settings: Settings) -> Sink:
    """`path` relative to the data folder (default: `<data_dir>/alerts.jsonl`)."""
    path = settings.data_dir / (cfg.path or "alerts.jsonl")  # an absolute path stays as is
    return JsonlSink(path, name=cfg.name)


# type -> factory; each factory takes the config model of its own type (dispatched on `type`)
SINKS: dict[str, Callable[[Any, Settings], Sink]] = {
    "slack": _slack,
    "email": _email,
    "jsonl": _jsonl,
}


def build_sinks(settings: Settings) -> dict[str, Sink]:
    """The configured sinks by name (with nothing configured, the console/JSONL sink)."""
    return {cfg.name: SINKS[cfg.type](cfg, settings) for cfg in settings.sink_configs()}


def digest_sinks(sinks: Mapping[str, Sink]) -> frozenset[str]:
    """The sinks whose messages of digest rules wait for the period's end (email)."""
    return frozenset(name for name, sink in sinks.items() if sink.digest)
