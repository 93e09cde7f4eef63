"""The SSRF guard: which addresses a fetch may connect to, judged as the transport resolves
the name (so the addresses checked are the addresses used)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from monitor.errors import BlockedURLError
from monitor.redact import redact_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host with the system resolver, off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class SSRFGuard:
    """Refuses non-public addresses unless allowed in config, at the moment of connecting.

    Names are resolved once, by `resolve`, from inside the HTTP transport: the addresses it
    checked are the addresses the connection uses, so a DNS answer that changes between a
    check and a connect (rebinding) cannot reach an internal service. TLS still verifies and
    sends SNI for the name. IPv6 forms that carry an IPv4 address (mapped, IPv4-compatible,
    NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address; Teredo is refused.
    """

    def __init__(self, allowed: list[str], resolver: Resolver = system_resolver) -> None:
        self.hosts = {a.lower() for a in allowed if "/" not in a}
        self.networks = [ipaddress.ip_network(a, strict=False) for a in allowed if "/" in a]
        self.resolver = resolver

    def allows(self, ip: IPAddress) -> bool:
        """Whether a connection to this address is permitted."""
        if str(ip) in self.hosts or any(ip in n for n in self.networks):
            return True
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.teredo:
                return False
            inner = embedded_ipv4(ip)
            if inner is not None:
                return self.allows(inner)
        return ip.is_global

    def preflight(self, url: str) -> None:
        """What can be refused before any lookup: the scheme, a missing host, an IP literal."""
        parts = urlsplit(url)
        shown = redact_url(url)
        if parts.scheme not in ("http", "https"):
            raise BlockedURLError(f"refused {shown}: scheme {parts.scheme!r} is not http(s)")
        host = (parts.hostname or "").lower()
        if not host:
            raise BlockedURLError(f"refused {shown}: no host")
        if host in self.hosts:
            return
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return  # a name: checked when the transport resolves it
        if not self.allows(ip):
            raise BlockedURLError(
                f"refused {shown}: {ip} is not a public address "
                "(add it to allow_private_hosts to permit)"
            )

    async def check(self, url: str) -> None:
        """`preflight`, then resolve the host and check every address (for callers that do
        not connect through `Fetcher`; the fetcher checks at connect time instead)."""
        self.preflight(url)
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        await self.resolve(host, parts.port or (443 if parts.scheme == "https" else 80))

    async def resolve(self, host: str, port: int) -> list[str]:
        """Resolve `host` once and return the addresses a connection may use (the allowed ones)."""
        host = host.lower().strip("[]")
        try:
            literal = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            literal = None
        if literal is not None:
            if host not in self.hosts and not self.allows(literal):
                raise BlockedURLError(f"refused {host}: not a public address")
            return [host]
        resolved = await self.resolver(host, port)  # OSError: reported as a DNS failure
        if not resolved:
            raise socket.gaierror(socket.EAI_NONAME, "no addresses")
        if host in self.hosts:
            return list(dict.fromkeys(resolved))
        usable = [a for a in resolved if self.allows(ipaddress.ip_address(a.split("%")[0]))]
        if not usable:  # connecting only to the checked addresses makes a mixed answer safe
            raise BlockedURLError(
                f"refused {host}: it resolves to non-public address {resolved[0]} "
                "(add it to allow_private_hosts to permit)"
            )
        return list(dict.fromkeys(usable))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that embed one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if int(ip) >> 32 == 0 and int(ip) > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(int(ip))
    return None
