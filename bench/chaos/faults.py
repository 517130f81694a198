"""The faults of a chaos run: when each is due, and what it does (SIGKILL a service, kill
PostgreSQL, restart the broker or SIGKILL the leader of the import's partition)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.chaos.session import HURRY_AT, MAX_GAP_S, PREFIX, Fault, Session, say
from infra.stack import SERVICES
from shared import db
from tests.support.db import query


class Faults:
    """Plans the faults of ``session`` and makes them happen while its import runs."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rng = session.rng
        self.stack = session.stack
        self.opts = session.opts
        self.supervisor = session.supervisor

    def plan(self) -> list[Fault]:
        """Each service killed once, more kills at random, one broker fault (a restart of the
        single broker, or a SIGKILL of the partition leader in a cluster; ``broker_faults``
        more than one: the others among the late faults) and one database restart, due at
        random points of the import's progress (see :meth:`until_done`).

        The messenger goes first, at once, while the merger runs at full speed: a restarted
        worker gets its partitions back only when the broker gives up on the killed one, so the
        messenger falls behind and must still deliver to people who matched after a record that
        a later chunk changed again. The parser comes next: it reads the file faster than the
        merger applies it, so it is busy only early. The merger and the two restarts follow, in
        random order: they stall the import longest, so the other kills land while it runs."""
        extra = [
            self.rng.choice(("parser", "merger", "messenger"))
            for _ in range(self.opts.kills - len(SERVICES))
        ]
        broker = ("broker", "leader" if self.stack.cluster is not None else "kafka")
        early = [("kill", "merger"), broker, ("database", "postgres")]
        late = [("kill", name) for name in ("upload", *extra)]
        late += [broker] * max(0, self.opts.broker_faults - 1)
        self.rng.shuffle(early)
        self.rng.shuffle(late)
        kinds = [("kill", "messenger"), ("kill", "parser"), *early, *late]
        n = len(kinds)
        return [
            Fault(kind, target, at_progress=HURRY_AT * (i + self.rng.random()) / n)
            for i, (kind, target) in enumerate(kinds)
        ]

    def progress(self, import_id: str, rows: int) -> dict[str, Any] | None:
        try:
            found = query(
                self.stack.dsn,
                # An import's records, or an undo's contacts (the other counts are 0).
                "SELECT status, created + updated + failed + deleted + reverted + conflicts"
                " AS done, error FROM imports WHERE id = $1",
                import_id,
            )
        except Exception:
            return None  # the database is restarting
        state = dict(found[0])
        state["progress"] = state["done"] / rows
        return state

    def until_done(self, import_id: str, rows: int) -> dict[str, Any]:
        """Run the plan while the import runs. A fault is due when the import reached its point
        of progress, or ``MAX_GAP_S`` after the previous one recovered (the import may be stalled
        by it), never sooner than 1.5-4 s after it. Once ``HURRY_AT`` of the records are applied,
        whatever is left comes at once (the kills together), so that it lands before the end.
        Returns the import's final row."""
        self.session.faults = self.plan()
        pending = list(self.session.faults)
        last_fault = time.monotonic()
        gap = self.rng.uniform(0.3, 1.5)
        deadline = self.session.t_import + self.opts.timeout_s
        progress = 0.0
        reported = -1.0
        while True:
            state = self.progress(import_id, rows)
            if state is not None:
                progress = state["progress"]
                if state["status"] in ("completed", "failed"):
                    return state
            if progress - reported >= 0.1:
                reported = progress
                say(f"progress {progress:.0%}")
            if time.monotonic() > deadline:
                return state or {"status": "stuck (database unreachable)"}
            if self.supervisor.failure:
                return {"status": f"aborted: {self.supervisor.failure}"}
            since = time.monotonic() - last_fault
            if pending and progress >= HURRY_AT:
                for fault in pending:
                    fault.during_import = True
                restarts = [f for f in pending if f.kind != "kill"]
                kills = [f for f in pending if f.kind == "kill"]
                for fault in restarts:
                    self.hit([fault], rows, import_id, progress)
                while kills:  # one kill of each service at a time
                    batch = list({f.target: f for f in reversed(kills)}.values())
                    kills = [f for f in kills if f not in batch]
                    self.hit(batch, rows, import_id, progress)
                pending = []
            elif pending and since >= gap:
                if progress >= pending[0].at_progress or since >= MAX_GAP_S:
                    fault = pending.pop(0)
                    fault.during_import = True
                    self.hit([fault], rows, import_id, progress)
                    last_fault = time.monotonic()
                    gap = self.rng.uniform(1.5, 4)
            time.sleep(0.5)

    def hit(
        self, faults: list[Fault], rows: int, import_id: str, progress: float | None = None
    ) -> None:
        """One fault, or several kills at the same moment; returns once all is back up."""
        at = time.monotonic() - self.session.t_import
        if progress is None:
            state = self.progress(import_id, rows)
            progress = state["progress"] if state else None
        stack = self.stack
        kind = faults[0].kind
        if kind == "broker" and faults[0].target == "leader":
            self.kill_leader(faults[0], at, progress)
            say(f"  back after {time.monotonic() - self.session.t_import - at:.1f}s")
            return
        for fault in faults:
            fault.seconds, fault.progress = at, progress
            fault.started = time.monotonic()
            late = "" if fault.during_import else " (after the import finished)"
            say(fault.describe() + late)
        if kind == "kill":
            targets = [f.target for f in faults]
            self.supervisor.kill(targets, self.rng.uniform(0.5, 2.5))
            if "upload" in targets:
                stack.wait_http(120)
        elif kind == "broker":
            stack.broker.stop()
            time.sleep(self.rng.uniform(1.0, 4.0))
            stack.start_kafka()
        else:
            stack.postgres.kill()
            time.sleep(self.rng.uniform(1.0, 3.0))
            stack.postgres.start()
            asyncio.run(db.wait_ready(stack.dsn, timeout_s=180))
        say(f"  back after {time.monotonic() - self.session.t_import - at:.1f}s")

    def kill_leader(self, fault: Fault, at: float, progress: float | None) -> None:
        """SIGKILL the node that leads the workspace's ``row-chunks`` partition; once another
        node leads it (the controller fenced the dead one: ~6 s), wait 1-4 s more, start the
        node again and wait until it is registered and every replica is back in sync."""
        cluster = self.stack.cluster
        assert cluster is not None
        topic = f"{PREFIX}row-chunks"
        leader = asyncio.run(cluster.leader(topic, self.session.partition))
        self.session.replicas = asyncio.run(cluster.partitions(topic))[self.session.partition][
            "replicas"
        ]
        fault.seconds, fault.progress = at, progress
        fault.started = time.monotonic()
        cluster.kill_node(leader)
        fault.detail = f"node {leader}, leader of {topic}[{self.session.partition}]"
        late = "" if fault.during_import else " (after the import finished)"
        say(fault.describe() + late)
        try:
            successor = asyncio.run(
                cluster.leader(topic, self.session.partition, timeout_s=60, other_than=leader)
            )
            took = time.monotonic() - fault.started
            fault.detail += f"; node {successor} led it after {took:.1f}s"
            say(f"  node {successor} leads {topic}[{self.session.partition}] after {took:.1f}s")
        except TimeoutError:
            fault.detail += "; no other leader within 60s"
            say(f"  PROBLEM: no other node took over {topic}[{self.session.partition}] within 60s")
        time.sleep(self.rng.uniform(1.0, 4.0))
        cluster.start_node(leader)
        asyncio.run(cluster.wait_ready(timeout_s=120, nodes=list(cluster.brokers)))
        if not asyncio.run(cluster.wait_in_sync(timeout_s=60)):
            say("  some replicas were not back in sync within 60s")
