"""Typed config of the sinks: the `slack:` and `email:` shorthands and the `sinks:` list,
whose entries are chosen by their `type` (a pydantic discriminated union). Re-exported by
`monitor.config`; the registry that builds sinks from them is `monitor/sinks/registry.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackConfig(_Strict):
    """Slack Web API (bot token) or incoming-webhook delivery (the `slack:` shorthand for
    one Slack sink named "slack"; `sinks:` holds any number)."""

    token: SecretStr | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api/"
    webhook_url: SecretStr | None = None


class EmailConfig(_Strict):
    """SMTP delivery (the `email:` shorthand for one email sink named "email")."""

    smtp_host: str | None = None
    smtp_port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    sender: str | None = None
    recipients: list[str] = Field(default_factory=list)
    starttls: bool = True
    ssl: bool = False


_SINK_NAME = r"^[A-Za-z0-9_.-]+$"  # names end up in outbox entry names (`<key>|<sink>`)


class SlackSinkConfig(SlackConfig):
    """One Slack sink in `sinks:` (a bot token, or else an incoming webhook)."""

    type: Literal["slack"]
    name: str = Field(default="slack", pattern=_SINK_NAME)

    @model_validator(mode="after")
    def _token_or_webhook(self) -> SlackSinkConfig:
        if self.token is None and self.webhook_url is None:
            raise ValueError("a Slack sink needs a token (with a channel) or a webhook_url")
        return self


class EmailSinkConfig(EmailConfig):
    """One email sink in `sinks:`."""

    type: Literal["email"]
    name: str = Field(default="email", pattern=_SINK_NAME)
    smtp_host: str
    sender: str


class JsonlSinkConfig(_Strict):
    """The console/JSONL sink in `sinks:` (prints alerts and appends them to a file)."""

    type: Literal["jsonl"]
    name: str = Field(default="jsonl", pattern=_SINK_NAME)
    path: Path | None = Field(
        default=None, description="the JSONL file (default: <data_dir>/alerts.jsonl)"
    )


SinkConfig = Annotated[
    SlackSinkConfig | EmailSinkConfig | JsonlSinkConfig, Field(discriminator="type")
]
