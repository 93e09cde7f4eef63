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
    """Lower-case scheme and host, drop credentials, default ports, fragments and tracking
    parameters, and sort the rest (`?b=2&a=1` and `?a=1&b=2` are one article).

    A URL too broken to split (a port of 99999, an unclosed IPv6 bracket) is returned as
    written: it stays an identity, and fetching it fails with a reason later.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _TRACKING_KEYS and not k.lower().startswith(_TRACKING_PREFIXES)
    )
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))


def domain_of(url: str) -> str:
    """The host without a leading `www.`: what counts as one outlet."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.")
