"""What a chaos run is made of: its options, the stack and receivers it builds, the faults it
plans, the supervisor that restarts what exits, and the state the steps share (:class:`Session`).
"""

from __future__ import annotations

import random
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.partitioner import murmur2

from bench.chaos.receivers import Receivers
from infra.processes import kill_pidfile
from infra.stack import Stack

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


class Session:
    """The state the steps of one run share: the stack, the receivers, the supervisor, the
    faults planned and when they hit, the messages and the partition the import's chunks use."""

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
