"""The outbound guard (SPEC §8): which addresses requests on a user's behalf may reach."""

from __future__ import annotations

import ipaddress

import pytest

from shared.errors import Refused
from shared.outbound import Policy, is_public, parse_networks, parse_url

LOOPBACK_SPELLINGS = [
    "http://127.0.0.1/x",
    "http://127.1/x",
    "http://2130706433/x",
    "http://0x7f000001/x",
    "http://0177.0.0.1/x",
    "http://127.000.000.001/x",
    "http://[::1]/x",
    "http://0.0.0.0/x",
    "http://[::]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::ffff:7f00:1]/x",
    "http://localhost/x",
]
PRIVATE = [
    "http://10.0.0.5/x",
    "http://172.16.3.4/x",
    "http://192.168.1.1/x",
    "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
    "http://100.64.0.1/x",  # shared address space (CGNAT)
    "http://[fe80::1]/x",
    "http://[fc00::1]/x",
    "http://[fd12:3456::1]/x",
    "http://224.0.0.1/x",
    "http://[ff02::1]/x",
    "http://[2002:7f00:1::]/x",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
    "http://198.18.0.1/x",
    "http://255.255.255.255/x",
]


async def _resolver(host: str, port: int) -> list[str]:
    """A test resolver: names of its own, and the system's spellings of numbers."""
    table = {
        "evil.example": ["127.0.0.1"],
        "mixed.example": ["93.184.216.34", "10.0.0.1"],
        "public.example": ["93.184.216.34"],
        "fake.example": ["127.0.0.2"],
        "localhost": ["127.0.0.1", "::1"],
    }
    if host in table:
        return table[host]
    from shared.outbound import system_resolver

    return await system_resolver(host, port)


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS + PRIVATE)
async def test_every_non_public_spelling_is_refused(url: str) -> None:
    # Octal and zero-padded IPv4 (0177.0.0.1) are not even valid URLs to httpx: refused too.
    with pytest.raises(Refused, match=r"not allowed|not a valid URL: Invalid IPv4"):
        await Policy((), _resolver).check_url(url, "webhook_url")


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(Refused, match="webhook_url: the address is not allowed"):
        await Policy((), _resolver).check_url("https://evil.example/hook", "webhook_url")


async def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(Refused, match="not allowed"):
        await Policy((), _resolver).addresses("mixed.example", 443)


async def test_public_addresses_are_allowed() -> None:
    policy = Policy((), _resolver)
    assert await policy.addresses("public.example", 443) == ["93.184.216.34"]
    assert await policy.addresses("8.8.8.8", 443) == ["8.8.8.8"]
    assert await policy.addresses("[2606:4700::1111]", 443) == ["2606:4700::1111"]


async def test_the_allow_list_opens_exactly_what_it_names() -> None:
    policy = Policy(parse_networks("127.0.0.2, 10.1.0.0/16"), _resolver)
    assert await policy.addresses("fake.example", 80) == ["127.0.0.2"]
    assert await policy.addresses("10.1.2.3", 80) == ["10.1.2.3"]
    for host in ("127.0.0.1", "127.0.0.3", "10.2.0.1", "evil.example"):
        with pytest.raises(Refused):
            await policy.addresses(host, 80)


async def test_a_name_that_does_not_resolve_is_refused_at_send_not_at_creation() -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    policy = Policy((), nowhere)
    with pytest.raises(Refused, match=r"'no\.such\.example' could not be resolved"):
        await policy.addresses("no.such.example", 80)
    url = await policy.check_url("https://no.such.example/hook", "webhook_url")
    assert url.host == "no.such.example"  # DNS may be down now: the send checks it again


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:99999/x", "port 99999"),
        ("http://[::1/x", "not a valid URL"),
        ("ftp://example.com/x", "http:// or https://"),
        ("http:///x", "no host"),
        ("http://exa mple.com/", "spaces"),
        ("http://%31%32%37.0.0.1/", "'%'"),
        ("", "empty"),
        ("http://x.example/" + "a" * 2000, "at most 2000"),
    ],
)
def test_malformed_urls_say_what_to_fix(url: str, message: str) -> None:
    with pytest.raises(Refused, match=message):
        parse_url(url, "webhook_url")


def test_credentials_can_be_refused() -> None:
    assert parse_url("https://u:p@hooks.example/x", "webhook_url").userinfo == b"u:p"
    with pytest.raises(Refused, match="user name or password"):
        parse_url("https://u:p@api.example", "base_url", credentials=False)


def test_is_public() -> None:
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert not is_public(ipaddress.ip_address("::ffff:93.184.216.34"))  # mapped: refused too
    assert not is_public(ipaddress.ip_address("127.0.0.2"))
