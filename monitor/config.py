"""Typed settings: a YAML file, overridden by `.env`, overridden by `MONITOR_*` variables.

Nested keys use `__` (`MONITOR_SLACK__TOKEN`). Unknown keys are rejected; secrets are
`SecretStr` so they never reach a log line.
"""

from __future__ import annotations

import ipaddress
import os
import pickle
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from monitor.config_sinks import (
    EmailConfig,
    EmailSinkConfig,
    JsonlSinkConfig,
    SinkConfig,
    SlackConfig,
    SlackSinkConfig,
)
from monitor.errors import ConfigError

__all__ = [
    "AlertsConfig", "EmailConfig", "EmailSinkConfig", "FeedConfig", "HttpConfig",
    "JsonlSinkConfig", "ServiceConfig", "Settings", "SinkConfig", "SlackConfig",
    "SlackSinkConfig", "WorkersConfig", "load_settings", "read_yaml_config",
]  # fmt: skip

USER_AGENT = "monitor/0.1 (+https://github.com/monitor-news/monitor; news alerting bot)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zero_is_off(default: float, what: str) -> Any:
    """A duration or threshold that may be 0, which turns its feature off."""
    return Field(default=default, ge=0, description=f"{what} (0: off)")


class FeedConfig(_Strict):
    """One feed to poll."""

    url: str
    interval: int = Field(default=900, ge=5, description="seconds between polls")
    name: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        parts = urlsplit(value)
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "must not carry credentials (user:password@): monitor does not log in to feeds"
            )
        return value

    @property
    def key(self) -> str:
        """Stable id of the feed: its name, else its URL."""
        return self.name or self.url


class HttpConfig(_Strict):
    """Limits for every outgoing HTTP request."""

    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=15.0, gt=0)
    total_timeout: float = Field(default=30.0, gt=0, description="whole-response deadline")
    max_bytes: int = Field(default=5_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    per_host: int = Field(default=4, ge=1, description="concurrent requests per host")
    shards: int = Field(default=8, ge=1, description="httpx clients (see encode/httpx#3215)")
    transport: Literal["direct", "aiohttp", "httpcore"] = Field(
        default="direct",
        description="direct: aiohttp itself; aiohttp, httpcore: httpx on that transport",
    )
    shard_connections: int = Field(default=16, ge=1, description="connections per client")
    user_agent: str = USER_AGENT
    backoff_base: float = Field(default=60.0, gt=0, description="first retry delay, seconds")
    backoff_max: float = Field(default=3600.0, gt=0)
    min_text_chars: int = Field(default=200, ge=0, description="below this, use the feed text")


class AlertsConfig(_Strict):
    """Stories, dedup and delivery."""

    story_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="MinHash Jaccard to join a story"
    )
    num_perm: int = Field(default=128, ge=16, le=512)
    story_ttl_days: int = Field(default=7, ge=1)
    retry_base: float = Field(default=2.0, gt=0, description="first retry delay, seconds")
    retry_max: float = Field(default=180.0, gt=0, description="longest delay between retries")
    retry_for_s: float = Field(
        default=86400.0, gt=0, description="retry a failing message this long, then dead-letter"
    )
    max_attempts: int | None = Field(
        default=None, ge=1, description="optional cap on attempts besides retry_for_s"
    )
    timezone: str = Field(
        default="UTC", description="the desk's time zone for times in messages (IANA name)"
    )
    desk_digest_s: float = _zero_is_off(
        0.0, "email every rule's messages as one desk-wide digest per period, in seconds "
        "(a rule's own dedup.digest wins)",
    )  # fmt: skip
    old_news_days: float = _zero_is_off(
        30.0, "a development reported again this long after its alert's window goes into "
        "that alert's thread as old news, not a new alert",
    )  # fmt: skip
    sink_down_alert_s: float = _zero_is_off(600.0, "tell the desk once when a sink fails this long")
    probe_s: float = Field(
        default=60.0, gt=0, description="while a sink is down and idle, check() it this often"
    )
    lease_s: float = Field(
        default=60.0, gt=0, description="a claimed message comes back after this"
    )
    reconcile_window_s: float = Field(default=86400.0, gt=0)
    console: bool = Field(default=True, description="also print alerts and append alerts.jsonl")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
            ) from None
        return value


class ServiceConfig(_Strict):
    """The running daemon: health/metrics endpoint, rule reloads, feed-health alerts."""

    host: str = "127.0.0.1"
    port: int = Field(
        default=9464, ge=0, le=65535, description="0 disables /healthz, /readyz, /metrics"
    )
    stale_after_s: float | None = Field(
        default=None,
        ge=0,
        description="/healthz is degraded when no feed poll succeeded for this long "
        "(default: 3 x the longest feed interval, at least 30 min; 0: never)",
    )
    reload_check_s: float = Field(
        default=2.0, gt=0, description="how often rule files are checked for changes"
    )
    feed_alert_after_s: float = _zero_is_off(3600.0, "ops alert when a feed fails this long")
    feed_quiet_after_s: float = _zero_is_off(0.0, "ops alert when a feed has nothing new this long")
    ops_channel: str | None = Field(
        default=None, description="Slack channel for feed-health alerts (default: slack.channel)"
    )
    drain_grace_s: float = Field(
        default=20.0, gt=0, description="SIGTERM: time to finish in-flight work and flush"
    )


class WorkersConfig(_Strict):
    """Scale-out: the work stream and the worker role."""

    batch: int = Field(default=16, ge=1, description="stream items a worker takes at once")
    claim_idle_s: float = Field(
        default=30.0, gt=0, description="reclaim items a dead worker left pending this long"
    )
    stream_maxlen: int = Field(
        default=100_000, ge=100, description="approximate cap on the items stream"
    )
    extract_processes: int = Field(
        default=0, ge=0, description="process pool for trafilatura (0: a thread)"
    )


