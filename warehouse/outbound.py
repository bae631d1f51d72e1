"""Outbound requests that a caller aims (webhook and alert URLs, blob URLs) go through one guard.

A URL is allowed when it is ``http``/``https`` and every address its host resolves to is public: not loopback,
link-local (cloud metadata at 169.254.169.254 among them), private, shared, multicast, reserved or
unspecified. An operator opens the wall on purpose, for hosts they name (``WAREHOUSE_OUTBOUND_ALLOWED_HOSTS``,
e.g. a webhook receiver on the LAN) or for every private address (``WAREHOUSE_OUTBOUND_ALLOW_PRIVATE``).
Redirects are not followed by the callers, so a public URL cannot bounce a request inward. Endpoints the
operator configures (the LLM endpoint, the S3 endpoint, the index owner) are not caller-aimed and not guarded.

Known limit: the host is resolved for the check and again by the HTTP client, so a DNS answer that changes
between the two (rebinding) is not caught; pinning the connection to the checked address would be.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from warehouse.settings import Settings


class OutboundRefused(ValueError):
    """The destination is not one the warehouse sends requests to; the message says why and what opens it."""


class Unresolvable(OutboundRefused):
    """The host does not resolve (now): nothing can be sent, but nothing inward is aimed at either."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    #: the most bytes the warehouse fetches from one URL (a mirrored blob): the upload size limit
    max_bytes: int = 5 * 1024**3

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        hosts = frozenset(h.strip().lower() for h in settings.outbound_allowed_hosts.split(",") if h.strip())
        return cls(settings.outbound_allow_private, hosts, settings.max_upload_bytes)


def _blocked(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name in ("is_loopback", "is_link_local", "is_private", "is_multicast", "is_reserved", "is_unspecified"):
        if getattr(ip, name):
            return name.removeprefix("is_").replace("_", "-")
    if not ip.is_global:
        return "not public"
    return None


def check_url(url: str, policy: OutboundPolicy) -> str:
    """``url`` if the policy lets the warehouse send to it; :class:`OutboundRefused` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"{url!r}: only http(s) URLs with a host are fetched")
    host = parts.hostname.lower()
    if policy.allow_private or host in policy.allowed_hosts:
        return url
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"{url!r}: host {host!r} does not resolve ({exc})") from None
    for info in infos:
        reason = _blocked(info[4][0])
        if reason is not None:
            raise OutboundRefused(
                f"{url!r}: {host!r} resolves to {info[4][0]} ({reason}); the warehouse sends requests only to "
                "public addresses — an operator can allow this host with WAREHOUSE_OUTBOUND_ALLOWED_HOSTS")
    return url


def resolve_checked(host: str, port: int, policy: OutboundPolicy) -> str:
    """The address to connect to for ``host:port``, checked by ``policy`` — the caller connects to this address
    itself (pinned), so a DNS answer that changes after the check cannot aim the connection inward."""
    host = host.lower().strip("[]")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"{host!r} does not resolve ({exc})") from None
    if policy.allow_private or host in policy.allowed_hosts:
        return infos[0][4][0]
    for info in infos:
        reason = _blocked(info[4][0])
        if reason is not None:
            raise OutboundRefused(f"{host!r} resolves to {info[4][0]} ({reason}); only public addresses are reached — "
                                  "an operator can allow this host with WAREHOUSE_OUTBOUND_ALLOWED_HOSTS")
    return infos[0][4][0]
