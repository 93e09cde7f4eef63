"""URL canonicalisation: the identity of an article across feeds and tracking links."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs", "oly_")
_TRACKING_KEYS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "ocid", "cmpid", "cmp", "ncid", "sr_share", "spm", "share", "smid", "rss",
        "ref", "ref_src", "ref_url", "src", "guccounter", "at_medium", "at_campaign",
        "__twitter_impression", "mkt_tok", "s_cid", "cid", "feature",
    }
)  # fmt: skip


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _TRACKING_KEYS and not k.lower().startswith(_TRACKING_PREFIXES)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))


def domain_of(url: str) -> str:
    """The host without a leading `www.`: what counts as one outlet."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
