"""``make chaos``: a large CSV import while services are SIGKILLed and Kafka and PostgreSQL restart.

``python -m tests.chaos.run --rows 200000`` runs a whole Usher (its own Kafka, PostgreSQL and the
four services, under ``.usher/chaos``, on ports no other stack uses) and:

1. imports a seed file (trigger_messages off), then creates a live auto in-app message whose
   audience (``custom.tier = gold``) matches about half of the people, and waits for its
   activation deliveries;
2. uploads the import file (:mod:`tests.chaos.data`) and starts it;
3. while it runs, at random moments spread over its progress: SIGKILLs the parser, merger,
   messenger and upload service (the upload one between requests: the harness follows progress
   in SQL) and restarts each after a short pause; restarts the Kafka broker once (stop, start,
   wait until it answers) and kills PostgreSQL once (SIGKILL of the whole server, start, crash
   recovery). A supervisor thread restarts any service that exits on its own, as ``make run``
   does, and reports it;
4. after the import completed and the pipeline went quiet, checks against the expected outcome:
   the people (role, user_id, email, name, tier, tags), the import's counts, and exactly one
   delivery for each person who matched after any record, none for anybody else.

Its last line is one JSON object: ``rows``; ``kills``, ``broker_restarts``, ``db_restarts``
(those that happened while the import ran); ``lost`` (expected people missing or in another
state), ``duplicated`` (people beyond the expected ones); ``deliveries_missing``,
``deliveries_duplicated``; ``seconds`` (import start to checked); then details. The exit code
is non-zero when a check failed, the import did not complete, or fewer faults than 5 kills, a
broker and a database restart hit the running import.
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
from aiokafka import TopicPartition

from infra.processes import kill_pidfile
from infra.stack import SERVICES, Stack
from shared import db
from tests.chaos.data import (
    AUDIENCE,
    CUSTOM,
    GOLD,
    MAPPING,
    SEED_TAG,
    TAG,
    Expected,
    Key,
    generate,
)
from tests.topics import read_from_start

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / ".usher" / "chaos"
ADMIN = "chaos-admin-token"
PREFIX = "usher-chaos."
MIN_KILLS = 5
MAX_GAP_S = 10.0  # seconds between faults when the import does not progress
HURRY_AT = 0.6  # share of records applied after which the remaining faults come at once
SERVICE_RESTARTS_LIMIT = 30  # restarts of one service on its own within 5 minutes: a crash loop


@dataclass
class Options:
    rows: int = 200_000
    kills: int = 7
    seed: int = 1
    home: Path = HOME / "run"
    port_offset: int = 0  # added to every port: 29092 (Kafka), 27432 (PostgreSQL), 28000 (HTTP)
    chunk_rows: int = 1000
    timeout_s: float = 1800.0  # start → completed, faults included
    quiet_s: float = 20.0  # after completion, before checking (the messenger sweeps every 5 s)


@dataclass
class Fault:
    kind: str  # "kill", "broker" or "database"
    target: str  # a service name, "kafka" or "postgres"
    at_progress: float  # share of records applied when it is due
    progress: float | None = None  # the share when it happened
    during_import: bool = False
    seconds: float = 0.0  # from the start of the import

    def describe(self) -> str:
        what = {"kill": f"SIGKILL {self.target}", "broker": "restart Kafka"}.get(
            self.kind, "kill -9 PostgreSQL"
        )
        where = f"{self.progress:.0%} applied" if self.progress is not None else "progress unknown"
        return f"{what} at {self.seconds:.1f}s ({where})"


@dataclass
class Outcome:
    summary: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def say(message: str) -> None:
    print(f"chaos {time.strftime('%H:%M:%S')} {message}", flush=True)


def make_stack(opts: Options) -> Stack:
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
        extra_env={
            "USHER_ADMIN_TOKEN": ADMIN,
            "USHER_RATE_LIMIT_PER_MINUTE": "0",
            "USHER_LOG_LEVEL": "INFO",
            "USHER_CHUNK_ROWS": str(opts.chunk_rows),
        },
    )


def fresh_home(home: Path) -> None:
    """Stop what a previous run left (its pid files name the processes), then start empty."""
    kill_pidfile(home / "kafka" / "broker.pid", "kafka.Kafka")
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


class Supervisor(threading.Thread):
    """Restarts services that exit on their own (an unexpected error, a lost broker), as the
    supervisor of ``make run`` does (:meth:`Stack.restart_dead`); deliberate kills take the
    service out of ``stack.services`` first, so they are not seen as exits."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True, name="chaos-supervisor")
        self.stack = stack
        self.exits: list[tuple[float, str, int]] = []
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
            self.stack.stop_service(name, signal.SIGKILL, timeout_s=5)
        time.sleep(pause_s)
        for name in names:
            self.stack.start_service(name)


