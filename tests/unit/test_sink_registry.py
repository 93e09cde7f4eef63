"""The sink registry: sinks chosen by a `type` key, several of a kind, the shorthands."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Settings, load_settings
from monitor.errors import ConfigError
from monitor.sinks.email import EmailSink
from monitor.sinks.jsonl import JsonlSink
from monitor.sinks.registry import build_sinks, digest_sinks
from monitor.sinks.slack import SlackSink, SlackWebhookSink

TWO_SLACKS = """
alerts: {console: false}
sinks:
  - {type: slack, name: desk, token: xoxb-a, channel: "#desk", api_url: "http://127.0.0.1:9/api/"}
  - {type: slack, name: ops, webhook_url: "http://127.0.0.1:9/hook"}
  - {type: email, name: editors, smtp_host: 127.0.0.1, sender: m@desk.example,
     recipients: [e@desk.example]}
  - {type: email, name: legal, smtp_host: 127.0.0.1, sender: m@desk.example,
     recipients: [l@desk.example]}
"""


def _settings(tmp_path: Path, text: str) -> Settings:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    return load_settings(cfg)


def test_several_slack_and_email_sinks_are_built_by_type_under_their_names(
    tmp_path: Path,
) -> None:
    """Each entry of `sinks:` becomes one sink, named as configured, of the class its type names."""
    sinks = build_sinks(_settings(tmp_path, TWO_SLACKS))

    assert {n: type(s) for n, s in sinks.items()} == {
        "desk": SlackSink,
        "ops": SlackWebhookSink,
        "editors": EmailSink,
        "legal": EmailSink,
    }
    assert [s.name for s in sinks.values()] == ["desk", "ops", "editors", "legal"]
    assert digest_sinks(sinks) == frozenset({"editors", "legal"})


def test_the_shorthands_still_make_one_slack_and_one_email_sink(tmp_path: Path) -> None:
    """`slack:` and `email:` (today's keys) are sinks named "slack" and "email", plus the console."""
    text = (
        "slack: {token: xoxb-a, channel: '#a'}\n"
        "email: {smtp_host: 127.0.0.1, sender: m@x.example, recipients: [a@x.example]}\n"
    )
    sinks = build_sinks(_settings(tmp_path, text))

    assert {n: type(s) for n, s in sinks.items()} == {
        "slack": SlackSink,
        "email": EmailSink,
        "jsonl": JsonlSink,
    }


def test_with_nothing_configured_the_console_sink_writes_into_the_data_folder(
    tmp_path: Path,
) -> None:
    """The embedded default: alerts.jsonl in data_dir."""
    sinks = build_sinks(_settings(tmp_path, "data_dir: d\nalerts: {console: false}\n"))

    [(name, sink)] = sinks.items()
    assert (name, type(sink)) == ("jsonl", JsonlSink)
    assert isinstance(sink, JsonlSink) and sink.path == tmp_path / "d" / "alerts.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "slack: {token: xoxb-a}\nsinks:\n  - {type: slack, token: xoxb-b}\n",
            "more than one sink named 'slack'",
        ),
        (
            "sinks:\n  - {name: x, token: xoxb-b}\n",
            "sinks.0: Unable to extract tag using discriminator 'type'",
        ),
        (
            "sinks:\n  - {type: pager}\n",
            "does not match any of the expected tags: 'slack', 'email', 'jsonl'",
        ),
        ("sinks:\n  - {type: slack, channel: '#a'}\n", "a Slack sink needs a token"),
        (
            "sinks:\n  - {type: email, sender: m@x.example}\n",
            "sinks.0.email.smtp_host: Field required",
        ),
        (
            "sinks:\n  - {type: jsonl, name: 'a|b'}\n",
            "sinks.0.jsonl.name: String should match pattern",
        ),
    ],
)
def test_a_bad_sink_entry_is_a_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    """Each mistake in `sinks:` names the entry and what is wrong."""
    with pytest.raises(ConfigError) as err:
        _settings(tmp_path, text)

    assert expected in str(err.value)
