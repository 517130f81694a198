"""``make chaos``: a large CSV import while services are SIGKILLed, a Kafka broker that leads the
import's partition is SIGKILLed and PostgreSQL is killed, with slow receivers on the other end.

``python -m tests.chaos.run --rows 200000`` runs a whole Usher (its own Kafka, PostgreSQL and the
four services, under ``.usher/chaos``, on ports no other stack uses) and:

1. starts a slow, flaky webhook receiver and a slow SMTP server (:mod:`tests.chaos.receivers`)
   on 127.0.0.2, the one loopback address the services may send to
   (``USHER_ALLOWED_PRIVATE_HOSTS``);
2. imports a seed file (trigger_messages off), then creates three live auto messages, one per
   channel (:data:`tests.chaos.data.AUDIENCES`): in-app to everyone with ``custom.tier = gold``
   (about half of the people), webhook and email to about 1 % of those (the gold people whose
   name ends in one of a few suffixes), and waits for their activation deliveries;
3. uploads the import file (:mod:`tests.chaos.data`) and starts it;
4. while it runs, at random moments spread over its progress: SIGKILLs the parser, merger,
   messenger and upload service (the upload one between requests: the harness follows progress
   in SQL) and restarts each after a short pause; kills PostgreSQL once (SIGKILL of the whole
   server, start, crash recovery); and a broker fault. With ``--kafka-nodes 3`` (the default
   here; ``make chaos``) Kafka is a 3-node KRaft cluster, topics with replication 3 and min ISR
   2, and the broker fault is a *leader kill*: the node that leads the ``row-chunks`` partition
   the workspace's key hashes to (the partitioner of the producers, murmur2 of the workspace id;
   all of the import's chunks are on it) is SIGKILLed, the harness waits until another node leads
   that partition, then starts it again after a pause and waits until it has caught up. With
   ``--kafka-nodes 1`` it is a restart of the single broker (stop, start). A supervisor thread
   restarts any service that exits on its own, as ``make run`` does, and reports it;
5. after the import completed and the pipeline went quiet (outbox empty, nothing pending, the
   receivers idle), checks against the expected outcome: the people (role, user_id, email, name,
   tier, tags), the import's counts; per channel, exactly one delivery row, ``delivered``, for
   each person who matched after any record and none for anybody else; and at the receivers, the
   accepted idempotency keys (2xx answers, accepted mails) are exactly the expected ones, each
   accepted once: a key accepted again after a messenger death in between is
   ``resent_after_kill`` (allowed: receivers deduplicate on the key), otherwise ``duplicated``
   (:mod:`tests.chaos.checks`).

Its last line is one JSON object: ``rows``; ``kills`` (= ``service_kills``),
``broker_restarts`` (broker faults of either kind), ``broker_leader_kills``, ``db_restarts``
(those that happened while the import ran); ``lost`` (expected people missing or in another
state), ``duplicated`` (people beyond the expected ones); ``deliveries_missing``,
``deliveries_duplicated`` (in-app); ``channels``: per channel ``expected``, ``delivered``,
``missing``, ``duplicated``, ``resent_after_kill`` (and ``unexpected``; for webhook and email
also the database's view, ``db_*``); ``seconds`` (import start to checked); then details. The
exit code is non-zero when a check failed, the import did not complete, or fewer faults than 5
kills, a broker fault and a database restart hit the running import.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2

from infra.processes import kill_pidfile
from infra.stack import SERVICES, Stack
from shared import db
from tests.chaos.checks import ChannelVerdict, classify, stored
from tests.chaos.data import (
    AUDIENCES,
    CHANNELS,
    CUSTOM,
    GOLD,
    MAPPING,
    SEED_TAG,
    TAG,
    Expected,
    Key,
    generate,
)
from tests.chaos.receivers import Receivers
from tests.topics import read_from_start

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / ".usher" / "chaos"
ADMIN = "chaos-admin-token"
PREFIX = "usher-chaos."
MIN_KILLS = 5
MAX_GAP_S = 10.0  # seconds between faults when the import does not progress
HURRY_AT = 0.6  # share of records applied after which the remaining faults come at once
SERVICE_RESTARTS_LIMIT = 30  # restarts of one service on its own within 5 minutes: a crash loop
RECEIVER_HOST = "127.0.0.2"  # the webhook receiver's and SMTP server's own loopback address
WEBHOOK_TIMEOUT_S = 10.0  # the receiver answers within 3 s: a timeout never fires
WEBHOOK_ATTEMPTS = 5  # the receiver refuses only a key's first attempt: the second succeeds
# A send is cut off after this long (the worst here: 2 attempts of <= 3 s and a back-off), and a
# killed sender's claim on it runs out 30 s later (services/messenger/sending.py): then resent.
SEND_DEADLINE_S = 30.0
QUIET_CAP_S = 1200.0  # after the import: at most this long for the sends to finish
STALL_S = 200.0  # ... and give up when nothing moved for this long (claims run out before)


@dataclass
class Options:
    rows: int = 200_000
    kills: int = 7
    seed: int = 1
    home: Path = HOME / "run"
    # Added to every port: 29092 (Kafka; a cluster's nodes on 29092/29094/29096, controllers
    # 29093/29095/29097), 27432 (PostgreSQL), 28000 (HTTP), 26101+ (workers); on 127.0.0.2
    # 28080 (webhook receiver) and 28025 (SMTP).
    port_offset: int = 0
    chunk_rows: int = 1000
    timeout_s: float = 1800.0  # start → completed, faults included
    quiet_s: float = 20.0  # after completion, before checking (the messenger sweeps every 5 s)
    kafka_nodes: int = 3  # a KRaft cluster, the broker fault kills a leader; 1: one broker
    broker_faults: int = 1  # broker restarts, or leader kills with a cluster


@dataclass
class Fault:
    kind: str  # "kill", "broker" or "database"
    target: str  # a service name, "kafka" (restart the broker), "leader" or "postgres"
    at_progress: float  # share of records applied when it is due
    progress: float | None = None  # the share when it happened
    during_import: bool = False
    seconds: float = 0.0  # from the start of the import
    started: float = 0.0  # time.monotonic() when it hit
    detail: str = ""  # a leader kill: which node, what took over

    def describe(self) -> str:
        what = {
            "kill": f"SIGKILL {self.target}",
            "broker": "SIGKILL the Kafka leader" if self.target == "leader" else "restart Kafka",
        }.get(self.kind, "kill -9 PostgreSQL")
        where = f"{self.progress:.0%} applied" if self.progress is not None else "progress unknown"
        detail = f", {self.detail}" if self.detail else ""
        return f"{what} at {self.seconds:.1f}s ({where}{detail})"


@dataclass
class Outcome:
    summary: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def say(message: str) -> None:
    print(f"chaos {time.strftime('%H:%M:%S')} {message}", flush=True)


def make_receivers(opts: Options) -> Receivers:
    o = opts.port_offset
    return Receivers(RECEIVER_HOST, 28080 + o, 28025 + o, seed=opts.seed)


def make_stack(opts: Options, receivers: Receivers) -> Stack:
    o = opts.port_offset
    return Stack(
        opts.home,
        kafka_port=29092 + o,
        controller_port=29093 + o,
        pg_port=27432 + o,
        http_port=28000 + o,
        worker_port_base=26101 + o,
        topic_prefix=PREFIX,
        partitions=4,
        kafka_nodes=opts.kafka_nodes,
        kafka_heap="512m",
        extra_env={
            "USHER_ADMIN_TOKEN": ADMIN,
            "USHER_RATE_LIMIT_PER_MINUTE": "0",
            "USHER_LOG_LEVEL": "INFO",
            "USHER_CHUNK_ROWS": str(opts.chunk_rows),
            # The receivers' own loopback address: the only non-public one the services may use.
            "USHER_ALLOWED_PRIVATE_HOSTS": receivers.host,
            "USHER_SMTP_HOST": receivers.host,
            "USHER_SMTP_PORT": str(receivers.smtp_port),
            "USHER_WEBHOOK_TIMEOUT_S": str(WEBHOOK_TIMEOUT_S),
            "USHER_WEBHOOK_ATTEMPTS": str(WEBHOOK_ATTEMPTS),
            "USHER_SEND_DEADLINE_S": str(SEND_DEADLINE_S),
        },
    )


def chunk_partition(workspace_id: str, partitions: int) -> int:
    """The partition of ``row-chunks`` the parser's producer puts the workspace's chunks on
    (aiokafka's default partitioner, the Java client's: murmur2 of the key)."""
    return int(murmur2(workspace_id.encode()) & 0x7FFFFFFF) % partitions


def fresh_home(home: Path) -> None:
    """Stop what a previous run left (its pid files name the processes), then start empty."""
    kill_pidfile(home / "kafka" / "broker.pid", "kafka.Kafka")
    for pidfile in sorted((home / "kafka").glob("node-*/broker.pid")):
        kill_pidfile(pidfile, "kafka.Kafka")
    kill_pidfile(home / "postgres" / "data" / "postmaster.pid", "postgres")
    shutil.rmtree(home, ignore_errors=True)


def sql(dsn: str, query: str, *args: Any) -> list[Any]:
    async def run() -> list[Any]:
        conn = await db.connect(dsn)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


async def _dead_letters(bootstrap: str, topic: str, partitions: int) -> Counter[str]:
    """How many messages went to the dead-letter topic, by reason (ids cut out)."""
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    reasons: Counter[str] = Counter()
    for m in await read_from_start(bootstrap, parts):
        reason = dict(m.headers or ()).get("reason", b"?").decode(errors="replace")
        reasons[re.sub(r"\b(imp|c|msg)_[0-9a-f]+|\d+", "N", reason)[:160]] += 1
    return reasons


async def _partitions_with_data(bootstrap: str, topic: str, partitions: int) -> list[int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(parts)
        return sorted(tp.partition for tp, end in ends.items() if end > 0)
    finally:
        await consumer.stop()


class Supervisor(threading.Thread):
    """Restarts services that exit on their own (an unexpected error, a lost broker), as the
    supervisor of ``make run`` does (:meth:`Stack.restart_dead`); deliberate kills take the
    service out of ``stack.services`` first, so they are not seen as exits."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True, name="chaos-supervisor")
        self.stack = stack
        self.exits: list[tuple[float, str, int]] = []
        self.kills: list[tuple[float, str]] = []  # (time.monotonic(), service) of each SIGKILL
        self.failure: str | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            for name in self.stack.restart_dead():
                now = time.monotonic()
                code = next(c for n, c in reversed(self.stack.restarts) if n == name)
                self.exits.append((now, name, code))
                say(f"{name} exited on its own with {code}; restarted it")
                recent = [e for e in self.exits if e[1] == name and now - e[0] < 300]
                if len(recent) > SERVICE_RESTARTS_LIMIT:
                    self.failure = f"{name} keeps exiting ({len(recent)} times in 5 minutes)"

    def kill(self, names: list[str], pause_s: float) -> None:
        """SIGKILL the services ``names`` together, start them again after a pause."""
        for name in names:
            self.kills.append((time.monotonic(), name))
            self.stack.stop_service(name, signal.SIGKILL, timeout_s=5)
        time.sleep(pause_s)
        for name in names:
            self.stack.start_service(name)

    def deaths(self, service: str) -> list[float]:
        """When processes of ``service`` died: killed here, or exited on their own (seen at most
        0.5 s late, and restarted only after that, so the time still falls before any send of
        the restarted process)."""
        return sorted(
            [t for t, name in self.kills if name.partition("-")[0] == service]
            + [t for t, name, _ in self.exits if name.partition("-")[0] == service]
        )


