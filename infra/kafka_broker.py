"""Apache Kafka (KRaft) from Maven Central jars in ``.infra/kafka-libs``: a single-node broker,
or a cluster of several nodes that are each broker and controller (:class:`KafkaCluster`)."""

from __future__ import annotations

import asyncio
import base64
import logging
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.processes import kill_pidfile, spawn, stop

ROOT = Path(__file__).resolve().parents[1]
LIBS = ROOT / ".infra" / "kafka-libs"
LOG4J = ROOT / "infra" / "kafka" / "log4j2.xml"


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID as 22 characters of unpadded base64url."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaBroker:
    """One KRaft node that is broker and controller. Alone (the defaults) it is its own quorum;
    :class:`KafkaCluster` sets ``node_id``, ``voters``, ``replication`` and ``cluster_id``."""

    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "1g"
    node_id: int = 1
    voters: str | None = None  # controller.quorum.voters; None: this node alone
    replication: int = 1  # of the internal topics (min ISR: replication - 1, at least 1)
    cluster_id: str | None = None  # None: generated once, kept in data_dir/cluster.id
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _properties(self) -> Path:
        logs = self.data_dir / "log"
        replicas = str(self.replication)
        min_isr = str(max(1, self.replication - 1))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": (
                self.voters or f"{self.node_id}@127.0.0.1:{self.controller_port}"
            ),
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(logs),
            "num.partitions": "8",
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(16 * 1024 * 1024 + 1024),
            "log.retention.hours": "168",
        }
        if self.replication > 1:
            # Topics that name neither (``__consumer_offsets`` has no min ISR setting of its
            # own) get these; Usher's topics set both explicitly (shared.kafka.ensure_topics).
            props["default.replication.factor"] = replicas
            props["min.insync.replicas"] = min_isr
            # A node that died loses its leaderships when the controller stops hearing from it:
            # after 6 s instead of 9 (heartbeats every second instead of every 2).
            props["broker.session.timeout.ms"] = "6000"
            props["broker.heartbeat.interval.ms"] = "1000"
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def _java(self, *args: str, heap: str | None = None) -> list[str]:
        cmd = ["java"]
        if heap:
            cmd += [f"-Xms{heap}", f"-Xmx{heap}"]
        return [
            *cmd,
            f"-Dkafka.logs.dir={self.data_dir / 'server-logs'}",
            f"-Dlog4j2.configurationFile={LOG4J}",
            "-cp",
            f"{LIBS}/*",
            *args,
        ]

    def start(self) -> None:
        """Format the storage once, then launch the broker. Readiness is checked by the caller."""
        self.format()
        self.launch()

    def format(self) -> None:
        """Stop a leftover broker of this folder, write the properties, format the storage
        (``--ignore-formatted``: a second time does nothing). Safe from any thread."""
        if not LIBS.exists() or not any(LIBS.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"Kafka jars missing in {LIBS}: run scripts/provision.sh")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        kill_pidfile(self.pidfile, "kafka.Kafka")
        props = self._properties()
        cluster_file = self.data_dir / "cluster.id"
        if self.cluster_id is not None:
            cluster_file.write_text(self.cluster_id)
        elif not cluster_file.exists():
            cluster_file.write_text(new_cluster_id())
        cluster_id = cluster_file.read_text().strip()
        subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(props),
                "--ignore-formatted",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def launch(self) -> None:
        """Start the formatted broker. Call it from a thread that lives as long as the broker
        should: the child gets its death signal when the thread that started it ends."""
        self.proc = spawn(
            self._java("kafka.Kafka", str(self.data_dir / "server.properties"), heap=self.heap),
            log_path=self.data_dir / "broker.out",
        )
        self.pidfile.write_text(str(self.proc.pid))

    def stop(self, timeout_s: float = 30.0) -> None:
        """Controlled shutdown (SIGTERM), SIGKILL after ``timeout_s``."""
        if self.proc is not None:
            stop(self.proc, signal.SIGTERM, timeout_s)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL, 5)
            self.proc = None


