"""The verdict of a chaos run: waiting until the pipeline is quiet, then comparing the people,
the import's counts, the delivery rows and what the receivers accepted with the expected
outcome (:mod:`bench.chaos.checks` classifies the receivers' view)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.chaos.checks import ChannelVerdict, classify, stored
from bench.chaos.data import CHANNELS, GOLD, Expected, Key
from bench.chaos.session import MIN_KILLS, PREFIX, QUIET_CAP_S, STALL_S, Outcome, Session, say
from tests.support.api import Api
from tests.support.db import query
from tests.support.topics import read_from_start


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


class Verify:
    """The checks of ``session`` once its import is done."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.stack = session.stack
        self.opts = session.opts
        self.receivers = session.receivers
        self.supervisor = session.supervisor

    def delivery_counts(self) -> dict[tuple[str, str], int]:
        """(channel, status) -> delivery rows of the run's messages."""
        channel_of = {m: c for c, m in self.session.messages.items()}
        rows = query(
            self.stack.dsn,
            "SELECT message_id, status, count(*) AS n FROM deliveries"
            " WHERE message_id = ANY($1::text[]) GROUP BY 1, 2",
            list(channel_of),
        )
        return {(channel_of[r["message_id"]], r["status"]): int(r["n"]) for r in rows}

    def wait_quiet(self, wanted: dict[str, int]) -> None:
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
                counts = self.delivery_counts()
                outbox = query(self.stack.dsn, "SELECT count(*) AS n FROM outbox")[0]["n"]
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

    def people_state(self, api: Api) -> dict[str, Any]:
        """Every person of the workspace by id, as the checks compare them."""
        rows = query(
            self.stack.dsn,
            "SELECT id, role, user_id, email, name, phone, custom, tags FROM contacts"
            " WHERE workspace_id = $1",
            api.workspace_id,
        )
        return {
            r["id"]: (
                r["role"],
                r["user_id"],
                r["email"],
                r["name"],
                r["phone"],
                tuple(sorted(r["custom"].items())),
                tuple(sorted(t.lower() for t in r["tags"])),
            )
            for r in rows
        }

    def check(self, api: Api, import_id: str, expected: Expected) -> Outcome:
        dsn = self.stack.dsn
        problems: list[str] = []
        contacts = query(
            dsn,
            "SELECT id, role, user_id, email, name, tags, custom->>'tier' AS tier"
            " FROM contacts WHERE workspace_id = $1",
            api.workspace_id,
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

        rows = query(
            dsn,
            "SELECT message_id, contact_id, status FROM deliveries"
            " WHERE message_id = ANY($1::text[])",
            list(self.session.messages.values()),
        )
        channels: dict[str, dict[str, Any]] = {}
        in_app_missing: list[Key] = []
        in_app_doubled = 0
        in_app_unexpected: list[Any] = []
        missing_now: list[Key] = []
        for channel in CHANNELS:
            message_id = self.session.messages[channel]
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
            verdict = self.received(channel, message_id, audience, ids_of)
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
        self.dump_timeline()

        public = api.status(import_id)
        wanted = expected.counts()
        shown = {k: public["counts"][k] for k in wanted}
        counts_ok = shown == wanted and public["status"] == "completed"
        if not counts_ok:
            problems.append(
                f"import {public['status']} with counts {public['counts']},"
                f" expected {expected.counts()} (error: {public.get('error')})"
            )
        report = query(
            dsn, "SELECT count(*) AS n FROM import_errors WHERE import_id = $1", import_id
        )
        if report[0]["n"] != public["counts"]["failed"]:
            problems.append(
                f"the error report has {report[0]['n']} rows for {public['counts']['failed']}"
                " failed records"
            )
        leftovers = query(
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
        leader_kills = [f for f in self.session.faults if f.target == "leader" and f.during_import]
        if leader_kills and len(self.session.replicas) != min(3, self.opts.kafka_nodes):
            problems.append(
                f"row-chunks[{self.session.partition}] has replicas {self.session.replicas}"
            )
        if leader_kills and with_data and with_data != [self.session.partition]:
            problems.append(
                f"the leader kills aimed at row-chunks[{self.session.partition}], but the chunks are on"
                f" partitions {with_data}"
            )

        during = [f for f in self.session.faults if f.during_import]
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
            "row_chunks_partition": self.session.partition,
            "row_chunks_replicas": self.session.replicas,
            "row_chunks_partitions_with_data": with_data,
            "messenger_deaths": len(self.supervisor.deaths("messenger")),
            "faults_after_import": len(self.session.faults) - len(during),
            "service_exits": len(self.supervisor.exits),
            "dead_letters": sum(dead.values()),
            "seed": self.opts.seed,
        }
        return Outcome(summary, problems)

    def dump_timeline(self) -> None:
        """``<home>/timeline.json``: every attempt at the receivers, the faults and the
        messenger's deaths, in seconds from the start of the import, to read a verdict back."""

        def rel(t: float) -> float:
            return round(t - self.session.t_import, 3)

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
            "messages": self.session.messages,
            "faults": [
                {"kind": f.kind, "target": f.target, "at": rel(f.started), "detail": f.detail}
                for f in self.session.faults
                if f.started
            ],
            "messenger_deaths": [rel(t) for t in self.supervisor.deaths("messenger")],
            "webhook": attempts(self.receivers.webhooks()),
            "email": attempts(self.receivers.mails()),
        }
        path = self.opts.home / "timeline.json"
        path.write_text(json.dumps(timeline, indent=1))
        say(f"timeline of the sends and faults: {path}")

    def received(
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
                "db_restart": [f.started for f in self.session.faults if f.kind == "database"],
                "broker_fault": [f.started for f in self.session.faults if f.kind == "broker"],
            },
        )
