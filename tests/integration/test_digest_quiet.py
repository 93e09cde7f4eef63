"""Per-rule email digests and quiet hours, with the clock as a constructor seam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from monitor.alerts.engine import quiet_until
from monitor.config import load_settings
from monitor.rulebook import build_alerting
from monitor.rules.matcher import Matcher
from monitor.sinks.registry import build_sinks
from monitor.state.redis_server import free_port
from monitor.state.store import Store
from monitor.testing.slack_api import SlackAPI
from tests.support.articles import LEAD, REWRITES, article
from tests.support.mail import Mailbox
from tests.support.packs import pack_with_dedup

ROOT = Path(__file__).resolve().parents[2]


def _matcher(tmp_path: Path, dedup: str) -> Matcher:
    return pack_with_dedup(tmp_path, "us-china-joint-statement", dedup)


async def _run(
    store: Store,
    redis_url: str,
    tmp_path: Path,
    matcher: Matcher,
    clock: list[float],
    settings_extra: dict[str, Any],
    steps: list[float],
) -> list[int]:
    settings = load_settings(None, redis_url=redis_url, data_dir=str(tmp_path / "data"), rules=str(ROOT / "rules"),
                             alerts={"console": False, "retry_base": 0.05}, **settings_extra)  # fmt: skip
    engine, deliverer = build_alerting(
        settings, store, matcher, build_sinks(settings), clock=lambda: clock[0]
    )
    for n, text in enumerate([LEAD, REWRITES[0], REWRITES[1]]):
        await engine.process(article(n, f"o{n}.example", "Joint statement issued", [text]))
    sent = []
    for advance in steps:
        clock[0] += advance
        await deliverer.drain(5)
        sent.append(await store.alerts.outbox_depth())
    return sent


async def test_digest_sends_one_email_per_period_and_slack_at_once(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """With digest: 1h, the alert and two follow-ups go to Slack at once and by email as one digest at the hour."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    clock = [1_800_000_000.0 + 600]  # 10 minutes into an hour
    try:
        with SlackAPI() as slack:
            extra = {"email": {"smtp_host": "127.0.0.1", "smtp_port": port, "sender": "m@desk.example", "recipients": ["a@desk.example"], "starttls": False},
                     "slack": {"token": "xoxb-t", "channel": "#alerts", "api_url": slack.url}}  # fmt: skip
            depth = await _run(
                store,
                redis_url,
                tmp_path,
                _matcher(tmp_path, "{realert: 24h, digest: 1h}"),
                clock,
                extra,
                [0, 3000 + 1],
            )
            slack_count = len(slack.posted())
    finally:
        controller.stop()

    assert slack_count == 3
    assert depth == [3, 0]  # after the hour, the three email messages went out together
    [digest] = box.messages
    assert digest["Subject"] == "[Digest] US and China issue a joint statement: 3 update(s)"
    body = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert body.count("\n- ") == 3 and "Also reported" in body


async def test_quiet_hours_hold_every_message_until_the_window_ends(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """At 23:00 UTC with quiet hours 22:00-07:00, nothing goes until 07:00."""
    clock = [1_800_000_000.0 - 1_800_000_000.0 % 86400 + 23 * 3600]
    with SlackAPI() as slack:
        extra = {"slack": {"token": "xoxb-t", "channel": "#alerts", "api_url": slack.url}}
        matcher = _matcher(tmp_path, "{realert: 24h, quiet_hours: '22:00-07:00'}")
        depth = await _run(
            store, redis_url, tmp_path, matcher, clock, extra, [0, 8 * 3600 + 60]
        )  # 23:00 -> 07:01
        assert depth == [3, 0]
        assert len(slack.posted()) == 3


async def test_quiet_until_handles_windows_across_midnight() -> None:
    """Inside 22:00-07:00 at 23:00 -> 07:00 next day; at 08:00 -> now; same-day windows too."""
    day = 1_800_000_000.0 - 1_800_000_000.0 % 86400
    assert quiet_until(day + 23 * 3600, (22 * 60, 7 * 60)) == day + 86400 + 7 * 3600
    assert quiet_until(day + 3 * 3600, (22 * 60, 7 * 60)) == day + 7 * 3600
    assert quiet_until(day + 8 * 3600, (22 * 60, 7 * 60)) == day + 8 * 3600
    assert quiet_until(day + 13 * 3600, (12 * 60, 14 * 60)) == day + 14 * 3600
