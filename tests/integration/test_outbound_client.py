"""The guarded HTTP client against real loopback servers: it connects to the address it
checked (no DNS rebinding), keeps the Host header, and follows no redirect (SPEC §8)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shared import outbound
from shared.errors import Refused
from shared.outbound import Policy, parse_networks
from tests.support.env import FAKES_HOST


@pytest.fixture
async def fake() -> AsyncIterator[tuple[int, list[str]]]:
    """A server on the fakes' own loopback address; yields its port and the Host headers seen."""
    seen: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Host", ""))
        return web.Response(text="ok")

    async def redirect(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Host", ""))
        raise web.HTTPFound(f"http://{FAKES_HOST}:{port}/hook")

    app = web.Application()
    app.router.add_get("/hook", hook)
    app.router.add_get("/redirect", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, FAKES_HOST, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, seen
    finally:
        await runner.cleanup()


def _policy(answers: list[list[str]]) -> Policy:
    """A policy allowing the fakes' address, whose resolver gives ``answers`` in turn."""

    async def resolver(host: str, port: int) -> list[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return Policy(parse_networks(FAKES_HOST), resolver)


async def test_it_connects_to_the_checked_address_and_keeps_the_host(fake) -> None:
    port, seen = fake
    async with outbound.client(_policy([[FAKES_HOST]])) as client:
        response = await client.get(f"http://hooks.example:{port}/hook")
    assert response.status_code == 200 and response.text == "ok"
    assert seen == [f"hooks.example:{port}"]


async def test_a_name_that_rebinds_to_loopback_is_refused_at_the_next_request(fake) -> None:
    port, seen = fake
    answers = [[FAKES_HOST], ["127.0.0.1"]]  # public-looking first, then the operator's box
    async with outbound.client(_policy(answers)) as client:
        assert (await client.get(f"http://rebind.example:{port}/hook")).status_code == 200
        with pytest.raises(Refused, match="not allowed"):
            await client.get(f"http://rebind.example:{port}/hook")
    assert len(seen) == 1


async def test_redirects_are_not_followed(fake) -> None:
    port, seen = fake
    async with outbound.client(_policy([[FAKES_HOST]])) as client:
        response = await client.get(f"http://{FAKES_HOST}:{port}/redirect")
    assert response.status_code == 302
    assert len(seen) == 1  # the target of the redirect was never asked


async def test_loopback_outside_the_allow_list_is_never_connected(fake) -> None:
    port, seen = fake
    async with outbound.client(_policy([["127.0.0.1"]])) as client:
        for url in (f"http://127.0.0.1:{port}/hook", f"http://127.1:{port}/hook"):
            with pytest.raises(Refused):
                await client.get(url)
        with pytest.raises(Refused, match="port 99999"):
            await client.get("http://127.0.0.1:99999/x")
    assert seen == []
