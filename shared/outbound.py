"""Requests Usher makes on a user's behalf never reach the operator's own network (SPEC §8).

Every such request (webhook deliveries, the MailChimp and Mixpanel pulls, anything later) goes
through :func:`client`: an ``httpx.AsyncClient`` whose transport resolves the host, refuses the
request unless *every* address it resolves to is public, and then connects to the address it
checked — not to a second resolution of the name, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot slip through. Redirects are never followed (a 3xx is an
answer like any other), so a public URL cannot send the request on to a private one.

Refused: loopback, private, shared (CGNAT), link-local, unique-local, multicast, unspecified,
reserved and documentation ranges — everything ``ipaddress`` does not call global — and IPv6
forms that carry an IPv4 address (IPv4-mapped, 6to4, NAT64, Teredo), in any spelling the
system resolver accepts (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``[::1]``,
``[::ffff:127.0.0.1]``). ``USHER_ALLOWED_PRIVATE_HOSTS`` (IPs or CIDRs) names the exceptions an
operator allows, such as a local test double.

A refusal raises :class:`Refused`, whose message says that the address is not allowed and
nothing about what is there: it never echoes a peer's answer, so it cannot be used to map the
operator's network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpx

from shared.errors import Refused, Unresolved
from shared.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

RESOLVE_TIMEOUT_S = 5.0
MAX_URL = 2000
NOT_ALLOWED = (
    "the address is not allowed: Usher does not send requests to loopback, private, link-local"
    " or other non-public addresses"
)
# IPv6 ranges that embed an IPv4 address (and so could reach an IPv4 one that is private).
_EMBEDS_IPV4 = tuple(
    ipaddress.ip_network(n)
    for n in ("::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")
)


def parse_networks(raw: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """``USHER_ALLOWED_PRIVATE_HOSTS``: comma-separated IPs or CIDRs (ValueError for a bad one)."""
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def is_public(address: IPAddress) -> bool:
    """Whether Usher may connect to ``address`` without an operator's exception."""
    if address.is_multicast or not address.is_global:
        return False
    return not (
        isinstance(address, ipaddress.IPv6Address)
        and any(address in network for network in _EMBEDS_IPV4)
    )


def parse_url(raw: str, what: str, *, credentials: bool = True) -> httpx.URL:
    """An absolute http(s) URL with a host and a valid port; Refused (saying what to fix)
    otherwise. ``credentials`` False also refuses ``user:password@`` in it."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise Refused(f"{what} is empty: give an http(s) URL")
    if len(text) > MAX_URL:
        raise Refused(f"{what} is {len(text)} characters long: at most {MAX_URL} are allowed")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise Refused(f"{what} contains spaces or control characters")
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as exc:
        raise Refused(f"{what} is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise Refused(f"{what} must start with http:// or https://")
    if not url.host:
        raise Refused(f"{what} has no host name")
    if "%" in url.host:
        raise Refused(f"{what} has a host name with '%' in it: write the host plainly")
    if url.port is not None and not 1 <= url.port <= 65535:
        raise Refused(f"{what} has port {url.port}: a port is between 1 and 65535")
    if not credentials and url.userinfo:
        raise Refused(f"{what} must not contain a user name or password")
    return url


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves ``host`` to (numeric spellings included)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class Policy:
    """Which addresses requests on a user's behalf may reach, and how names are resolved."""

    def __init__(
        self, allowed: Sequence[IPNetwork] = (), resolver: Resolver = system_resolver
    ) -> None:
        self.allowed = tuple(allowed)
        self.resolver = resolver

    @classmethod
    def from_settings(cls, settings: Settings, resolver: Resolver = system_resolver) -> Policy:
        return cls(parse_networks(settings.allowed_private_hosts), resolver)

    def allows(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in network for network in self.allowed)

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` when every one is allowed; Refused otherwise."""
        literal = _literal(host)
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                    found = await self.resolver(host, port)
            except (OSError, TimeoutError, UnicodeError):
                raise Unresolved(f"the host name {host!r} could not be resolved") from None
        checked: list[str] = []
        for text in found:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                raise Refused(NOT_ALLOWED) from None
            if not self.allows(address):
                raise Refused(NOT_ALLOWED)
            checked.append(str(address))
        if not checked:
            raise Unresolved(f"the host name {host!r} could not be resolved")
        return checked

    async def check_url(self, raw: str, what: str, *, credentials: bool = True) -> httpx.URL:
        """Parse ``raw`` and check where it leads now (a URL given at creation): Refused with
        ``what`` named in the message. A name that does not resolve now is let through (DNS
        may be down, or the name not published yet): every request checks it again."""
        url = parse_url(raw, what, credentials=credentials)
        try:
            await self.addresses(url.host, _port(url))
        except Unresolved:
            pass
        except Refused as exc:
            raise Refused(f"{what}: {exc}") from None
        return url


def _literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one in its standard form."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks every request's host against the policy and connects to the checked address."""

    def __init__(self, policy: Policy, **transport: Any) -> None:
        self.policy = policy
        self.inner = httpx.AsyncHTTPTransport(**transport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        parse_url(str(url), "the URL")  # a port out of range would raise deep in the stack
        address = (await self.policy.addresses(url.host, _port(url)))[0]
        if address != url.host:
            # The Host header was set from the URL as given; TLS checks the certificate
            # against the name (SNI), not against the address connected to.
            request.url = url.copy_with(host=address)
            if url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": url.host}
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def client(policy: Policy, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for requests on a user's behalf: guarded, no redirects.

    ``limits`` goes to the transport; every other option to the client.
    """
    limits = options.pop("limits", httpx.Limits())
    options.pop("follow_redirects", None)
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, limits=limits),
        follow_redirects=False,
        headers={"User-Agent": "Usher", **options.pop("headers", {})},
        **options,
    )
