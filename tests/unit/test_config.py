"""Config loading: YAML file, env overrides, and clear errors with key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError


def test_env_overrides_file_and_secrets_stay_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MONITOR_SLACK__TOKEN beats the file, and the token never shows in repr."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "slack:\n  token: xoxb-file\n  channel: '#a'\nfeeds:\n  - url: https://e.org/rss\n    interval: 60\n"
    )
    monkeypatch.setenv("MONITOR_SLACK__TOKEN", "xoxb-env")

    settings = load_settings(cfg)

    assert settings.slack.token is not None
    assert settings.slack.token.get_secret_value() == "xoxb-env"
    assert settings.slack.channel == "#a"
    assert "xoxb" not in repr(settings)
    assert settings.feeds[0].interval == 60


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    """`rules: rules/` in /x/c.yaml means /x/rules."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("rules: myrules\narchive_dir: arch\n")

    settings = load_settings(cfg)

    assert settings.rules == tmp_path / "myrules"
    assert settings.archive_path == tmp_path / "arch"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "feeds:\n  - url: https://e.org\n    interval: 1\n",
            "feeds.0.interval: Input should be greater than or equal to 5",
        ),
        (
            "feeds:\n  - url: ftp://e.org\n",
            "feeds.0.url: Value error, must be an http:// or https:// URL",
        ),
        ("slack:\n  tokn: x\n", "slack.tokn: Extra inputs are not permitted"),
        ("bogus: 1\n", "bogus: Extra inputs are not permitted"),
        (
            "allow_private_hosts: ['10.0.0.0/33']\n",
            "allow_private_hosts: Value error, '10.0.0.0/33' is not a valid CIDR",
        ),
        ("feeds: [\n  {url: x\n", "c.yaml:3: invalid YAML"),
        ("- just\n- a list\n", "c.yaml:1: the config file must be a mapping"),
    ],
)
def test_bad_config_names_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    """Each kind of bad config fails at load with the key (or file:line) and the reason."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)

    with pytest.raises(ConfigError) as info:
        load_settings(cfg)

    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "data_dir: d\nfeeds:\n  - url: https://e.org\n    interval: 1\n",
            ["c.yaml:4: feeds.0.interval: Input should be greater than or equal to 5"],
        ),
        ("feeds:\n  - name: x\n", ["c.yaml:2: feeds.0.url: Field required"]),
        (
            "http:\n  connect_timeout: 5\n  shards: 0\nslack:\n  tokn: x\n",
            [
                "c.yaml:3: http.shards: Input should be greater than or equal to 1",
                "c.yaml:5: slack.tokn: Extra inputs are not permitted",
            ],
        ),
    ],
)
def test_bad_config_reports_the_line_of_each_problem(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    """Every invalid key is reported, each as file:line: key: reason, one per line."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)

    with pytest.raises(ConfigError) as info:
        load_settings(cfg)

    assert str(info.value).splitlines() == [f"{tmp_path}/{line}" for line in expected]


def test_a_bad_value_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's line is not blamed for a value the environment set."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("http:\n  shards: 2\n")
    monkeypatch.setenv("MONITOR_HTTP__SHARDS", "0")

    with pytest.raises(ConfigError) as info:
        load_settings(cfg)

    assert str(info.value) == (
        "$MONITOR_HTTP__SHARDS: http.shards: Input should be greater than or equal to 1"
    )


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    """A config path that does not exist says so."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml")
