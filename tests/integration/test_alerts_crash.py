"""Exactly-once under SIGKILL: real `monitor replay` processes, a real Redis, the local Slack API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.extract.seed_format import read_article, write_article
from monitor.rules.load import load_matcher
from monitor.testing.slack_api import SlackAPI
from tests.support.articles import LEAD, article, six_outlets

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, redis_url: str, slack: SlackAPI) -> Path:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"redis_url: {redis_url}\ndata_dir: {tmp_path / 'data'}\nrules: {ROOT / 'rules'}\nlog_format: json\n"
        f"slack: {{token: xoxb-test, channel: '#alerts', api_url: '{slack.url}'}}\n"
        "alerts: {retry_base: 0.05, retry_max: 0.3, lease_s: 1.0, console: false}\n"
    )
    return cfg


def _rules_of(path: Path) -> list[str]:
    """The rules of the real pack an archived article matches."""
    return [m.rule for m in load_matcher(ROOT / "rules").match_article(read_article(path)).rules]


def _monitor(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize(
    "accepted", [False, True], ids=["killed-before-slack-accepted", "killed-after-slack-accepted"]
)
def test_sigkill_mid_send_then_restart_gives_exactly_one_of_each(
    redis_url: str, tmp_path: Path, accepted: bool
) -> None:
    """Kill -9 while the first post is in flight; the restarted process delivers the rest once."""
    folder = tmp_path / "in"
    folder.mkdir()
    six_outlets(folder)
    with SlackAPI() as slack:
        slack.fail(1, status=200, hang_s=60.0, record_first=accepted)
        cfg = _config(tmp_path, redis_url, slack)

        first = _monitor("replay", "--config", str(cfg), str(folder))
        _wait_for(lambda: slack.calls("chat.postMessage"))
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert len(slack.posted()) == (1 if accepted else 0)

        time.sleep(1.2)  # the dead sender's lease runs out
        second = _monitor("replay", "--config", str(cfg), str(folder))
        _out, err = second.communicate(timeout=120)

        assert second.returncode == 0, err
        rule = "us-china-joint-statement"
        matching = [f for f in folder.glob("*.txt") if rule in _rules_of(f)]
        [top] = [m for m in slack.posted() if "US and China issue a joint statement:" in m["text"]]
        replies = [m for m in slack.posted() if m.get("thread_ts") == top["ts"]]
        keys = [m["metadata"]["event_payload"]["idempotency_key"] for m in slack.posted()]
        assert len(matching) >= 5 and len(replies) == len(matching) - 1
        assert len(keys) == len(set(keys))
        if accepted:
            assert slack.calls("conversations.history"), "the re-send was reconciled first"


def test_alerts_commands_list_show_dead_retry(redis_url: str, tmp_path: Path) -> None:
    """`alerts list/show` see the alert; `dead` lists a dead-lettered message; `retry` says
    honestly that it went dead again while the bot is still out of the channel, then that it
    was delivered once the bot is invited."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_article(
        folder / "000_0.txt", article(0, "wire.example", "Joint statement issued", [LEAD])
    )
    with SlackAPI() as slack:
        slack.add_channel("us-china-ai", member=False)  # the bot was never invited
        cfg = _config(tmp_path, redis_url, slack)
        subprocess.run(
            [sys.executable, "-m", "monitor", "replay", "--config", str(cfg), str(folder)],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=True,
        )

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "monitor", "alerts", "--config", str(cfg), *args],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )

        listed = run("list")
        [alert] = [json.loads(line) for line in run("list", "--json").stdout.splitlines()]
        dead = run("dead")
        failed_retry = run("retry")
        slack.add_channel("us-china-ai", member=True)  # someone invites the bot
        retried = run("retry")
        after = run("dead")
        shown = run("show", alert["id"])

    assert "us-china-joint-statement" in listed.stdout
    assert "not_in_channel" in dead.stdout and "1 dead message(s)" in dead.stderr
    assert failed_retry.returncode == 1
    assert "revived 1 message(s): 0 delivered, 1 dead again, 0 still queued" in failed_retry.stdout
    assert "not_in_channel" in failed_retry.stderr
    assert retried.returncode == 0
    assert "revived 1 message(s): 1 delivered, 0 dead again, 0 still queued" in retried.stdout
    assert "0 dead message(s)" in after.stderr
    assert json.loads(shown.stdout)["rule"] == "us-china-joint-statement"
    assert len(slack.posted()) == 1
