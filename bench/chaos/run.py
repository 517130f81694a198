"""``make chaos``: a large CSV import while services are SIGKILLed, a Kafka broker that leads the
import's partition is SIGKILLed and PostgreSQL is killed, with slow receivers on the other end.

``python -m bench.chaos.run --rows 200000`` runs a whole Usher (its own Kafka, PostgreSQL and the
four services, under ``.usher/chaos``, on ports no other stack uses) and:

1. starts a slow, flaky webhook receiver and a slow SMTP server (`bench.chaos.receivers`)
   on 127.0.0.2, the one loopback address the services may send to
   (``USHER_ALLOWED_PRIVATE_HOSTS``);
2. imports a seed file (trigger_messages off), then creates three live auto messages, one per
   channel (`bench.chaos.data.AUDIENCES`): in-app to everyone with ``custom.tier = gold``
   (about half of the people), webhook and email to about 1 % of those (the gold people whose
   name ends in one of a few suffixes), and waits for their activation deliveries;
3. uploads the import file (`bench.chaos.data`) and starts it;
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
   (`bench.chaos.checks`).

6. then undoes the import (SPEC §6.3) under a new round of the same faults, and checks that
   every person is exactly as before the import (the created ones gone, the updated ones with
   their values and tags back) and that it found no conflict (nobody wrote in between):
   ``undo`` in the JSON line.

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
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from bench.chaos.data import AUDIENCES, CHANNELS, CUSTOM, MAPPING, SEED_TAG, TAG, Expected, generate
from bench.chaos.faults import Faults
from bench.chaos.session import (
    ADMIN,
    HOME,
    MIN_KILLS,
    Options,
    Outcome,
    Session,
    chunk_partition,
    fresh_home,
    say,
)
from bench.chaos.verify import Verify
from tests.support.api import Api


class Chaos(Session):
    """One chaos run: the stack up, the seed in, the messages live, the import under faults,
    then the verdict."""

    def __init__(self, opts: Options) -> None:
        super().__init__(opts)
        self.injector = Faults(self)
        self.verify = Verify(self)

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
        api = Api.new_workspace(stack.base_url, "chaos", admin=ADMIN, timeout_s=300)
        self.partition = chunk_partition(api.workspace_id, stack.partitions)
        seeded = self._import(api, seed_csv, SEED_TAG, trigger_messages=False)
        seed_status = api.wait(seeded, 300, poll_s=0.3, strict=False)
        assert seed_status["status"] == "completed", seed_status
        for channel in CHANNELS:
            self.messages[channel] = self._message(api, channel)
        for channel in CHANNELS:
            self._wait_activation(channel, expected.seed_audiences[channel], 180)
        say(
            "seed imported, messages live, activation deliveries: "
            + ", ".join(f"{c} {expected.seed_audiences[c]:,}" for c in CHANNELS)
        )

        before = self.verify.people_state(api)
        t_upload = time.monotonic()
        import_id = self._import(api, import_csv, TAG, trigger_messages=True)
        self.t_import = time.monotonic()
        upload_s = self.t_import - t_upload
        say(f"import {import_id} uploaded in {upload_s:.1f}s and started")
        status = self.injector.until_done(import_id, expected.rows)
        import_s = time.monotonic() - self.t_import
        say(f"import {status.get('status', 'unknown')} after {import_s:.1f}s")
        for fault in self.faults:
            if not fault.during_import:
                self.injector.hit([fault], expected.rows, import_id)
        quiet_started = time.monotonic()
        self.verify.wait_quiet({c: len(expected.audiences[c]) for c in CHANNELS})
        quiet_s = time.monotonic() - quiet_started
        outcome = self.verify.check(api, import_id, expected)
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
        undo, problems = self._undo(api, import_id, expected, before)
        outcome.summary["undo"] = undo
        outcome.problems.extend(problems)
        return outcome

    def _undo(
        self, api: Api, import_id: str, expected: Expected, before: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """Undo the import under a new round of faults; the people must be as before it."""
        import_faults = self.faults
        started = api.ok("POST", f"/api/imports/{import_id}/undo", 202)
        say(f"undo {started['id']} started")
        self.t_import = time.monotonic()
        status = self.injector.until_done(started["id"], expected.created + expected.updated)
        undo_s = time.monotonic() - self.t_import
        during = [f for f in self.faults if f.during_import]
        for fault in self.faults:
            say(f"undo fault: {fault.describe()}")
        self.faults = import_faults
        final = api.status(started["id"])
        after = self.verify.people_state(api)
        lost = sorted(k for k in before if after.get(k) != before[k])
        left = sorted(k for k in after if k not in before)
        counts = final["counts"]
        summary = {
            "status": final["status"],
            "seconds": round(undo_s, 1),
            "kills": sum(f.kind == "kill" for f in during),
            "broker_faults": sum(f.kind == "broker" for f in during),
            "db_restarts": sum(f.kind == "database" for f in during),
            "deleted": counts["deleted"],
            "reverted": counts["reverted"],
            "conflicts": counts["conflicts"],
            "not_restored": len(lost),
            "left_behind": len(left),
        }
        problems = [f"undo: {k} is {after.get(k)}, was {before[k]}" for k in lost[:10]]
        problems += [f"undo: {k} should be gone, is {after[k]}" for k in left[:10]]
        if status.get("status") != "completed":
            problems.insert(0, f"the undo did not complete: {status}")
        if counts["conflicts"]:
            problems.append(f"undo: {counts['conflicts']} conflicts, but nobody wrote since")
        return summary, problems

    def _message(self, api: Api, channel: str) -> str:
        """A live auto message on ``channel`` to its audience (``AUDIENCES``)."""
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
        message_id: str = api.new_message(**body)["id"]
        return message_id

    def _import(self, api: Api, path: Path, tag: str, trigger_messages: bool) -> str:
        import_id: str = api.upload(path)["id"]
        api.start(
            import_id,
            kind="users",
            mapping=MAPPING,
            custom_attributes=CUSTOM,
            tag=tag,
            trigger_messages=trigger_messages,
        )
        return import_id

    def _wait_activation(self, channel: str, n: int, timeout_s: float) -> None:
        """Until the message's activation made ``n`` rows and none is pending (in-app: raises
        when that takes too long, as before; email and webhook: the checks will tell)."""
        deadline = time.monotonic() + timeout_s
        while True:
            counts = self.verify.delivery_counts()
            done = sum(v for (c, st), v in counts.items() if c == channel and st != "pending")
            if done >= n and not counts.get((channel, "pending")):
                return
            if time.monotonic() > deadline:
                if channel == "in_app":
                    raise TimeoutError(f"the activation did not deliver {n} messages in time")
                say(f"PROBLEM: the {channel} activation made {done} of {n} deliveries in time")
                return
            time.sleep(0.3)


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
    parser = argparse.ArgumentParser(prog="python -m bench.chaos.run")
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