class Chaos:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.stack = make_stack(opts)
        self.supervisor = Supervisor(self.stack)
        self.faults: list[Fault] = []
        self.t_import = 0.0

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> Outcome:
        started = time.monotonic()
        opts = self.opts
        say(f"{opts.rows:,} rows, {opts.kills} kills, seed {opts.seed}, home {opts.home}")
        fresh_home(opts.home)
        seed_csv, import_csv, expected = generate(opts.rows, opts.home / "input", opts.seed)
        say(
            f"expected: {expected.counts()}, {len(expected.people):,} people,"
            f" {len(expected.audience):,} deliveries ({expected.seed_audience:,} at activation)"
        )
        stack = self.stack
        try:
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
        seeded = self._import(http, seed_csv, SEED_TAG, trigger_messages=False)
        seed_status = self._wait_api(http, seeded, 300)
        assert seed_status["status"] == "completed", seed_status
        message = http.post(
            "/api/messages",
            json={
                "name": "Gold tier",
                "type": "auto",
                "channel": "in_app",
                "subject": "Hello {{name}}",
                "body": "You are {{custom.tier}}",
                "audience": AUDIENCE,
                "state": "live",
            },
        )
        assert message.status_code == 201, message.text
        message_id = message.json()["id"]
        self._wait_deliveries(message_id, expected.seed_audience, 180)
        say(f"seed imported, message live, {expected.seed_audience:,} activation deliveries")

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
        self._wait_quiet(message_id, len(expected.audience))
        quiet_s = time.monotonic() - quiet_started
        outcome = self._check(http, workspace["id"], import_id, message_id, expected)
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

    def _delivery_count(self, message_id: str) -> int:
        rows = sql(
            self.stack.dsn, "SELECT count(*) AS n FROM deliveries WHERE message_id = $1", message_id
        )
        return int(rows[0]["n"])

    def _wait_deliveries(self, message_id: str, n: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._delivery_count(message_id) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the activation did not deliver {n} messages in time")
            time.sleep(0.3)

    # -- faults -----------------------------------------------------------------------------

    def plan(self) -> list[Fault]:
        """Each service killed once, more kills at random, one broker and one database restart,
        due at random points of the import's progress (see :meth:`_faults_until_done`).

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
        early = [("kill", "merger"), ("broker", "kafka"), ("database", "postgres")]
        late = [("kill", name) for name in ("upload", *extra)]
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
        for fault in faults:
            fault.seconds, fault.progress = at, progress
            late = "" if fault.during_import else " (after the import finished)"
            say(fault.describe() + late)
        stack = self.stack
        kind = faults[0].kind
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

    # -- the checks -------------------------------------------------------------------------

    def _wait_quiet(self, message_id: str, wanted: int) -> None:
        """At least ``quiet_s``; then until the outbox is empty and deliveries stopped changing
        for 10 s (at most 3 minutes: what is missing then stays missing)."""
        deadline = time.monotonic() + 180
        time.sleep(self.opts.quiet_s)
        last, stable_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            try:
                count = self._delivery_count(message_id)
                outbox = sql(self.stack.dsn, "SELECT count(*) AS n FROM outbox")[0]["n"]
            except Exception:
                time.sleep(1)
                continue
            if count != last:
                last, stable_since = count, time.monotonic()
            if outbox == 0 and (count == wanted or time.monotonic() - stable_since >= 10):
                return
            time.sleep(1)

    def _check(
        self,
        http: httpx.Client,
        workspace_id: str,
        import_id: str,
        message_id: str,
        expected: Expected,
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
        found: dict[Key, list[tuple[Any, ...]]] = {}
        for c in contacts:
            key: Key = (
                ("user_id", c["user_id"])
                if c["user_id"] is not None
                else ("email", c["email"].lower())
            )
            key_of[c["id"]] = key
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

        delivered = sql(
            dsn,
            "SELECT contact_id, status FROM deliveries WHERE message_id = $1",
            message_id,
        )
        per_person = Counter(
            key_of.get(d["contact_id"], ("id", d["contact_id"])) for d in delivered
        )
        missing = [k for k in expected.audience if per_person[k] == 0]
        doubled = sum(n - 1 for k, n in per_person.items() if k in expected.audience and n > 1)
        unexpected = [k for k in per_person if k not in expected.audience]
        not_delivered = Counter(d["status"] for d in delivered if d["status"] != "delivered")
        # A person missing a delivery who matches now was never handled at all; one who does not
        # match now matched only after an earlier record (a later one changed them again).
        missing_now = [k for k in missing if expected.people[k][4] == GOLD]
        for k in [*missing_now[:5], *missing[:5]]:
            problems.append(f"no delivery for {k}: {found.get(k)}")
        for k in unexpected[:10]:
            problems.append(f"delivery to {k}, who never matched: {found.get(k)}")
        if not_delivered:
            problems.append(f"deliveries not delivered: {dict(not_delivered)}")

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
        if missing or doubled or unexpected:
            problems.insert(
                0,
                f"deliveries: {len(missing)} missing ({len(missing_now)} of people who match"
                f" now, {len(missing) - len(missing_now)} of people who matched only after an"
                f" earlier record), {doubled} duplicated, {len(unexpected)} to people who never"
                " matched",
            )

        try:
            dead = asyncio.run(
                _dead_letters(
                    self.stack.broker.bootstrap, f"{PREFIX}dead-letters", self.stack.partitions
                )
            )
        except Exception as exc:
            dead = Counter({f"cannot read the dead-letter topic: {exc!r}": 1})
        for reason, n in dead.most_common():
            say(f"dead letters: {n} x {reason}")

        during = [f for f in self.faults if f.during_import]
        kills = sum(f.kind == "kill" for f in during)
        broker = sum(f.kind == "broker" for f in during)
        database = sum(f.kind == "database" for f in during)
        if kills < MIN_KILLS or not broker or not database:
            problems.append(
                f"too few faults while the import ran: {kills} kills, {broker} broker and"
                f" {database} database restarts"
            )
        summary: dict[str, Any] = {
            "rows": expected.rows,
            "kills": kills,
            "broker_restarts": broker,
            "db_restarts": database,
            "lost": len(lost),
            "duplicated": duplicated,
            "deliveries_missing": len(missing),
            "deliveries_duplicated": doubled,
            "seconds": 0.0,
            "deliveries_unexpected": len(unexpected),
            "deliveries_missing_matching_now": len(missing_now),
            "counts_exact": counts_ok,
            "completed": public["status"] == "completed",
            "faults_after_import": len(self.faults) - len(during),
            "service_exits": len(self.supervisor.exits),
            "dead_letters": sum(dead.values()),
            "seed": self.opts.seed,
        }
        return Outcome(summary, problems)


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
    args = parser.parse_args()
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
