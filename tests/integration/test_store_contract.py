"""The Store's promises, as a contract: every store implementation must pass this module
(parametrise `contract_store` over it), against a real redis-server. Today there is one
implementation, run under two prefixes (plain, and Cluster-style with a hash tag)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from monitor.models import AlertPayload
from monitor.state.alerts import DecideArgs
from monitor.state.store import Store, connect

NOW = 1_000_000.0
SINKS = ["chat", "mail"]


@pytest.fixture(params=["monitor", "{desk}"])
async def contract_store(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Store]:
    """One store implementation under test, on a flushed server."""
    store = Store(connect(redis_url), prefix=request.param, seen_ttl_s=100)
    yield store
    await store.aclose()


def _match(article: str, outlet: str, **changes: object) -> DecideArgs:
    """One article matching rule `r` (group `g`), decided at NOW."""
    values: dict[str, object] = {
        "rule": "r", "group": "g", "window_s": 3600.0, "new_alert_id": f"new-{article}",
        "article_id": article, "source": outlet, "story": f"story-{article}", "min_sources": 1,
        "payload": AlertPayload(headline=f"headline {article}", source=outlet), "now": NOW,
        "due": NOW, "due_digest": NOW,
    }  # fmt: skip
    values.update(changes)
    return DecideArgs(**values)  # type: ignore[arg-type]


async def _decide(store: Store, args: DecideArgs, digest: frozenset[str] = frozenset()) -> str:
    return (await store.alerts.decide(args, SINKS, digest)).action


# -- seen items and the archive index ------------------------------------------------------


async def test_entries_marked_seen_are_no_longer_unseen(contract_store: Store) -> None:
    """mark_seen then unseen: only the entries never marked come back."""
    await contract_store.mark_seen("feed", ["a"])

    assert await contract_store.unseen("feed", ["a", "b"]) == ["b"]


async def test_seen_entries_older_than_the_ttl_are_unseen_again(contract_store: Store) -> None:
    """A mark older than the seen TTL (100 s here) is pruned on the next mark."""
    await contract_store.mark_seen("feed", ["old"], now=1000.0)
    await contract_store.mark_seen("feed", ["new"], now=1200.0)

    assert await contract_store.unseen("feed", ["old", "new"]) == ["old"]


async def test_an_archive_claim_is_idempotent_and_can_be_released(contract_store: Store) -> None:
    """The second claim of a URL gets the first path; after release a new one is made."""
    name = lambda seq, h: f"{seq:03d}_{h}.txt"  # noqa: E731
    first = await contract_store.claim_archive_path("https://e.org/x", name)
    again = await contract_store.claim_archive_path("https://e.org/x", name)
    await contract_store.forget_archive_claim("https://e.org/x")

    assert (first[1], again) == (True, (first[0], False))
    assert await contract_store.archived_path("https://e.org/x") is None


# -- stories ---------------------------------------------------------------------------------


def _signature(*values: int) -> bytes:
    return b"".join(v.to_bytes(8, "big") for v in values)


async def test_a_near_copy_joins_the_earlier_story_and_a_replay_keeps_its_story(
    contract_store: Store,
) -> None:
    """3 of 4 hash values equal (0.75 >= 0.5) and a shared bucket: same story; disjoint: own."""
    state = contract_store.alerts
    first = await state.assign_story("a1", _signature(1, 2, 3, 4), ["x", "y"], 0.5, 60)
    copy = await state.assign_story("a2", _signature(1, 2, 3, 9), ["x", "z"], 0.5, 60)
    other = await state.assign_story("a3", _signature(5, 6, 7, 8), ["p", "q"], 0.5, 60)
    replay = await state.assign_story("a2", _signature(5, 6, 7, 8), ["p", "q"], 0.5, 60)

    assert (first, copy, other, replay) == ("a1", "a1", "a3", "a1")


# -- alert decisions -------------------------------------------------------------------------


async def test_an_alert_opens_then_counts_outlets_once_and_articles_once(
    contract_store: Store,
) -> None:
    """open, a new outlet's follow-up, the same outlet again (attached), the same article again."""
    actions = [
        await _decide(contract_store, _match("a1", "one.example")),
        await _decide(contract_store, _match("a2", "two.example")),
        await _decide(contract_store, _match("a3", "two.example")),
        await _decide(contract_store, _match("a2", "two.example")),
    ]
    alert = await contract_store.alerts.alert("new-a1")

    assert actions == ["open", "followup", "attached", "duplicate"]
    assert alert is not None
    assert (alert.status, alert.sources, alert.articles) == ("open", 2, 3)
    assert alert.outlet_names == ("one.example", "two.example")
    assert alert.payload.headline == "headline a1"


