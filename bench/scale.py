"""``make bench-scale``: concurrent imports, then one import alone, with one, then two parser
and merger processes.

Each configuration gets a fresh database and fresh topics; ``--imports`` workspaces (each
seeded with the benchmark's 500,000 people) import the benchmark CSV at the same moment, and
the time until every import is ``completed`` is measured. Topics get 2 partitions here, and the
workspaces (chunks are keyed by workspace) and imports (requests are keyed by import) are picked
so that each lands on a partition of its own: with two processes of a worker, each takes one.

Prints a table and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from aiokafka.partitioner import DefaultPartitioner

from bench.data import generate
from bench.run import (
    ADMIN,
    CUSTOM,
    DATA,
    MAPPING,
    _seed,
    bench_stack,
    fresh_state,
)
from infra.stack import Stack
from tests.support.api import DONE, Api


def _partition(key: str, partitions: int) -> int:
    return int(DefaultPartitioner()(key.encode(), list(range(partitions)), list(range(partitions))))


def run(stack: Stack, path: Path, rows: int, imports: int, processes: int) -> dict[str, object]:
    fresh_state(stack, f"bench_scale_{processes}")
    names = ["upload", "messenger"]
    for worker in ("parser", "merger"):
        names += [worker] + [f"{worker}-{n}" for n in range(2, processes + 1)]
    for name in names:
        stack.start_service(name)
    try:
        stack.wait_http()
        work: list[tuple[Api, str]] = []
        partitions = stack.partitions
        for n in range(imports):
            # Spread the imports: each workspace's chunks and each import's request on a
            # partition of its own (with as many partitions as processes, one per process).
            while True:
                api = Api.new_workspace(stack.base_url, f"scale {n}", admin=ADMIN, timeout_s=600)
                taken = {_partition(a.workspace_id, partitions) for a, _i in work}
                if (
                    _partition(api.workspace_id, partitions) not in taken
                    or len(taken) >= partitions
                ):
                    break
            asyncio.run(
                _seed(stack.dsn, api.workspace_id, with_workspace=False, id_prefix=f"s{n}_")
            )
            while True:
                import_id = api.upload(path, "s.csv")["id"]
                taken = {_partition(i, partitions) for _a, i in work}
                if _partition(import_id, partitions) not in taken or len(taken) >= partitions:
                    break
            work.append((api, import_id))
        time.sleep(5)  # every worker process has joined its group and holds partitions
        t0 = time.monotonic()
        for api, import_id in work:
            api.start(import_id, kind="users", mapping=MAPPING, custom_attributes=CUSTOM)
        pending = {import_id for _a, import_id in work}
        while pending:
            for api, import_id in work:
                if import_id in pending:
                    state = api.status(import_id)
                    if state["status"] in DONE:
                        assert state["status"] == "completed", state
                        assert state["counts"]["rows"] == rows, state
                        pending.discard(import_id)
            time.sleep(0.2)
        seconds = time.monotonic() - t0
    finally:
        for name in names:
            stack.stop_service(name)
    return {
        "processes": processes,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows * imports / seconds),
        "request_partitions": [_partition(i, partitions) for _a, i in work],
        "chunk_partitions": [_partition(a.workspace_id, partitions) for a, _i in work],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench-scale")
    parser.add_argument("--rows", type=int, default=200_000, help="rows per import")
    parser.add_argument("--imports", type=int, default=2, help="concurrent imports")
    args = parser.parse_args()
    path, _expected = generate(args.rows, DATA)
    stack = bench_stack(partitions=2)  # two processes of a worker own one partition each
    stack.start_infra()
    tables: dict[int, list[dict[str, object]]] = {}
    try:
        # Several imports at once, then one import alone (its chunks all go to one merger:
        # chunks are keyed by workspace; see docs/ARCHITECTURE.md, "One big workspace").
        for imports in dict.fromkeys((args.imports, 1)):
            tables[imports] = [run(stack, path, args.rows, imports, n) for n in (1, 2)]
    finally:
        stack.stop_all()
    for imports, results in tables.items():
        what = (
            f"{imports} imports of {args.rows:,} rows at once"
            if imports > 1
            else (f"1 import of {args.rows:,} rows")
        )
        print(f"\n| {what} | seconds | rows/s |")
        print("|---|---|---|")
        for r in results:
            print(
                f"| {r['processes']} parser + {r['processes']} merger process(es) |"
                f" {r['seconds']} | {r['rows_per_s']:,} |"
            )
        print(
            f"\nimport-request partitions {results[-1]['request_partitions']}, "
            f"chunk partitions {results[-1]['chunk_partitions']} (of {stack.partitions})"
        )
    print(
        json.dumps(
            {
                "rows": args.rows,
                "results": {str(imports): results for imports, results in tables.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
