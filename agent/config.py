"""The one settings object. Environment variables prefixed PACTA_, read once."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACTA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite file under data_dir
    checkpoint_path: Path | None = None  # default: data_dir / "checkpoints.sqlite"
    llm: Literal["offline", "openai"] | None = None  # default: openai iff OPENAI_API_KEY is set
    mandate: str = "default"  # file name under policies/mandates/, or a path
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'pacta.sqlite'}"
        if self.checkpoint_path is None:
            self.checkpoint_path = self.data_dir / "checkpoints.sqlite"
        if self.llm is None:
            self.llm = "openai" if os.environ.get("OPENAI_API_KEY") else "offline"
        return self

    @property
    def checkpoints(self) -> Path:
        assert self.checkpoint_path is not None
        return self.checkpoint_path


@lru_cache
def get_settings() -> Settings:
    return Settings()
