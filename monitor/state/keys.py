"""Every Redis key the project uses, with its lifetime. No key string exists elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.models import short_hash

__all__ = ["AlertKeys", "Keys", "short_hash"]  # short_hash lives in models; re-exported for
# branches that still import it from here


@dataclass(frozen=True)
class AlertKeys:
    """The keys of one alert, passed to the Lua scripts in `KEYS` in `as_list` order."""

    hash: str  # rule, group, opened, window_end, status, payload, min_sources, flags
    articles: str  # set: every article on the alert
    sources: str  # set: outlets with a standing report
    stories: str  # set: stories of its articles (a story of copies counts once)
    by_outlet: str  # set: this outlet's articles on the alert
    story_first: str  # hash: story -> the first outlet that reported it
    outlets: str  # list: outlets in arrival order
    copies: str  # set: outlets that ran a copy of another's report
    disputers: str  # set: who walks the development back
    withdrawn: str  # set: articles corrected away
    withdrawn_outlets: str  # set: outlets whose only report was corrected away

    def as_list(self) -> list[str]:
        """The keys in the order the scripts read them."""
        return list(self.__dict__.values())


class Keys:
    """Key builder for one prefix (so several deployments can share a server)."""

    def __init__(self, prefix: str = "monitor") -> None:
        self.prefix = prefix

    def feed(self, feed_key: str) -> str:
        """Hash: validators, error state, next attempt of one feed. Lives as long as the feed."""
        return f"{self.prefix}:feed:{short_hash(feed_key)}"

    def feeds_index(self) -> str:
        """Set of feed hash keys ever polled, for `status`. Permanent."""
        return f"{self.prefix}:feeds"

    def seen(self, feed_key: str) -> str:
        """Sorted set: entry id hash -> last seen (epoch s). Members older than the
        seen TTL are pruned on each poll; the key itself expires after the TTL when idle."""
        return f"{self.prefix}:seen:{short_hash(feed_key)}"

    def archived(self) -> str:
        """Hash: canonical-URL hash -> archive path relative to the archive dir. Permanent:
        it is what makes archiving idempotent across restarts and feeds."""
        return f"{self.prefix}:archived"

    def archive_seq(self) -> str:
        """Counter for the NNN part of archive file names. Permanent."""
        return f"{self.prefix}:archive:seq"

    # -- stories (near-duplicate clustering) -------------------------------------------------

    def content(self) -> str:
        """Hash: sha256(source + text) -> article id. Exact re-publications. Permanent."""
        return f"{self.prefix}:content"

    def lsh_bucket(self, band: int, bucket: str) -> str:
        """Set: article ids whose MinHash band `band` hashes to `bucket`. Expires with the
        story TTL (refreshed on each add)."""
        return f"{self.prefix}:lsh:{band}:{bucket}"

    def signatures(self) -> str:
        """Hash: article id -> MinHash signature bytes, and `<id>` + `STORY_FIELD` -> story id."""
        return f"{self.prefix}:sig"

    STORY_FIELD = ":story"  # in `signatures`, after an article id: the field of its story

    # -- alerts ---------------------------------------------------------------------------------

    def open_alert(self, rule: str, group: str) -> str:
        """String: the open alert id of (rule, group); expires when the realert window ends."""
        return f"{self.prefix}:open:{rule}:{short_hash(group)}"

    def last_alert(self, rule: str, group: str) -> str:
        """String: the latest alert id of (rule, group); outlives the realert window by the
        old-news horizon, so a late re-report finds the thread it belongs in."""
        return f"{self.prefix}:last:{rule}:{short_hash(group)}"

    def alert(self, alert_id: str) -> str:
        """Hash: one alert (rule, group, opened, status, first payload). Permanent (history),
        like the sets and lists beside it (`alert_keys`)."""
        return f"{self.prefix}:alert:{alert_id}"

    def alert_keys(self, alert_id: str, outlet: str = "") -> AlertKeys:
        """Every key of one alert (`outlet`: whose `by_outlet` set). All permanent."""
        base = self.alert(alert_id)
        return AlertKeys(
            hash=base, articles=f"{base}:articles", sources=f"{base}:sources",
            stories=f"{base}:stories", by_outlet=f"{base}:by:{outlet}",
            story_first=f"{base}:story_first", outlets=f"{base}:outlets",
            copies=f"{base}:copies", disputers=f"{base}:disputers",
            withdrawn=f"{base}:withdrawn", withdrawn_outlets=f"{base}:withdrawn_outlets",
        )  # fmt: skip

    @staticmethod
    def message_key(alert_id: str, kind: str, article: str = "", version: str = "") -> str:
        """The idempotency key of a message about an alert (the same in every sink): the
        alert itself, or one article's follow-up (`f`), walk-back (`c`), old-news report
        (`a`) or revision (`r`, per `version` of its text)."""
        if kind == "alert":
            return alert_id
        code = {"followup": "f", "correction": "c", "again": "a", "revision": "r"}[kind]
        key = f"{alert_id}:{code}:{article}"
        return f"{key}:{version}" if kind == "revision" else key

    def alerts_index(self) -> str:
        """Sorted set: alert id -> opened (epoch s), for `alerts list`. Permanent."""
        return f"{self.prefix}:alerts"

    def article_record(self, article_id: str) -> str:
        """Hash: per matched rule, the alert an article joined and what it said then
        (`<rule>`, `<rule>:content`, `<rule>:evidence`, `<rule>:headline`), so a revision of
        the article can be compared. Permanent, like the alert."""
        return f"{self.prefix}:article:{article_id}"

    @staticmethod
    def record_field(rule: str, what: str) -> str:
        """The `article_record` field of what the article said (`content`, `evidence`,
        `headline`) when it joined `rule`'s alert; the field `<rule>` holds the alert id."""
        return f"{rule}:{what}"

    @staticmethod
    def is_record_detail(field: str) -> bool:
        """Whether an `article_record` field is a `record_field` (not a rule's alert id)."""
        return ":" in field

    def story_alerts(self, story: str) -> str:
        """Set: alerts a story's articles joined (a corrected re-issue finds its alert).
        Permanent."""
        return f"{self.prefix}:story:{story}:alerts"

    def item_versions(self, feed_key: str) -> str:
        """Hash: feed entry id hash -> fingerprint of its title and summary, to notice an item
        updated in place. Expires with the seen TTL, refreshed on each changed poll."""
        return f"{self.prefix}:versions:{short_hash(feed_key)}"

    def outbox(self, entry: str) -> str:
        """Hash: one message for one sink (payload, kind, attempts, claims, status, receipt).
        Kept after delivery: it is the idempotency record."""
        return f"{self.prefix}:outbox:{entry}"

    def outbox_due(self) -> str:
        """Sorted set: outbox entry -> when it may next be attempted (a claim pushes it one
        lease ahead, so a crashed sender's entries come back)."""
        return f"{self.prefix}:outbox:due"

    def outbox_dead(self) -> str:
        """Sorted set: entries that exhausted their retry budget -> when. Until `alerts retry`."""
        return f"{self.prefix}:outbox:dead"

    def sinks_down(self) -> str:
        """Hash: sink -> since when it fails (epoch s), and its once-per-outage flags
        (`sink_flag`) -> 1. Fields are deleted when the sink delivers again."""
        return f"{self.prefix}:sinks:down"

    @staticmethod
    def sink_flag(sink: str, flag: str) -> str:
        """The `sinks_down` field of a once-per-outage flag (`told`, `probed`) of a sink."""
        return f"{sink}:{flag}"

    @staticmethod
    def is_sink_flag(field: str) -> bool:
        """Whether a `sinks_down` field is a flag (not a sink's since-when)."""
        return ":" in field

    def receipt(self, sink: str, message_key: str) -> str:
        """String: the sink's reference (Slack ts, Message-ID) of a delivered message. Permanent."""
        return f"{self.prefix}:receipt:{sink}:{message_key}"

    # -- scale-out --------------------------------------------------------------------------------

    def items_stream(self) -> str:
        """Stream: new feed items from pollers to workers (capped with MAXLEN ~)."""
        return f"{self.prefix}:items"

    def feeds_due(self) -> str:
        """Sorted set: feed key -> when it is next due (epoch s), shared by every poller; a
        claim pushes a feed one lease ahead (`lua/claim_feeds.lua`), the poll's outcome sets
        its next attempt. Permanent (a feed no poller polls any more costs one claim a lease)."""
        return f"{self.prefix}:feeds:due"

    def item_failures(self) -> str:
        """Hash: stream item id -> times its processing failed (poison detection). Entries are
        deleted when the item is acknowledged."""
        return f"{self.prefix}:items:failures"

    def dead_items(self) -> str:
        """List: stream items given up after repeated failures (JSON), for inspection."""
        return f"{self.prefix}:items:dead"

    def digest(self, digest_key: str) -> str:
        """Set: outbox entries (email) that go out together as one digest. Left after sending
        (the entries record their own delivery)."""
        return f"{self.prefix}:digest:{digest_key}"

    def entry_failures(self) -> str:
        """Hash: short hash of a feed entry id -> JSON {count, retry_at, error} while its
        processing keeps failing (the all-in-one role); deleted on success or set-aside."""
        return f"{self.prefix}:items:entry-failures"
