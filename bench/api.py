"""``make bench-api``: single writes (``POST /api/users``) to one workspace, with 1 and with 16
concurrent clients.

On the benchmarks' stack (all four services, a fresh database and topics), each client has its
own HTTP connection and sends one contact at a time (a user with an email, a name and two
custom attributes; a tenth of them a second time with a change, so updates are measured too),
waiting for each answer, as a web app's backend would. Measured per run:
requests a second over the whole run, and each request's latency as the client saw it. The
bar (issue 19): at least 500 requests a second with 16 clients, p99 at most 100 ms, which group
commit (services/upload/group_commit.py) is for. The first 16-client run after the stack starts
is shown apart (``COLD_PER_CLIENT``: the broker's JVM still warming up). Prints a table and ends
with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

import aiohttp
import orjson

from bench.run import RssSampler, _count_people, _cpu_s, save_results, scalar, workspace_stack
from infra.stack import Stack

# The first requests after the start (connections, caches, attributes), not measured.
WARM_CLIENTS, WARM_PER_CLIENT = 4, 50


def _created(per_client: int) -> int:
    """The people a client's run creates (the last tenth of its requests update)."""
    return per_client - per_client // 10


def _body(tag: str, index: int, i: int, per_client: int) -> bytes:
    """The ``i``-th contact of client ``index``: the last tenth update earlier ones."""
    people = _created(per_client)
    n = i if i < people else (i - people) * 9
    return orjson.dumps(
        {
            "user_id": f"{tag}-{index}-{n}",
            "email": f"{tag}-{index}-{n}@example.com",
            "name": f"Person {n}",
            "custom_attributes": {
                "plan": "pro" if n % 3 else "free",
                "seats": n % 50 + (i >= people),
            },
        }
    )


async def _clients(
    base_url: str, token: str, clients: int, per_client: int, tag: str
) -> tuple[list[float], list[str], float]:
    """The clients as coroutines of one event loop (aiohttp: a C parser, so the load generator
    takes little of the two cores it shares with what it measures), each with a connection of
    its own and one request at a time."""
    latencies: list[float] = []
    failures: list[str] = []
    go = asyncio.Event()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def client(index: int, http: aiohttp.ClientSession) -> None:
        await go.wait()
        for i in range(per_client):
            body = _body(tag, index, i, per_client)
            began = time.monotonic()
            async with http.post("/api/users", data=body) as response:
                text = await response.read()
            latencies.append(time.monotonic() - began)
            if response.status != 200:
                failures.append(f"{response.status} {text[:200]!r}")

    sessions = [
        aiohttp.ClientSession(base_url, headers=headers, connector=aiohttp.TCPConnector(limit=1))
        for _ in range(clients)
    ]
    try:
        tasks = [asyncio.create_task(client(i, http)) for i, http in enumerate(sessions)]
        await asyncio.sleep(0.1)  # every client waiting
        began = time.monotonic()
        go.set()
        await asyncio.gather(*tasks)
        return latencies, failures, time.monotonic() - began
    finally:
        for http in sessions:
            await http.close()


def _client_run(
    base_url: str, token: str, clients: int, per_client: int, tag: str
) -> dict[str, Any]:
    latencies, failures, seconds = asyncio.run(_clients(base_url, token, clients, per_client, tag))
    assert not failures, failures[:3]
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "requests_per_s": round(len(latencies) / seconds),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
    }


def _measured(stack: Stack, token: str, clients: int, per_client: int, tag: str) -> dict[str, Any]:
    """A client run, with the CPU milliseconds a request cost each process (the clients too)."""
    sampler, client_cpu = RssSampler(stack), _cpu_s(os.getpid())
    result = _client_run(stack.base_url, token, clients, per_client, tag)
    sampler.stop()
    cpu = {**sampler.cpu, "clients": _cpu_s(os.getpid()) - client_cpu}
    result["cpu_ms_per_request"] = {
        k: round(v * 1000 / result["requests"], 2) for k, v in cpu.items() if v > 0
    }
    return result


# Requests a client sends right after the stack starts, measured apart: the broker's JVM is
# still compiling its hot paths then (Kafka's CPU a request falls from ~1.0 ms over the first
# ~10,000 requests to ~0.4 ms, and stays there), which a broker that has been up a while no
# longer does. The runs after it are the steady state the bar is about.
COLD_PER_CLIENT = 600


def run(requests_per_client: int, concurrency: int) -> dict[str, Any]:
    with workspace_stack("bench_api", "api bench") as (stack, api):
        _client_run(stack.base_url, api.token, WARM_CLIENTS, WARM_PER_CLIENT, "warm")
        cold = _measured(stack, api.token, concurrency, COLD_PER_CLIENT, "cold")
        one = _measured(stack, api.token, 1, requests_per_client, "one")
        many = _measured(stack, api.token, concurrency, requests_per_client, "many")
        # Changes the messenger had not taken yet when the clients finished (it keeps up: ~0).
        many["messenger_backlog"] = asyncio.run(scalar(stack.dsn, "SELECT count(*) FROM outbox"))
        expected = (
            WARM_CLIENTS * _created(WARM_PER_CLIENT)
            + concurrency * _created(COLD_PER_CLIENT)
            + _created(requests_per_client) * (1 + concurrency)
        )
        stored = asyncio.run(_count_people(stack.dsn, api.workspace_id))
        assert stored == expected, (stored, expected)
        return {"cold": cold, "one_client": one, "concurrent": many, "people": stored}


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench-api")
    parser.add_argument("--requests", type=int, default=1000, help="per client")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    result = run(args.requests, args.clients)
    cold, one, many = result["cold"], result["one_client"], result["concurrent"]
    runs = (one, many, cold)
    rows = [
        f"| POST /api/users, one workspace ({args.requests:,} requests a client) | 1 client"
        f" | {args.clients} clients"
        f" | {args.clients} clients, broker just started |",
        "|---|---|---|---|",
        "| requests a second | {:,} | {:,} (bar: 500) | {:,} |".format(
            *(r["requests_per_s"] for r in runs)
        ),
        "| latency p50 | {} ms | {} ms | {} ms |".format(*(r["latency_p50_ms"] for r in runs)),
        "| latency p99 | {} ms | {} ms (bar: 100 ms) | {} ms |".format(
            *(r["latency_p99_ms"] for r in runs)
        ),
        "| requests / seconds | {} | {} | {} |".format(
            *(f"{r['requests']:,} / {r['seconds']} s" for r in runs)
        ),
        f"| changes not yet taken by the messenger at the end | | {many['messenger_backlog']:,} | |",
    ]
    for name in dict.fromkeys(k for r in runs for k in r["cpu_ms_per_request"]):
        rows.append(
            f"| CPU ms a request: {name} | "
            + " | ".join(str(r["cpu_ms_per_request"].get(name, 0)) for r in runs)
            + " |"
        )
    table = "\n".join(rows)
    print("\n" + table + "\n")
    save_results("api", table, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
