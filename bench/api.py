"""``make bench-api``: single writes (``POST /api/users``) to one workspace, with 1 and with 16
concurrent clients.

On the benchmarks' stack (all four services, a fresh database and topics), each client is a
thread with its own HTTP connection sending one contact at a time (a user with an email, a
name and two custom attributes; a tenth of them a second time with a change, so updates are
measured too) and waiting for the answer, as a web app's backend would. Measured per run:
requests a second over the whole run, and each request's latency as the client saw it. The
bar (issue 19): at least 500 requests a second with 16 clients, p99 at most 100 ms, which group
commit (services/upload/group_commit.py) is for. Prints a table and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from typing import Any

import httpx

from bench.run import _count_people, save_results, workspace_stack


def _client_run(
    base_url: str, token: str, clients: int, per_client: int, tag: str
) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
            start.wait()
            people = per_client - per_client // 10
            for i in range(per_client):
                n = i if i < people else (i - people) * 9
                body = {
                    "user_id": f"{tag}-{index}-{n}",
                    "email": f"{tag}-{index}-{n}@example.com",
                    "name": f"Person {n}",
                    "custom_attributes": {
                        "plan": "pro" if n % 3 else "free",
                        "seats": n % 50 + (i >= people),
                    },
                }
                began = time.monotonic()
                response = http.post("/api/users", json=body)
                mine.append(time.monotonic() - began)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - began
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


def run(requests_per_client: int, concurrency: int) -> dict[str, Any]:
    with workspace_stack("bench_api", "api bench") as (stack, api):
        _client_run(stack.base_url, api.token, 4, 50, "warm")  # connections, caches, attributes
        one = _client_run(stack.base_url, api.token, 1, requests_per_client, "one")
        many = _client_run(stack.base_url, api.token, concurrency, requests_per_client, "many")
        per_client = requests_per_client - requests_per_client // 10  # the rest are updates
        expected = 4 * 45 + per_client * (1 + concurrency)
        stored = asyncio.run(_count_people(stack.dsn, api.workspace_id))
        assert stored == expected, (stored, expected)
        return {"one_client": one, "concurrent": many, "people": stored}


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench-api")
    parser.add_argument("--requests", type=int, default=1000, help="per client")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    result = run(args.requests, args.clients)
    rows = [
        f"| POST /api/users, one workspace ({args.requests:,} requests a client) | 1 client | {args.clients} clients |",
        "|---|---|---|",
    ]
    one, many = result["one_client"], result["concurrent"]
    rows.append(
        f"| requests a second | {one['requests_per_s']:,} | {many['requests_per_s']:,} (bar: 500) |"
    )
    rows.append(f"| latency p50 | {one['latency_p50_ms']} ms | {many['latency_p50_ms']} ms |")
    rows.append(
        f"| latency p99 | {one['latency_p99_ms']} ms | {many['latency_p99_ms']} ms (bar: 100 ms) |"
    )
    rows.append(
        f"| requests / seconds | {one['requests']:,} / {one['seconds']} s | {many['requests']:,} / {many['seconds']} s |"
    )
    table = "\n".join(rows)
    print("\n" + table + "\n")
    save_results("api", table, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
