"""Settings shared by every Usher process, read from ``USHER_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Usher reads. Unset values take the defaults below (those of ``make run``)."""

    model_config = SettingsConfigDict(env_prefix="USHER_", extra="ignore")

    database_url: str = "postgresql://usher@127.0.0.1:15432/usher"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = "usher."
    topic_partitions: int = Field(default=8, ge=1)
    # A cluster of 3 brokers: 3 and 2, so a broker can die without losing an acknowledged write.
    topic_replication_factor: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int = Field(default=1, ge=1)

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    admin_token: str | None = None
    storage_dir: Path = Path(".usher/run/storage")
    max_upload_bytes: int = 1024**3  # a file upload, and the body of POST /api/users/bulk
    max_json_bytes: int = 64 * 1024**2  # the body of POST /api/events/bulk
    max_request_bytes: int = Field(default=1024**2, ge=1024)  # any other request body
    rate_limit_per_minute: int = Field(default=6000, ge=0)  # per token; 0 turns it off
    # Per client address, checked before any token is looked up; 0 turns each off.
    rate_limit_per_ip_per_minute: int = Field(default=30000, ge=0)
    auth_failures_per_minute: int = Field(default=60, ge=0)  # wrong tokens, admin guesses
    secret_key: str | None = None  # Fernet key for connector credentials (and cursor signing)
    api_docs: bool = False  # serve /docs and /redoc (Swagger UI loads from a CDN)
    api_statement_timeout_s: float = Field(default=10.0, gt=0)
    worker_statement_timeout_s: float = Field(default=120.0, gt=0)

    # Requests on a user's behalf (webhooks, vendor pulls) never reach non-public addresses
    # (SPEC §8) except these: comma-separated IPs or CIDRs, e.g. a local test double.
    allowed_private_hosts: str = ""

    chunk_rows: int = Field(default=5000, ge=1)
    db_pool_size: int = Field(default=4, ge=1)
    worker_web_port: int = 0  # faust web / liveness port of a worker; 0 = the service's default
    worker_web_bind: str = "127.0.0.1"  # the address a worker's /healthz and /metrics listen on
    worker_data_dir: Path = Path(".usher/run/faust")  # faust's local state (no tables are used)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    smtp_from: str = "Usher <no-reply@usher.local>"

    webhook_timeout_s: float = 5.0
    webhook_attempts: int = Field(default=5, ge=1)
    # One email or webhook send, every attempt and back-off included, ends within this; a
    # crashed sender's claim on it runs out 30 s later, and the sweeper sends it again.
    send_deadline_s: float = Field(default=120.0, gt=0)
    sends_per_workspace: int = Field(default=4, ge=1)  # email/webhook sends in flight
    sends_in_flight: int = Field(default=32, ge=1)  # all workspaces together

    files_in_flight: int = Field(default=4, ge=1)  # file imports read at once, all workspaces
    pulls_per_workspace: int = Field(default=2, ge=1)  # remote pulls running at once
    pulls_in_flight: int = Field(default=16, ge=1)  # all workspaces together
    pull_max_wait_s: float = Field(default=1800.0, gt=0)  # a vendor's back-off, in all, per pull

    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
