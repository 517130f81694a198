"""``make bench-segment``: identifies through Segment's own library, end to end.

On the benchmarks' stack (all four services, fresh database and topics), segment-analytics-
python — unmodified, its default batching (100 messages a POST, one sending thread) — sends
``--messages`` identifies (its queue sized to hold them all: at the default 10,000 a loop
that calls faster than it sends loses the rest) (each a user with an email, a name, a phone and two custom traits;
a tenth of them a second time with a change, so updates are measured too) to Usher's
``/segment`` base URL. Measured: from the first call to the moment every person is in the
database and the library has flushed; the requests' latency as the library saw them. Prints a
table and ends with one JSON line; the bar is 3,000 identifies a second (issue 18).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import requests
from segment.analytics import Client

from bench.run import _count_people, save_results, workspace_stack


def run(messages: int) -> dict[str, Any]:
    with workspace_stack("bench_seg", "segment bench") as (stack, api):
        latencies: list[float] = []
        send = requests.Session.send

        def timed(self: requests.Session, request: Any, **kw: Any) -> Any:  # the library's POSTs
            started = time.monotonic()
            try:
                return send(self, request, **kw)
            finally:
                latencies.append(time.monotonic() - started)

        requests.Session.send = timed  # type: ignore[method-assign]
        errors: list[Any] = []
        client = Client(  # a queue for every message: the default 10,000 drops the rest
            api.token,
            host=f"{stack.base_url}/segment",
            on_error=lambda e, b: errors.append(e),
            max_queue_size=messages,
        )
        people = messages - messages // 10
        started = time.monotonic()
        for i in range(messages):
            n = i if i < people else (i - people) * 9
            client.identify(
                f"user-{n}",
                {
                    "email": f"person{n}@example.com",
                    "firstName": "Person",
                    "lastName": str(n),
                    "phone": f"+1415555{n % 10000:04d}",
                    "plan": "pro" if n % 3 else "free",
                    "seats": n % 50 + (1 if i >= people else 0),
                },
            )
        client.flush()
        flushed = time.monotonic() - started
        deadline = time.monotonic() + 600
        while asyncio.run(_count_people(stack.dsn, api.workspace_id)) < people:
            assert time.monotonic() < deadline, "not everyone arrived"
            time.sleep(0.05)
        seconds = max(time.monotonic() - started, flushed)
        requests.Session.send = send  # type: ignore[method-assign]
        assert errors == [], errors[:3]
        entry = next(i for i in api.pages("/api/imports") if i["source"] == "segment")
        counts = {k: entry["counts"][k] for k in ("created", "updated", "failed")}
        assert counts == {"created": people, "updated": messages - people, "failed": 0}, counts
        latencies.sort()
        return {
            "messages": messages,
            "seconds": round(seconds, 2),
            "identifies_per_s": round(messages / seconds),
            "requests": len(latencies),
            "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
            "counts": counts,
        }


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench-segment")
    parser.add_argument("--messages", type=int, default=30_000)
    args = parser.parse_args()
    result = run(args.messages)
    table = "\n".join(
        [
            f"| Segment identifies ({result['messages']:,}, library defaults) | value |",
            "|---|---|",
            f"| end to end (first call → everyone stored) | {result['seconds']:.2f} s |",
            f"| identifies per second | {result['identifies_per_s']:,} (bar: 3,000) |",
            f"| POSTs (100 messages each) | {result['requests']:,} |",
            f"| request latency p50 / p99 | {result['latency_p50_ms']} ms / {result['latency_p99_ms']} ms |",
            f"| history entry counts | {result['counts']} |",
        ]
    )
    print("\n" + table + "\n")
    save_results("segment", table, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
