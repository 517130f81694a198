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

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    admin_token: str | None = None
    storage_dir: Path = Path(".usher/run/storage")
    max_upload_bytes: int = 1024**3
    max_json_bytes: int = 64 * 1024**2
    rate_limit_per_minute: int = Field(default=6000, ge=0)  # per token; 0 turns it off
    secret_key: str | None = None  # Fernet key for connector credentials

    chunk_rows: int = Field(default=5000, ge=1)
    db_pool_size: int = Field(default=4, ge=1)
    worker_web_port: int = 0  # faust web / liveness port of a worker; 0 = the service's default
    worker_data_dir: Path = Path(".usher/run/faust")  # faust's local state (no tables are used)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    smtp_from: str = "Usher <no-reply@usher.local>"

    webhook_timeout_s: float = 5.0
    webhook_attempts: int = Field(default=5, ge=1)

    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