class Chaos:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.receivers = make_receivers(opts)
        self.stack = make_stack(opts, self.receivers)
        self.supervisor = Supervisor(self.stack)
        self.faults: list[Fault] = []
        self.t_import = 0.0
        self.messages: dict[str, str] = {}  # channel -> message id
        self.partition = 0  # of row-chunks: where the workspace's chunks go
        self.replicas: list[int] = []  # that partition's, as seen at a leader kill

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> Outcome:
        started = time.monotonic()
        opts = self.opts
        say(
            f"{opts.rows:,} rows, {opts.kills} kills, {opts.kafka_nodes} Kafka node(s),"
            f" seed {opts.seed}, home {opts.home}"
        )
        fresh_home(opts.home)
        seed_csv, import_csv, expected = generate(opts.rows, opts.home / "input", opts.seed)
        per_channel = ", ".join(
            f"{c} {len(expected.audiences[c]):,} ({expected.seed_audiences[c]:,} at activation)"
            for c in CHANNELS
        )
        say(f"expected: {expected.counts()}, {len(expected.people):,} people; {per_channel}")
        stack = self.stack
        try:
            self.receivers.start()
            say(
                f"receivers: webhook {self.receivers.webhook_url}, SMTP {self.receivers.host}:"
                f"{self.receivers.smtp_port}"
            )
            stack.start_infra()
            stack.start_services()
            stack.wait_http(120)
            self.supervisor.start()
            return self._run(seed_csv, import_csv, expected, started)
        finally:
            self.supervisor.stopping.set()
            if self.supervisor.is_alive():
                self.supervisor.join()
            stack.stop_all()
            self.receivers.stop()

    def _run(self, seed_csv: Path, import_csv: Path, expected: Expected, t0: float) -> Outcome:
        stack = self.stack
        http = httpx.Client(base_url=stack.base_url, timeout=300)
        made = http.post(
            "/api/workspaces",
            json={"name": "chaos"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert made.status_code == 201, made.text
        workspace = made.json()
        http.headers["Authorization"] = f"Bearer {workspace['token']}"
        self.partition = chunk_partition(workspace["id"], stack.partitions)
        seeded = self._import(http, seed_csv, SEED_TAG, trigger_messages=False)
        seed_status = self._wait_api(http, seeded, 300)
        assert seed_status["status"] == "completed", seed_status
        for channel in CHANNELS:
            self.messages[channel] = self._message(http, channel)
        for channel in CHANNELS:
            self._wait_activation(channel, expected.seed_audiences[channel], 180)
        say(
            "seed imported, messages live, activation deliveries: "
            + ", ".join(f"{c} {expected.seed_audiences[c]:,}" for c in CHANNELS)
        )

        t_upload = time.monotonic()
        import_id = self._import(http, import_csv, TAG, trigger_messages=True)
        self.t_import = time.monotonic()
        upload_s = self.t_import - t_upload
        say(f"import {import_id} uploaded in {upload_s:.1f}s and started")
        status = self._faults_until_done(import_id, expected.rows)
        import_s = time.monotonic() - self.t_import
        say(f"import {status.get('status', 'unknown')} after {import_s:.1f}s")
        for fault in self.faults:
            if not fault.during_import:
                self._fault([fault], expected.rows, import_id)
        quiet_started = time.monotonic()
        self._wait_quiet({c: len(expected.audiences[c]) for c in CHANNELS})
        quiet_s = time.monotonic() - quiet_started
        outcome = self._check(http, workspace["id"], import_id, expected)
        outcome.summary["seconds"] = round(time.monotonic() - self.t_import, 1)
        outcome.summary["timings"] = {
            "upload_s": round(upload_s, 1),
            "import_s": round(import_s, 1),
            "quiet_s": round(quiet_s, 1),
            "total_s": round(time.monotonic() - t0, 1),
        }
        if status.get("status") != "completed":
            outcome.problems.insert(0, f"the import did not complete: {status}")
        return outcome

    def _message(self, http: httpx.Client, channel: str) -> str:
        """A live auto message on ``channel`` to its audience (:data:`AUDIENCES`)."""
        body: dict[str, Any] = {
            "name": f"Gold tier ({channel})",
            "type": "auto",
            "channel": channel,
            "subject": "Hello {{name}}",
            "body": "You are {{custom.tier}}",
            "audience": AUDIENCES[channel],
            "state": "live",
        }
        if channel == "webhook":
            body["webhook_url"] = self.receivers.webhook_url
        made = http.post("/api/messages", json=body)
        assert made.status_code == 201, made.text
        message_id: str = made.json()["id"]
        return message_id

    def _import(self, http: httpx.Client, path: Path, tag: str, trigger_messages: bool) -> str:
        with path.open("rb") as fh:
            uploaded = http.post("/api/imports", files={"file": (path.name, fh, "text/csv")})
        assert uploaded.status_code == 201, uploaded.text
        import_id: str = uploaded.json()["id"]
        started = http.post(
            f"/api/imports/{import_id}/start",
            json={
                "kind": "users",
                "mapping": MAPPING,
                "custom_attributes": CUSTOM,
                "tag": tag,
                "trigger_messages": trigger_messages,
            },
        )
        assert started.status_code == 202, started.text
        return import_id

    def _wait_api(self, http: httpx.Client, import_id: str, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            state = http.get(f"/api/imports/{import_id}").json()
            if state["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return state
            time.sleep(0.3)

    def _delivery_counts(self) -> dict[tuple[str, str], int]:
        """(channel, status) -> delivery rows of the run's messages."""
        channel_of = {m: c for c, m in self.messages.items()}
        rows = sql(
            self.stack.dsn,
            "SELECT message_id, status, count(*) AS n FROM deliveries"
            " WHERE message_id = ANY($1::text[]) GROUP BY 1, 2",
            list(channel_of),
        )
        return {(channel_of[r["message_id"]], r["status"]): int(r["n"]) for r in rows}

    def _wait_activation(self, channel: str, n: int, timeout_s: float) -> None:
        """Until the message's activation made ``n`` rows and none is pending (in-app: raises
        when that takes too long, as before; email and webhook: the checks will tell)."""
        deadline = time.monotonic() + timeout_s
        while True:
            counts = self._delivery_counts()
            done = sum(v for (c, st), v in counts.items() if c == channel and st != "pending")
            if done >= n and not counts.get((channel, "pending")):
                return
            if time.monotonic() > deadline:
                if channel == "in_app":
                    raise TimeoutError(f"the activation did not deliver {n} messages in time")
                say(f"PROBLEM: the {channel} activation made {done} of {n} deliveries in time")
                return
            time.sleep(0.3)

    # -- faults -----------------------------------------------------------------------------

    def plan(self) -> list[Fault]:
        """Each service killed once, more kills at random, one broker fault (a restart of the
        single broker, or a SIGKILL of the partition leader in a cluster; ``broker_faults``
        more than one: the others among the late faults) and one database restart, due at
        random points of the import's progress (see :meth:`_faults_until_done`).

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

    def _progress(self, import_id: str, rows: int) -> dict[str, Any] | None:
        try:
            found = sql(
                self.stack.dsn,
                "SELECT status, created + updated + failed AS done, error FROM imports"
                " WHERE id = $1",
                import_id,
            )
        except Exception:
            return None  # the database is restarting
        state = dict(found[0])
        state["progress"] = state["done"] / rows
        return state

    def _faults_until_done(self, import_id: str, rows: int) -> dict[str, Any]:
        """Run the plan while the import runs. A fault is due when the import reached its point
        of progress, or ``MAX_GAP_S`` after the previous one recovered (the import may be stalled
        by it), never sooner than 1.5-4 s after it. Once ``HURRY_AT`` of the records are applied,
        whatever is left comes at once (the kills together), so that it lands before the end.
        Returns the import's final row."""
        self.faults = self.plan()
        pending = list(self.faults)
        last_fault = time.monotonic()
        gap = self.rng.uniform(0.3, 1.5)
        deadline = self.t_import + self.opts.timeout_s
        progress = 0.0
        reported = -1.0
        while True:
            state = self._progress(import_id, rows)
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
                    self._fault([fault], rows, import_id, progress)
                while kills:  # one kill of each service at a time
                    batch = list({f.target: f for f in reversed(kills)}.values())
                    kills = [f for f in kills if f not in batch]
                    self._fault(batch, rows, import_id, progress)
                pending = []
            elif pending and since >= gap:
                if progress >= pending[0].at_progress or since >= MAX_GAP_S:
                    fault = pending.pop(0)
                    fault.during_import = True
                    self._fault([fault], rows, import_id, progress)
                    last_fault = time.monotonic()
                    gap = self.rng.uniform(1.5, 4)
            time.sleep(0.5)

    def _fault(
        self, faults: list[Fault], rows: int, import_id: str, progress: float | None = None
    ) -> None:
        """One fault, or several kills at the same moment; returns once all is back up."""
        at = time.monotonic() - self.t_import
        if progress is None:
            state = self._progress(import_id, rows)
            progress = state["progress"] if state else None
        stack = self.stack
        kind = faults[0].kind
        if kind == "broker" and faults[0].target == "leader":
            self._kill_leader(faults[0], at, progress)
            say(f"  back after {time.monotonic() - self.t_import - at:.1f}s")
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
        say(f"  back after {time.monotonic() - self.t_import - at:.1f}s")

    def _kill_leader(self, fault: Fault, at: float, progress: float | None) -> None:
        """SIGKILL the node that leads the workspace's ``row-chunks`` partition; once another
        node leads it (the controller fenced the dead one: ~6 s), wait 1-4 s more, start the
        node again and wait until it is registered and every replica is back in sync."""
        cluster = self.stack.cluster
        assert cluster is not None
        topic = f"{PREFIX}row-chunks"
        leader = asyncio.run(cluster.leader(topic, self.partition))
        self.replicas = asyncio.run(cluster.partitions(topic))[self.partition]["replicas"]
        fault.seconds, fault.progress = at, progress
        fault.started = time.monotonic()
        cluster.kill_node(leader)
        fault.detail = f"node {leader}, leader of {topic}[{self.partition}]"
        late = "" if fault.during_import else " (after the import finished)"
        say(fault.describe() + late)
        try:
            successor = asyncio.run(
                cluster.leader(topic, self.partition, timeout_s=60, other_than=leader)
            )
            took = time.monotonic() - fault.started
            fault.detail += f"; node {successor} led it after {took:.1f}s"
            say(f"  node {successor} leads {topic}[{self.partition}] after {took:.1f}s")
        except TimeoutError:
            fault.detail += "; no other leader within 60s"
            say(f"  PROBLEM: no other node took over {topic}[{self.partition}] within 60s")
        time.sleep(self.rng.uniform(1.0, 4.0))
        cluster.start_node(leader)
        asyncio.run(cluster.wait_ready(timeout_s=120, nodes=list(cluster.brokers)))
        if not asyncio.run(cluster.wait_in_sync(timeout_s=60)):
            say("  some replicas were not back in sync within 60s")

    # -- the checks -------------------------------------------------------------------------

    def _wait_quiet(self, wanted: dict[str, int]) -> None:
        """At least ``quiet_s``; then until the outbox is empty, no delivery is pending, the
        receivers are idle and the rows stopped changing: for 3 s once every channel has its
        ``wanted`` rows delivered, for 10 s otherwise. Slow receivers make the sends take a
        while: waits as long as anything moves (rows, outbox, attempts at the receivers), at
        most ``QUIET_CAP_S``, and gives up after ``STALL_S`` without a change (what is missing
        then stays missing)."""
        time.sleep(self.opts.quiet_s)
        deadline = time.monotonic() + QUIET_CAP_S
        last: Any = None
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            try:
                counts = self._delivery_counts()
                outbox = sql(self.stack.dsn, "SELECT count(*) AS n FROM outbox")[0]["n"]
            except Exception:
                time.sleep(1)
                continue
            activity = self.receivers.activity()
            state = (sorted(counts.items()), outbox, activity)
            now = time.monotonic()
            if state != last:
                last, stable_since = state, now
            stable = now - stable_since
            pending = sum(n for (_, status), n in counts.items() if status == "pending")
            complete = all(counts.get((c, "delivered"), 0) == n for c, n in wanted.items())
            if outbox == 0 and pending == 0 and activity[2] == 0:
                if stable >= (3 if complete else 10):
                    return
            elif stable >= STALL_S:
                say(f"PROBLEM: stalled for {stable:.0f}s: outbox {outbox}, pending {pending}")
                return
            time.sleep(1)
        say(f"PROBLEM: still sending after {QUIET_CAP_S:.0f}s")

    def _check(
        self, http: httpx.Client, workspace_id: str, import_id: str, expected: Expected
    ) -> Outcome:
        dsn = self.stack.dsn
        problems: list[str] = []
        contacts = sql(
            dsn,
            "SELECT id, role, user_id, email, name, tags, custom->>'tier' AS tier"
            " FROM contacts WHERE workspace_id = $1",
            workspace_id,
        )
        key_of: dict[str, Key] = {}
        ids_of: dict[Key, list[str]] = {}
        found: dict[Key, list[tuple[Any, ...]]] = {}
        for c in contacts:
            key: Key = (
                ("user_id", c["user_id"])
                if c["user_id"] is not None
                else ("email", c["email"].lower())
            )
            key_of[c["id"]] = key
            ids_of.setdefault(key, []).append(c["id"])
            state = (
                c["role"],
                c["user_id"],
                c["email"],
                c["name"],
                c["tier"],
                tuple(sorted(t.lower() for t in c["tags"])),
            )
            found.setdefault(key, []).append(state)
        lost = [k for k, state in expected.people.items() if state not in found.get(k, [])]
        duplicated = len(contacts) - sum(1 for k in expected.people if k in found)
        for k in lost[:10]:
            problems.append(f"person {k}: expected {expected.people[k]}, found {found.get(k)}")
        extra = [k for k in found if k not in expected.people]
        for k in extra[:10]:
            problems.append(f"unexpected person {k}: {found[k]}")

        rows = sql(
            dsn,
            "SELECT message_id, contact_id, status FROM deliveries"
            " WHERE message_id = ANY($1::text[])",
            list(self.messages.values()),
        )
        channels: dict[str, dict[str, Any]] = {}
        in_app_missing: list[Key] = []
        in_app_doubled = 0
        in_app_unexpected: list[Any] = []
        missing_now: list[Key] = []
        for channel in CHANNELS:
            message_id = self.messages[channel]
            audience = expected.audiences[channel]
            db = stored(
                audience,
                (
                    (key_of.get(r["contact_id"], ("id", r["contact_id"])), r["status"])
                    for r in rows
                    if r["message_id"] == message_id
                ),
            )
            for k in db.missing[:5]:
                problems.append(f"{channel}: no delivery row for {k}: {found.get(k)}")
            for k in db.unexpected[:5]:
                problems.append(f"{channel}: a delivery row for {k}, who never matched")
            if db.doubled:
                problems.append(f"{channel}: {db.doubled} delivery rows beyond one per person")
            if db.not_delivered:
                problems.append(f"{channel}: deliveries not delivered: {db.not_delivered}")
            if channel == "in_app":
                in_app_missing, in_app_doubled = db.missing, db.doubled
                in_app_unexpected = db.unexpected
                # A person missing a delivery who matches now was never handled at all; one who
                # does not match now matched only after an earlier record (a later one changed
                # them again).
                missing_now = [k for k in db.missing if expected.people[k][4] == GOLD]
                channels[channel] = {
                    "expected": db.expected,
                    "delivered": db.delivered,
                    "missing": len(db.missing),
                    "duplicated": db.doubled,
                    "resent_after_kill": 0,
                    "unexpected": len(db.unexpected),
                }
                continue
            verdict = self._received(channel, message_id, audience, ids_of)
            if not verdict.ok:
                problems.append(
                    f"{channel} receiver: {verdict.missing} expected keys never accepted,"
                    f" {verdict.duplicated} accepted again without a messenger kill in between"
                    f" (between: {verdict.duplicated_between}), {verdict.unexpected} not"
                    f" expected; e.g. {verdict.examples}"
                )
            channels[channel] = {
                **verdict.summary(),
                "db_delivered": db.delivered,
                "db_missing": len(db.missing),
                "db_duplicated": db.doubled,
                "db_unexpected": len(db.unexpected),
                "db_not_delivered": sum(db.not_delivered.values()),
            }
        for problem in self.receivers.problems:
            problems.append(f"receiver: {problem}")
        self._dump_timeline()

        public = http.get(f"/api/imports/{import_id}").json()
        counts_ok = public["counts"] == expected.counts() and public["status"] == "completed"
        if not counts_ok:
            problems.append(
                f"import {public['status']} with counts {public['counts']},"
                f" expected {expected.counts()} (error: {public.get('error')})"
            )
        report = sql(dsn, "SELECT count(*) AS n FROM import_errors WHERE import_id = $1", import_id)
        if report[0]["n"] != public["counts"]["failed"]:
            problems.append(
                f"the error report has {report[0]['n']} rows for {public['counts']['failed']}"
                " failed records"
            )
        leftovers = sql(
            dsn,
            "SELECT (SELECT count(*) FROM outbox) AS outbox,"
            " (SELECT count(*) FROM deliveries WHERE status = 'pending') AS pending",
        )[0]
        if leftovers["outbox"] or leftovers["pending"]:
            problems.append(f"left behind: {dict(leftovers)}")
        if lost:
            problems.insert(0, f"{len(lost)} people lost or wrong")
        if duplicated:
            problems.insert(0, f"{duplicated} people duplicated")
        if in_app_missing or in_app_doubled or in_app_unexpected:
            problems.insert(
                0,
                f"in-app deliveries: {len(in_app_missing)} missing ({len(missing_now)} of people"
                f" who match now, {len(in_app_missing) - len(missing_now)} of people who matched"
                f" only after an earlier record), {in_app_doubled} duplicated,"
                f" {len(in_app_unexpected)} to people who never matched",
            )

        bootstrap = self.stack.broker.bootstrap
        try:
            dead = asyncio.run(
                _dead_letters(bootstrap, f"{PREFIX}dead-letters", self.stack.partitions)
            )
        except Exception as exc:
            dead = Counter({f"cannot read the dead-letter topic: {exc!r}": 1})
        for reason, n in dead.most_common():
            say(f"dead letters: {n} x {reason}")
        try:
            with_data = asyncio.run(
                _partitions_with_data(bootstrap, f"{PREFIX}row-chunks", self.stack.partitions)
            )
        except Exception as exc:
            say(f"cannot read the row-chunks end offsets: {exc!r}")
            with_data = []
        leader_kills = [f for f in self.faults if f.target == "leader" and f.during_import]
        if leader_kills and len(self.replicas) != min(3, self.opts.kafka_nodes):
            problems.append(f"row-chunks[{self.partition}] has replicas {self.replicas}")
        if leader_kills and with_data and with_data != [self.partition]:
            problems.append(
                f"the leader kills aimed at row-chunks[{self.partition}], but the chunks are on"
                f" partitions {with_data}"
            )

        during = [f for f in self.faults if f.during_import]
        kills = sum(f.kind == "kill" for f in during)
        broker = sum(f.kind == "broker" for f in during)
        database = sum(f.kind == "database" for f in during)
        if kills < MIN_KILLS or not broker or not database:
            problems.append(
                f"too few faults while the import ran: {kills} kills, {broker} broker faults and"
                f" {database} database restarts"
            )
        summary: dict[str, Any] = {
            "rows": expected.rows,
            "kills": kills,
            "service_kills": kills,
            "broker_restarts": broker,
            "broker_leader_kills": len(leader_kills),
            "db_restarts": database,
            "lost": len(lost),
            "duplicated": duplicated,
            "deliveries_missing": len(in_app_missing),
            "deliveries_duplicated": in_app_doubled,
            "channels": channels,
            "seconds": 0.0,
            "deliveries_unexpected": len(in_app_unexpected),
            "deliveries_missing_matching_now": len(missing_now),
            "counts_exact": counts_ok,
            "completed": public["status"] == "completed",
            "kafka_nodes": self.opts.kafka_nodes,
            "row_chunks_partition": self.partition,
            "row_chunks_replicas": self.replicas,
            "row_chunks_partitions_with_data": with_data,
            "messenger_deaths": len(self.supervisor.deaths("messenger")),
            "faults_after_import": len(self.faults) - len(during),
            "service_exits": len(self.supervisor.exits),
            "dead_letters": sum(dead.values()),
            "seed": self.opts.seed,
        }
        return Outcome(summary, problems)

    def _dump_timeline(self) -> None:
        """``<home>/timeline.json``: every attempt at the receivers, the faults and the
        messenger's deaths, in seconds from the start of the import, to read a verdict back."""

        def rel(t: float) -> float:
            return round(t - self.t_import, 3)

        def attempts(found: list[Any]) -> list[dict[str, Any]]:
            return [
                {
                    "key": a.key,
                    "received": rel(a.received_at),
                    "answered": rel(a.answered_at),
                    "status": a.status,
                    "client_gone": a.client_gone,
                }
                for a in found
            ]

        timeline = {
            "messages": self.messages,
            "faults": [
                {"kind": f.kind, "target": f.target, "at": rel(f.started), "detail": f.detail}
                for f in self.faults
                if f.started
            ],
            "messenger_deaths": [rel(t) for t in self.supervisor.deaths("messenger")],
            "webhook": attempts(self.receivers.webhooks()),
            "email": attempts(self.receivers.mails()),
        }
        path = self.opts.home / "timeline.json"
        path.write_text(json.dumps(timeline, indent=1))
        say(f"timeline of the sends and faults: {path}")

    def _received(
        self, channel: str, message_id: str, audience: set[Key], ids_of: dict[Key, list[str]]
    ) -> ChannelVerdict:
        """What the channel's receiver accepted against the expected idempotency keys."""
        expected_keys = {
            f"{message_id}:{contact_id}"
            for person in audience
            for contact_id in ids_of.get(person, [f"<lost {person}>"])
        }
        attempts = self.receivers.webhooks() if channel == "webhook" else self.receivers.mails()
        accepted = [(a.key, a.received_at) for a in attempts if a.accepted]
        for key in sorted({k for k, _ in accepted if k not in expected_keys}, key=str)[:3]:
            say(f"{channel}: accepted a key nobody expected: {key}")
        return classify(
            expected_keys,
            accepted,
            self.supervisor.deaths("messenger"),
            {
                "db_restart": [f.started for f in self.faults if f.kind == "database"],
                "broker_fault": [f.started for f in self.faults if f.kind == "broker"],
            },
        )


def run(opts: Options) -> Outcome:
    """Run one chaos session; the outcome's summary is the JSON line, problems say what failed."""
    chaos = Chaos(opts)
    outcome = chaos.run()
    for fault in chaos.faults:
        say(f"fault: {fault.describe()}")
    for when, name, code in chaos.supervisor.exits:
        say(f"exit on its own: {name} ({code}) at {when - chaos.t_import:.1f}s")
    for problem in outcome.problems:
        say(f"PROBLEM: {problem}")
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--kills", type=int, default=7)
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--chunk-rows", type=int, default=1000)
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--home", type=Path, default=HOME / "run")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the import")
    parser.add_argument(
        "--kafka-nodes",
        type=int,
        default=3,
        help="3 (default): a KRaft cluster, the broker fault kills a partition leader; 1: one"
        " broker, restarted",
    )
    parser.add_argument(
        "--broker-faults", type=int, default=1, help="broker restarts or leader kills (>= 1)"
    )
    args = parser.parse_args()
    if args.broker_faults < 1:
        parser.error("--broker-faults must be at least 1")
    if args.kills < MIN_KILLS:
        parser.error(f"--kills must be at least {MIN_KILLS}")
    opts = Options(
        rows=args.rows,
        kills=args.kills,
        seed=args.seed if args.seed is not None else random.randrange(1, 1_000_000),
        home=args.home,
        port_offset=args.port_offset,
        chunk_rows=args.chunk_rows,
        timeout_s=args.timeout,
        kafka_nodes=args.kafka_nodes,
        broker_faults=args.broker_faults,
    )
    try:
        outcome = run(opts)
    except Exception as exc:  # the line must still come, and say why
        say(f"PROBLEM: the run broke off: {exc!r}")
        outcome = Outcome({"rows": opts.rows, "error": repr(exc)}, [repr(exc)])
    timings = outcome.summary.pop("timings", {})
    say(f"timings: {timings}")
    print(json.dumps({**outcome.summary, **({"timings": timings} if timings else {})}), flush=True)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
