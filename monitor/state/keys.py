"""Every Redis key the project uses, with its lifetime. No key string exists elsewhere."""

from __future__ import annotations

import hashlib


def short_hash(value: str) -> str:
    """First 16 hex digits of sha256: the id used in keys and archive file names."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


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
