"""A single-node Apache Kafka broker (KRaft) from Maven Central jars in ``.infra/kafka-libs``."""

from __future__ import annotations

import base64
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from infra.processes import kill_pidfile, spawn, stop

ROOT = Path(__file__).resolve().parents[1]
LIBS = ROOT / ".infra" / "kafka-libs"
LOG4J = ROOT / "infra" / "kafka" / "log4j2.xml"


@dataclass
class KafkaBroker:
    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "1g"
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> Path:
        logs = self.data_dir / "log"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(logs),
            "num.partitions": "8",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(16 * 1024 * 1024 + 1024),
            "log.retention.hours": "168",
        }
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
        if not LIBS.exists() or not any(LIBS.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"Kafka jars missing in {LIBS}: run scripts/provision.sh")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pidfile = self.data_dir / "broker.pid"
        kill_pidfile(pidfile, "kafka.Kafka")
        props = self._properties()
        cluster_file = self.data_dir / "cluster.id"
        if not cluster_file.exists():
            cluster_file.write_text(
                base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            )
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
        self.proc = spawn(
            self._java("kafka.Kafka", str(props), heap=self.heap),
            log_path=self.data_dir / "broker.out",
        )
        pidfile.write_text(str(self.proc.pid))

    def stop(self, timeout_s: float = 30.0) -> None:
        """Controlled shutdown (SIGTERM), SIGKILL after ``timeout_s``."""
        if self.proc is not None:
            stop(self.proc, signal.SIGTERM, timeout_s)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL, 5)
            self.proc = None