class Settings(BaseSettings):
    """Everything `monitor` reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        frozen=True,
    )

    config: Path | None = Field(default=None, description="the YAML file these came from")
    feeds: list[FeedConfig] = Field(default_factory=list)
    rules: Path = Path("rules")
    data_dir: Path = Path("data")
    archive_dir: Path | None = None
    redis_url: str = ""
    redis_prefix: str = "monitor"
    seen_ttl_days: int = Field(default=30, ge=1)
    sinks: list[SinkConfig] = Field(default_factory=list)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)
    allow_private_hosts: list[str] = Field(default_factory=list)
    http: HttpConfig = Field(default_factory=HttpConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"

    @field_validator("allow_private_hosts")
    @classmethod
    def _hosts_or_cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            if "/" in value:
                try:
                    ipaddress.ip_network(value, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{value!r} is not a valid CIDR: {exc}") from None
        return values

    @model_validator(mode="after")
    def _unique_sink_names(self) -> Settings:
        names = [c.name for c in self.sink_configs()]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(
                f"sinks: more than one sink named {', '.join(map(repr, twice))} (the `slack:` "
                "and `email:` shorthands are sinks named 'slack' and 'email'; give each "
                "entry of `sinks:` its own `name`)"
            )
        return self

    def sink_configs(self) -> list[SlackSinkConfig | EmailSinkConfig | JsonlSinkConfig]:
        """Every configured sink: the `slack:` and `email:` shorthands when set, then
        `sinks:`, then the console/JSONL sink (with `alerts.console`, or when nothing else
        is configured, as the embedded default)."""
        found: list[SlackSinkConfig | EmailSinkConfig | JsonlSinkConfig] = []
        if self.slack.token is not None or self.slack.webhook_url is not None:
            found.append(SlackSinkConfig(type="slack", **self.slack.model_dump()))
        if self.email.smtp_host and self.email.sender:
            found.append(EmailSinkConfig(type="email", **self.email.model_dump()))
        found += self.sinks
        has_jsonl = any(c.type == "jsonl" for c in found)
        if (self.alerts.console or not found) and not has_jsonl:
            found.append(JsonlSinkConfig(type="jsonl"))
        return found

    @property
    def archive_path(self) -> Path:
        """Where seed-format files go (default: `<data_dir>/archive`)."""
        return self.archive_dir or self.data_dir / "archive"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats `.env`, which beats the YAML file passed at init."""
        return (env_settings, dotenv_settings, init_settings, file_secret_settings)


def read_yaml_config(path: Path) -> dict[str, Any]:
    """Read a YAML config file; syntax errors become `file:line: reason`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not UTF-8 ({exc.reason})") from None
    try:
        data = YAML(typ="safe").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config file must be a mapping of keys")
    # The parser's garbage lies between the values it kept, and those values live as long as
    # the settings: copied after the original is gone, the memory goes back (a poller with
    # 10,000 feeds kept 29 MB otherwise).
    packed = pickle.dumps(data)
    del data
    return cast(dict[str, Any], pickle.loads(packed))  # our own bytes, just made


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build Settings from the YAML file (`path` or `MONITOR_CONFIG`), `.env` and environment.

    Relative paths inside the file are resolved against the file's folder.
    """
    file = Path(path) if path else _path_from_env()
    data: dict[str, Any] = {}
    if file is not None:
        data = read_yaml_config(file)
        data["config"] = file
        for key in ("rules", "data_dir", "archive_dir"):
            if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
                data[key] = str(file.parent / data[key])
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        tree = _line_tree(file) if file else None
        reasons = sorted((_reason(file, tree, dict(err)) for err in exc.errors()), key=_by_line)
        raise ConfigError("\n".join(text for _line, text in reasons)) from None


def _by_line(reason: tuple[int | None, str]) -> int:
    return reason[0] if reason[0] is not None else 1 << 30


def _reason(file: Path | None, tree: Any, err: dict[str, Any]) -> tuple[int | None, str]:
    """`file:line: key: reason` when the bad value is in the file, else the variable or file;
    with the line, so that the reasons can be listed in the file's order."""
    loc = list(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    variable = "MONITOR_" + "__".join(str(p) for p in loc).upper()
    line = _yaml_line(tree, loc, err.get("input"))
    if line is not None:
        where = f"{file}:{line}: "
    elif variable in os.environ:
        where = f"${variable}: "
    else:
        where = f"{file}: " if file else ""
    return line, f"{where}{key}: {err['msg']}"


def _line_tree(path: Path) -> Any:
    """The file again as a round-trip tree, which keeps lines; None if it cannot be read so."""
    try:
        return YAML(typ="rt", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError, ValueError, TypeError, RecursionError):
        return None


def _yaml_line(node: Any, loc: list[Any], value: Any) -> int | None:
    """The 1-based line of the deepest key of `loc` present in the file, or None when the file
    has the whole path but with another value (so the bad one came from the environment)."""
    line: int | None = None
    for key in loc:
        try:
            if isinstance(node, CommentedMap) and key in node:
                line, node = node.lc.key(key)[0] + 1, node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                line, node = node.lc.item(key)[0] + 1, node[key]
            else:
                return line
        except (KeyError, IndexError, TypeError, AttributeError):
            return line
    return line if _same(node, value) else None


def _same(node: Any, value: Any) -> bool:
    try:
        return bool(node == value) or str(node) == str(value)
    except Exception:  # an odd value's __eq__ must not hide the real error
        return False


def _path_from_env() -> Path | None:
    value = os.environ.get("MONITOR_CONFIG")
    return Path(value) if value else None
