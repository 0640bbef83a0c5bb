"""Settings from the environment (prefix ``IDIOGRAPH_``) with zero-setup defaults."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _local_secret(path: Path = Path(".idiograph-secret")) -> str:
    """A per-installation secret kept beside the default database, created on first use."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _local_audit_key() -> str:
    """The audit chain's HMAC key, in a file beside the default database (never in it), made on first use.
    Production: set IDIOGRAPH_AUDIT_KEY from a secret store, and keep a copy apart from database backups."""
    return _local_secret(Path(".idiograph-audit-key"))


THREADS_KEPT = 4  # worker threads kept for background work (WAL checkpoint, rule retries, audit head) and files


class Settings(BaseSettings):
    """Everything that differs between installations; nothing clinical lives here."""

    model_config = SettingsConfigDict(env_prefix="IDIOGRAPH_", extra="ignore")

    database_url: str = "sqlite:///idiograph.db"
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the address people reach this installation at; links sent to people (questionnaires, their "
        "plan) and FHIR base URLs use it, never the request's Host header",
    )
    secret_key: str = Field(default_factory=_local_secret)
    audit_key: str = Field(
        default_factory=_local_audit_key,
        min_length=32,
        description="HMAC key of the audit chain; outside the database, so a database edit cannot re-chain it",
    )
    instance_uri: str = Field(
        default="urn:idiograph:local",
        description="Identifies this installation as a FHIR source (Bundle.meta.source of its exports).",
    )
    export_dir: Path = Field(
        default=Path(".idiograph-exports"),
        description="where FHIR Bulk Data exports write their NDJSON files (one folder per export)",
    )
    export_keep_hours: int = Field(default=24, ge=1, description="how long an export's files are kept")
    session_max_age_s: int = 8 * 3600
    token_max_age_s: int = 8 * 3600
    break_glass_minutes: int = 60
    max_body_bytes: int = 20 * 1024 * 1024
    max_json_depth: int = Field(default=64, ge=8, le=1000, description="deeper JSON bodies are refused with 400")
    max_in_flight: int = Field(
        default=32,
        ge=1,
        description="requests a worker process serves at once (below `threads`); later ones wait their turn",
    )
    max_queued: int = Field(
        default=1000, ge=0, description="requests that may wait for their turn; beyond it a quick 503 with Retry-After"
    )
    queue_wait_s: float = Field(
        default=5.0, gt=0, description="seconds a request waits for its turn before a 503 with Retry-After"
    )
    threads: int = Field(default=40, ge=5, le=400, description="worker threads per process for routes")
    # at least max_in_flight plus the background jobs between them: a request let in never waits for a connection
    db_pool_size: int = Field(default=24, ge=1, description="database connections kept open per process")
    db_max_overflow: int = Field(default=12, ge=0, description="extra database connections under load")
    db_pool_timeout: float = Field(
        default=3.0, gt=0, description="seconds a request waits for a free connection before a 503 (never a hang)"
    )
    secure_cookies: bool = False
    timezone: str = "Europe/London"
    audit_head_file: Path | None = Field(
        default=Path(".idiograph-audit-heads"),
        description="where the server appends the audit chain's head every audit_head_seconds (none: off); "
        "keep a copy away from the database so `audit verify --expect-head @FILE` catches a cut tail",
    )
    audit_head_seconds: int = Field(default=3600, ge=60)
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite only: full (every commit on disk) or normal (faster; the last commits can be lost on "
        "power failure, never corrupted). PostgreSQL is unaffected.",
    )
    rule_retry_seconds: int = Field(
        default=300, ge=0, description="how often the server retries statistical rules that failed (0: never)"
    )

    @model_validator(mode="after")
    def _a_thread_for_every_request_inside(self) -> Settings:
        """Every request let in must always find a worker thread (problems.Overload says why), with some kept for
        the server's own background work and file responses."""
        if self.max_in_flight + THREADS_KEPT > self.threads:
            raise ValueError(
                f"max_in_flight ({self.max_in_flight}) must be at most threads ({self.threads}) - {THREADS_KEPT}: "
                "a request let in must always find a worker thread"
            )
        if self.db_pool_size + self.db_max_overflow < self.max_in_flight + 3:
            raise ValueError(
                f"db_pool_size + db_max_overflow ({self.db_pool_size + self.db_max_overflow}) must be at least "
                f"max_in_flight ({self.max_in_flight}) + 3: a request let in must never wait for a connection"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