async def test_an_alert_is_held_until_enough_independent_reports(contract_store: Store) -> None:
    """min_sources 2: held on the first report, released (open) on the second outlet's."""
    held = await _decide(contract_store, _match("a1", "one.example", min_sources=2))
    depth_held = await contract_store.alerts.outbox_depth()
    released = await _decide(contract_store, _match("a2", "two.example", min_sources=2))

    assert (held, depth_held, released) == ("held", 0, "open")
    assert await contract_store.alerts.outbox_depth() == len(SINKS)


async def test_a_walk_back_disputes_the_open_alert_or_finds_none(contract_store: Store) -> None:
    """A correction with no alert is `no_parent`; with one it flags it and names who disputes."""
    lonely = await _decide(contract_store, _match("w0", "x.example", correction=True))
    await _decide(contract_store, _match("a1", "one.example"))
    walk_back = _match(
        "w1", "x.example", correction=True, payload=AlertPayload(disputer="The Ministry")
    )
    disputed = await _decide(contract_store, walk_back)
    alert = await contract_store.alerts.alert("new-a1")

    assert (lonely, disputed) == ("no_parent", "correction")
    assert alert is not None and alert.disputed and alert.disputed_by == ("The Ministry",)


async def test_after_the_window_a_report_is_old_news_within_the_horizon_else_a_new_alert(
    contract_store: Store,
) -> None:
    """Window 1 h: 2 h later with a 1-day horizon goes into the earlier alert; without, a new one."""
    await _decide(contract_store, _match("a1", "one.example", old_news_s=86400.0))
    later = NOW + 7200
    again = await contract_store.alerts.decide(
        _match("a2", "two.example", old_news_s=86400.0, now=later), SINKS, frozenset()
    )
    fresh = await contract_store.alerts.decide(
        _match("a3", "three.example", group="h", now=later + 7200), SINKS, frozenset()
    )

    assert (again.alert_id, again.action) == ("new-a1", "again")
    assert (fresh.alert_id, fresh.action) == ("new-a3", "open")


async def test_concurrent_matches_of_one_rule_and_group_open_exactly_one_alert(
    contract_store: Store,
) -> None:
    """Twelve outlets decided at once (as twelve workers would): one alert, one `open`."""
    decisions = await asyncio.gather(
        *(
            contract_store.alerts.decide(_match(f"a{n}", f"o{n}.example"), SINKS, frozenset())
            for n in range(12)
        )
    )

    assert len({d.alert_id for d in decisions}) == 1
    assert sorted(d.action for d in decisions) == ["followup"] * 11 + ["open"]


async def test_messages_to_digest_sinks_wait_for_the_period_and_are_gathered(
    contract_store: Store,
) -> None:
    """Only the digest sink's entry waits for `due_digest` and joins the digest index."""
    args = _match("a1", "one.example", due_digest=NOW + 600, digest_key="desk:1")
    await _decide(contract_store, args, frozenset({"mail"}))

    now_due = await contract_store.alerts.claim(10, 3600, now=NOW)
    later_due = await contract_store.alerts.claim(10, 3600, now=NOW + 600)
    [mail] = [await contract_store.alerts.entry(n) for n in later_due]

    assert now_due == ["new-a1|chat"]
    assert mail is not None and mail.sink == "mail" and mail.digest
    assert [e.entry for e in await contract_store.alerts.digest_entries(mail.digest)] == [
        "new-a1|mail"
    ]


async def test_a_revision_queues_one_correction_per_version_and_can_withdraw_an_outlet(
    contract_store: Store,
) -> None:
    """revised once per content; a withdrawal takes the outlet's only report off the count."""
    await _decide(contract_store, _match("a1", "one.example"))
    await _decide(contract_store, _match("a2", "two.example"))
    record = ("r", "c0ffee" * 8, "sentence", "headline")

    async def correct(withdrawn: bool) -> str:
        decision = await contract_store.alerts.correct(
            alert_id="new-a1", article_id="a2", record=record, payload=AlertPayload(),
            sinks=SINKS, withdrawn=withdrawn, notify=True, outlet="two.example", now=NOW,
        )  # fmt: skip
        return decision.action

    revised, duplicate = await correct(True), await correct(True)
    alert = await contract_store.alerts.alert("new-a1")

    assert (revised, duplicate) == ("revised", "duplicate")
    assert alert is not None and alert.corrected
    assert (alert.sources, alert.withdrawn_outlets) == (1, ("two.example",))
    assert (await contract_store.alerts.article_record("a2"))["r"].content == record[1]


