"""Run Usher on this machine without Docker: Kafka, PostgreSQL and the four services.

``python -m infra.stack run`` is what ``make run`` calls: it provisions and starts everything in
the foreground, restarts a service that dies, and stops everything on Ctrl-C or SIGTERM
(services first, then Kafka, then PostgreSQL), leaving no process behind. Data lives under
``.usher/run`` (git-ignored) and survives restarts. Tests use :class:`Stack` with their own
ports and folder, so they run beside ``make run``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra.kafka_broker import KafkaBroker, KafkaCluster
from infra.postgres_server import PostgresServer
from infra.processes import spawn, stop
from shared import db, kafka
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("upload", "parser", "merger", "messenger")


@dataclass
class Stack:
    """One Usher installation: its ports, data folder and child processes.

    Listening ports stay below Linux's ephemeral range (32768–60999): a port in it can be taken
    at any moment by an outgoing connection's local end, and the server then fails to bind.
    """

    home: Path
    kafka_port: int = 9092
    controller_port: int = 9093
    pg_port: int = 15432
    http_port: int = 8000
    worker_port_base: int = 6101
    topic_prefix: str = "usher."
    partitions: int = 8
    database_url: str | None = None  # an external server; None = run our own
    extra_env: dict[str, str] = field(default_factory=dict)
    pg_settings: tuple[str, ...] = ()
    # 1: one Kafka broker (kafka_port, controller_port). More: a KafkaCluster of that many
    # nodes on kafka_port + 2 * i and controller_port + 2 * i, topics replicated to 3 nodes
    # (or all, when fewer) with min ISR one less.
    kafka_nodes: int = 1
    kafka_heap: str = "512m"  # per node of a cluster (the single broker keeps its own default)
    services: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: list[tuple[str, int]] = field(default_factory=list)  # (service, exit code)

    def __post_init__(self) -> None:
        import threading

        self._lock = threading.RLock()
        self._started_at: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._supervising = False
        self.home = self.home.resolve()
        self.broker: KafkaBroker | KafkaCluster
        if self.kafka_nodes > 1:
            self.broker = KafkaCluster(
                self.home / "kafka",
                self.kafka_port,
                self.controller_port,
                nodes=self.kafka_nodes,
                heap=self.kafka_heap,
            )
        else:
            self.broker = KafkaBroker(self.home / "kafka", self.kafka_port, self.controller_port)
        self.postgres = PostgresServer(self.home / "postgres", self.pg_port, self.pg_settings)

    @property
    def dsn(self) -> str:
        return self.database_url or self.postgres.dsn()

    @property
    def storage_dir(self) -> Path:
        return self.home / "storage"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def admin_token(self) -> str:
        """``USHER_ADMIN_TOKEN``, else a token generated once and kept under the data folder."""
        given = self.extra_env.get("USHER_ADMIN_TOKEN") or os.environ.get("USHER_ADMIN_TOKEN")
        if given:
            return given
        path = self.home / "admin_token"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def secret_key(self) -> str:
        """``USHER_SECRET_KEY``, else a Fernet key generated once and kept under the data folder."""
        given = self.extra_env.get("USHER_SECRET_KEY") or os.environ.get("USHER_SECRET_KEY")
        if given:
            return given
        path = self.home / "secret_key"
        if not path.exists():
            from cryptography.fernet import Fernet

            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(Fernet.generate_key().decode())
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def cluster(self) -> KafkaCluster | None:
        """The Kafka cluster, or None when this stack runs a single broker."""
        return self.broker if isinstance(self.broker, KafkaCluster) else None

    def _replication(self) -> tuple[int, int] | None:
        """With a cluster: its topics' replication factor and min ISR (3 and 2 on 3 nodes)."""
        if self.kafka_nodes <= 1:
            return None
        replicas = min(3, self.kafka_nodes)
        return replicas, max(1, replicas - 1)

    def _replication_env(self) -> dict[str, str]:
        replication = self._replication()
        if replication is None:
            return {}
        return {
            "USHER_TOPIC_REPLICATION_FACTOR": str(replication[0]),
            "USHER_TOPIC_MIN_INSYNC_REPLICAS": str(replication[1]),
        }

    def settings(self) -> Settings:
        replication = self._replication()
        if replication is None:
            return Settings(
                database_url=self.dsn,
                kafka_bootstrap=self.broker.bootstrap,
                topic_prefix=self.topic_prefix,
                topic_partitions=self.partitions,
            )
        return Settings(
            database_url=self.dsn,
            kafka_bootstrap=self.broker.bootstrap,
            topic_prefix=self.topic_prefix,
            topic_partitions=self.partitions,
            topic_replication_factor=replication[0],
            topic_min_insync_replicas=replication[1],
        )

    def env(self, service: str | None = None, instance: int = 1) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
        env.update(
            {
                "USHER_DATABASE_URL": self.dsn,
                "USHER_KAFKA_BOOTSTRAP": self.broker.bootstrap,
                "USHER_TOPIC_PREFIX": self.topic_prefix,
                "USHER_TOPIC_PARTITIONS": str(self.partitions),
                "USHER_HTTP_PORT": str(self.http_port),
                "USHER_STORAGE_DIR": str(self.storage_dir),
                "USHER_WORKER_DATA_DIR": str(self.home / "faust"),
                "USHER_ADMIN_TOKEN": self.admin_token(),
                "USHER_SECRET_KEY": self.secret_key(),
                "PYTHONUNBUFFERED": "1",
                **self._replication_env(),
            }
        )
        for key, value in os.environ.items():
            if key.startswith("USHER_") and key not in env:
                env[key] = value
        env.update(self.extra_env)
        if service in SERVICES[1:]:
            port = self.worker_port_base + SERVICES.index(service) - 1 + 10 * (instance - 1)
            env["USHER_WORKER_WEB_PORT"] = str(port)
            if instance > 1:
                env["USHER_WORKER_DATA_DIR"] = str(self.home / f"faust-{instance}")
        return env

    # -- infrastructure -------------------------------------------------------------------

    def start_postgres(self) -> None:
        if self.database_url:
            return
        self.postgres.start()
        asyncio.run(db.wait_ready(self.postgres.dsn("postgres")))
        self.postgres.create_database("usher")

    def start_kafka(self) -> None:
        self.broker.start()
        if isinstance(self.broker, KafkaCluster):
            asyncio.run(self.broker.wait_ready(timeout_s=120))
        else:
            asyncio.run(kafka.wait_ready(self.broker.bootstrap, timeout_s=90))

    def start_infra(self) -> None:
        """PostgreSQL and Kafka up and ready, schema migrated, topics created. Idempotent."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        asyncio.run(db.migrate(self.dsn))
        self.start_kafka()
        asyncio.run(kafka.ensure_topics(self.settings()))

    def stop_infra(self) -> None:
        self.broker.stop()
        self.postgres.stop()

    # -- services -------------------------------------------------------------------------

    def start_service(self, name: str) -> subprocess.Popen[bytes]:
        """Start ``name``: a service, or ``<service>-<n>`` for its n-th process (a worker's
        extra processes join the same consumer group and share its partitions)."""
        service, _, instance = name.partition("-")
        proc = spawn(
            [sys.executable, "-m", f"services.{service}.main"],
            log_path=self.home / "logs" / f"{name}.log",
            env=self.env(service, int(instance or 1)),
            cwd=ROOT,
            # If this process dies without stopping them, nothing could escalate a SIGTERM a
            # busy worker ignores; a kill is safe: every effect is at-least-once and idempotent.
            death_signal=signal.SIGKILL,
        )
        self.services[name] = proc
        self._started_at[name] = time.monotonic()
        return proc

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 20) -> None:
        with self._lock:
            proc = self.services.pop(name, None)
        if proc is not None:
            stop(proc, sig, timeout_s)

    def start_services(self) -> None:
        for name in SERVICES:
            self.start_service(name)

    def wait_http(self, timeout_s: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            proc = self.services.get("upload")
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"upload exited with {proc.returncode}; see its log")
            time.sleep(0.2)
        raise TimeoutError(f"the upload service did not answer on {self.base_url} in time")

    def stop_services(self) -> None:
        self._supervising = False
        for name in reversed(SERVICES):
            self.stop_service(name)

    def restart_dead(self) -> list[str]:
        """Start again every service that exited on its own (a worker exits on an unexpected
        error, by design); returns their names. Stopped services are not in ``services``.

        A service that keeps dying soon after its start (say Kafka is down) is restarted with
        back-off, 1 s doubling up to 30 s, instead of in a tight loop.
        """
        restarted = []
        now = time.monotonic()
        with self._lock:
            for name, proc in list(self.services.items()):
                if proc.poll() is None or self.services.get(name) is not proc:
                    continue
                if name not in self._retry_at:
                    quick = now - self._started_at.get(name, 0.0) < 30
                    self._failures[name] = self._failures.get(name, 0) + 1 if quick else 0
                    delay = min(30.0, 2.0 ** (self._failures[name] - 1)) if quick else 0.0
                    self._retry_at[name] = now + delay
                    self.restarts.append((name, proc.returncode))
                if now >= self._retry_at[name]:
                    del self._retry_at[name]
                    self.start_service(name)
                    restarted.append(name)
        return restarted

    def supervise(self, interval_s: float = 0.5) -> None:
        """Restart dead services from a background thread until ``stop_services``."""
        import threading

        self._supervising = True

        def loop() -> None:
            while self._supervising:
                self.restart_dead()
                time.sleep(interval_s)

        threading.Thread(target=loop, name="supervisor", daemon=True).start()

    def stop_all(self) -> None:
        self.stop_services()
        self.stop_infra()


def _run(stack: Stack) -> int:
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("usher: starting PostgreSQL and Kafka …", flush=True)
        stack.start_infra()
        print("usher: starting upload, parser, merger, messenger …", flush=True)
        stack.start_services()
        stack.wait_http()
        print(
            f"\nUsher is running.\n"
            f"  Web UI:      {stack.base_url}/\n"
            f"  HTTP API:    {stack.base_url}/api\n"
            f"  Admin token: {stack.admin_token()}\n"
            f"  Logs:        {stack.home / 'logs'}\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            time.sleep(0.5)
            for name in stack.restart_dead():
                failures = stack._failures.get(name, 0)
                note = f" (failed {failures} times in a row; see its log)" if failures > 1 else ""
                print(f"usher: {name} exited; restarted{note}", flush=True)
        return 0
    finally:
        print("usher: stopping …", flush=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop_all()
        print("usher: stopped.", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.stack")
    parser.add_argument("command", choices=["run", "infra"])
    parser.add_argument(
        "--home", default=os.environ.get("USHER_HOME", str(ROOT / ".usher" / "run"))
    )
    args = parser.parse_args()
    stack = Stack(
        Path(args.home),
        http_port=int(os.environ.get("USHER_HTTP_PORT", "8000")),
        kafka_port=int(os.environ.get("USHER_KAFKA_PORT", "9092")),
        controller_port=int(os.environ.get("USHER_KAFKA_CONTROLLER_PORT", "9093")),
        pg_port=int(os.environ.get("USHER_PG_PORT", "15432")),
        partitions=int(os.environ.get("USHER_TOPIC_PARTITIONS", "8")),
        database_url=os.environ.get("USHER_DATABASE_URL") or None,
    )
    if args.command == "infra":
        stack.start_infra()
        print(f"infra ready: kafka {stack.broker.bootstrap}, postgres {stack.dsn}", flush=True)
        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            stack.stop_infra()
        return 0
    return _run(stack)


if __name__ == "__main__":
    sys.exit(main())