@dataclass
class KafkaCluster:
    """``nodes`` KRaft nodes, each ``process.roles=broker,controller``, with static voters (all
    of them) and one cluster id, formatted without ``--standalone``. Internal topics (offsets,
    transaction state, share coordinator) get replication ``nodes`` and min ISR ``nodes - 1``.

    Node ``n`` (1-based) listens on ``port + step * (n - 1)`` and its controller on
    ``controller_port + step * (n - 1)``; its data lives in ``data_dir/node-<n>``. The default
    step of 2 keeps a cluster's ports inside ``[port, port + 2 * nodes)``, so two clusters whose
    base ports are 100 apart (``make chaos`` and its short run in ``make test``) never meet.
    The same interface as :class:`KafkaBroker` (``start``, ``stop``, ``kill``, ``bootstrap``),
    plus one node at a time and partition leaders.
    """

    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    nodes: int = 3
    heap: str = "512m"
    step: int = 2
    brokers: dict[int, KafkaBroker] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise ValueError("a cluster needs at least one node")
        ids = range(1, self.nodes + 1)
        voters = ",".join(f"{n}@127.0.0.1:{self._controller_port(n)}" for n in ids)
        for n in ids:
            self.brokers[n] = KafkaBroker(
                self.data_dir / f"node-{n}",
                port=self.port + self.step * (n - 1),
                controller_port=self._controller_port(n),
                heap=self.heap,
                node_id=n,
                voters=voters,
                replication=self.nodes,
            )

    def _controller_port(self, node: int) -> int:
        return self.controller_port + self.step * (node - 1)

    @property
    def bootstrap(self) -> str:
        """Every node: a client that finds one down asks the next."""
        return ",".join(b.bootstrap for b in self.brokers.values())

    @property
    def pidfiles(self) -> list[Path]:
        return [b.pidfile for b in self.brokers.values()]

    def cluster_id(self) -> str:
        """Generated once and kept in ``data_dir/cluster.id``; every node is formatted with it."""
        path = self.data_dir / "cluster.id"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def running(self) -> list[int]:
        return [n for n, b in self.brokers.items() if b.running]

    # -- all nodes ------------------------------------------------------------------------------

    def _each(self, action: Any, nodes: list[int] | None = None) -> None:
        """``action(broker)`` on the nodes at the same time (a JVM takes seconds to boot). Not
        for launching: a child dies with the thread that started it."""
        chosen = [self.brokers[n] for n in (nodes or list(self.brokers))]
        with ThreadPoolExecutor(len(chosen)) as pool:
            for future in [pool.submit(action, b) for b in chosen]:
                future.result()

    def start(self) -> None:
        """Format every node (once) and start them all. Readiness: :meth:`wait_ready`."""
        cluster_id = self.cluster_id()
        for broker in self.brokers.values():
            broker.cluster_id = cluster_id
        self._each(KafkaBroker.format)  # in parallel: a JVM each
        for broker in self.brokers.values():  # from this thread (see KafkaBroker.launch)
            broker.launch()

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to all nodes together (each shuts down in a controlled way while the quorum
        still stands), SIGKILL after ``timeout_s``."""
        self._each(lambda b: b.stop(timeout_s))

    def kill(self) -> None:
        self._each(KafkaBroker.kill)

    # -- one node -------------------------------------------------------------------------------

    def kill_node(self, node: int) -> None:
        """SIGKILL one node: no controlled shutdown, its leaderships move when the controller
        notices (``broker.session.timeout.ms``)."""
        self.brokers[node].kill()

    def stop_node(self, node: int, timeout_s: float = 30.0) -> None:
        self.brokers[node].stop(timeout_s)

    def start_node(self, node: int) -> None:
        """Start one node again on its data (already formatted). Then :meth:`wait_ready`."""
        broker = self.brokers[node]
        broker.cluster_id = self.cluster_id()
        broker.start()

    # -- metadata -------------------------------------------------------------------------------

    async def _admin(self) -> Any:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        await admin.start()
        return admin

    async def _metadata(
        self, topics: list[str] | None, timeout_s: float = 20.0
    ) -> tuple[set[int], list[Any]]:
        """(ids of the brokers the cluster lists, the topics' metadata). The admin client asks
        a random known node, which may be the one that is down: asked again until one answers."""
        from aiokafka.errors import KafkaError

        deadline = time.monotonic() + timeout_s
        quiet = logging.getLogger("aiokafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # "Unable connect" to the node that is down
        try:
            while True:
                try:
                    admin = await self._admin()
                    try:
                        cluster = await admin.describe_cluster()
                        described = await admin.describe_topics(topics)
                    finally:
                        await admin.close()
                    return {b["node_id"] for b in cluster["brokers"]}, described
                except (TimeoutError, KafkaError, OSError):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.3)
        finally:
            quiet.setLevel(level)

    async def wait_ready(self, timeout_s: float = 120.0, nodes: list[int] | None = None) -> None:
        """Until the cluster lists ``nodes`` (default: every running node) as brokers: a node's
        port opens before it has registered, and topics with replication 3 cannot be created
        while fewer than 3 brokers are registered."""
        from aiokafka.errors import KafkaError

        wanted = set(nodes or self.running())
        deadline = time.monotonic() + timeout_s
        seen: set[int] = set()
        while time.monotonic() < deadline:
            try:
                seen, _ = await self._metadata([], timeout_s=0)
                if seen >= wanted:
                    return
            except (TimeoutError, KafkaError, OSError):
                pass
            await asyncio.sleep(0.5)
        raise TimeoutError(
            f"Kafka nodes {sorted(wanted - seen)} did not join the cluster within {timeout_s:.0f}s"
        )

    async def partitions(self, topic: str) -> dict[int, dict[str, Any]]:
        """Partition number → ``{"leader", "replicas", "isr"}`` (leader -1: none right now)."""
        _, described = await self._metadata([topic])
        found: dict[int, dict[str, Any]] = {}
        for t in described:
            if t["topic"] != topic:
                continue
            for p in t["partitions"]:
                found[p["partition"]] = {
                    "leader": p["leader"],
                    "replicas": list(p["replicas"]),
                    "isr": list(p["isr"]),
                }
        return found

    async def leader(
        self, topic: str, partition: int, timeout_s: float = 30.0, other_than: int | None = None
    ) -> int:
        """The node that leads ``topic``'s ``partition`` as the cluster's metadata says now
        (waits out an election). ``other_than``: wait until a node other than this one leads
        (the metadata names a killed leader until the controller fences it)."""
        deadline = time.monotonic() + timeout_s
        while True:
            leader = (await self.partitions(topic)).get(partition, {}).get("leader", -1)
            if leader in self.brokers and leader != other_than:
                return int(leader)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}[{partition}] has no leader after {timeout_s:.0f}s")
            await asyncio.sleep(0.5)

    async def wait_in_sync(self, timeout_s: float = 60.0) -> bool:
        """Until every partition of every topic has all its replicas in sync (a restarted node
        caught up); False when that did not happen within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                _, described = await self._metadata(None)
                lagging = [
                    (t["topic"], p["partition"])
                    for t in described
                    for p in t["partitions"]
                    if set(p["isr"]) != set(p["replicas"])
                ]
                if not lagging:
                    return True
            except Exception:
                pass
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)