# -- the outbox ------------------------------------------------------------------------------


async def test_a_standalone_message_is_queued_once_per_key(contract_store: Store) -> None:
    """enqueue twice with one key: one entry per sink."""
    for _ in range(2):
        await contract_store.alerts.enqueue("ops-1", "ops", AlertPayload(), SINKS, now=NOW)

    assert await contract_store.alerts.outbox_depth() == 2


async def test_a_claim_lasts_one_lease_and_a_second_claim_makes_the_entry_unsure(
    contract_store: Store,
) -> None:
    """Claimed entries are not claimed again within the lease; after it they come back."""
    await contract_store.alerts.enqueue("k", "ops", AlertPayload(), ["chat"], now=NOW)
    first = await contract_store.alerts.claim(10, 60, now=NOW)
    within = await contract_store.alerts.claim(10, 60, now=NOW + 30)
    after = await contract_store.alerts.claim(10, 60, now=NOW + 61)
    entry = await contract_store.alerts.entry("k|chat")

    assert (first, within, after) == (["k|chat"], [], ["k|chat"])
    assert entry is not None and entry.claims == 2 and entry.unsure


async def test_a_delivery_is_recorded_with_its_receipt_and_leaves_the_outbox(
    contract_store: Store,
) -> None:
    """delivered: receipt readable by message key and sink, status delivered, depth 0."""
    await contract_store.alerts.enqueue("k", "ops", AlertPayload(), ["chat"], now=NOW)
    entry = await contract_store.alerts.entry("k|chat")
    assert entry is not None
    await contract_store.alerts.delivered(entry, "ts-1", now=NOW)
    after = await contract_store.alerts.entry("k|chat")

    assert await contract_store.alerts.receipt("chat", "k") == "ts-1"
    assert after is not None and (after.status, after.ref) == ("delivered", "ts-1")
    assert await contract_store.alerts.outbox_depth() == 0


async def test_failures_are_counted_dead_letters_kept_and_revived_with_a_fresh_budget(
    contract_store: Store,
) -> None:
    """retry_later counts and reschedules; dead moves it aside; revive brings it back."""
    await contract_store.alerts.enqueue("k", "ops", AlertPayload(), ["chat"], now=NOW)
    entry = await contract_store.alerts.entry("k|chat")
    assert entry is not None
    await contract_store.alerts.retry_later(entry, NOW + 5, "HTTP 500", now=NOW)
    await contract_store.alerts.dead(entry, "gave up", now=NOW + 5)
    dead = await contract_store.alerts.dead_entries()
    revived = await contract_store.alerts.revive(now=NOW + 10)
    back = await contract_store.alerts.entry("k|chat")

    assert [(e.entry, e.status, e.attempts, e.error) for e in dead] == [
        ("k|chat", "dead", 2, "gave up")
    ]
    assert revived == ["k|chat"]
    assert back is not None and (back.status, back.attempts) == ("pending", 0)
    assert await contract_store.alerts.dead_entries() == []


async def test_a_sink_outage_is_noted_once_flagged_once_and_ended_once(
    contract_store: Store,
) -> None:
    """since = the first failure; a flag is won by one caller; sink_up answers one caller."""
    since = [await contract_store.alerts.sink_failed("chat", now=t) for t in (NOW, NOW + 9)]
    flags = [await contract_store.alerts.sink_flag("chat", "told") for _ in range(2)]
    down = await contract_store.alerts.sinks_down()
    ended = [await contract_store.alerts.sink_up("chat") for _ in range(2)]

    assert (since, flags, down) == ([NOW, NOW], [True, False], {"chat": NOW})
    assert ended == [(NOW, True), None]
    assert await contract_store.alerts.sinks_down() == {}


async def test_two_prefixes_on_one_server_do_not_see_each_other(redis_url: str) -> None:
    """Deployments sharing a server are kept apart by their prefix."""
    a, b = Store(connect(redis_url), prefix="a"), Store(connect(redis_url), prefix="b")
    try:
        await a.mark_seen("feed", ["x"])
        await a.alerts.enqueue("k", "ops", AlertPayload(), ["chat"], now=NOW)

        assert await b.unseen("feed", ["x"]) == ["x"]
        assert await b.alerts.outbox_depth() == 0
    finally:
        await a.aclose()
        await b.aclose()
