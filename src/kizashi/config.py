"""Settings from ``KIZASHI_*`` environment variables and an optional ``kizashi.toml``."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kizashi.services.llm import LLMConfig
from kizashi.store.files import FILE_MODE, private_dir, private_file


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kizashi"


class Settings(BaseSettings):
    """Everything configurable. Defaults work on a laptop with no other services."""

    model_config = SettingsConfigDict(env_prefix="KIZASHI_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 10 * 1024 * 1024
    #: What one import (POST /api/v1/import) may upload: bundles are large.
    import_max_bytes: int = 512 * 1024 * 1024
    secret_key: str | None = None
    admin_user: str = "admin"
    admin_password: str | None = None
    session_max_age: int = 12 * 3600
    #: Secure cookies need HTTPS; off by default because the laptop default is plain HTTP.
    cookie_secure: bool = False
    #: Job queue: empty for the embedded queue in the data directory, or redis://host:port/db.
    queue_url: str | None = None
    #: Name of the queue inside Redis (several installations can share one Redis).
    queue_name: str = "kizashi"
    #: Worker threads inside `kizashi run` (0: no jobs run in the server) and per `kizashi worker`.
    workers: int = 2
    #: How often the scheduler looks for feeds that are due (seconds).
    schedule_seconds: int = 60
    #: A poll that has not said it is alive for this long is taken over (seconds).
    poll_lease_seconds: int = 900
    #: Private or loopback ranges feeds may be fetched from (comma-separated CIDRs).
    fetch_allow: str = ""
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_timeout: float = 30.0
    fetch_connect_timeout: float = 10.0
    #: Keep extracted values that are flagged (documentation or private ranges, example
    #: domains, MISP warning lists) as objects and mentions, with their flags shown.
    #: False drops them at extraction; `kizashi extract` always prints the flags.
    extract_keep_flagged: bool = True
    #: Check extracted values against MISP's benign warning lists (loaded on first use).
    extract_warninglists: bool = True
    #: The full-text index (derived from the database; rebuilt when absent). Default:
    #: ``search`` in the data directory.
    search_dir: Path | None = None
    #: How often the index looks for committed changes it has not applied (seconds).
    search_sync_seconds: float = 1.0
    #: An OpenAI-compatible chat-completions server for summaries (``…/v1``; none: only
    #: the offline extractive summaries). The key is read from here and never shown.
    llm_base_url: str | None = None
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    #: ``authorization`` (a bearer token) or ``api-key`` (Azure OpenAI's keys).
    llm_key_header: Literal["authorization", "api-key"] = "authorization"
    llm_timeout: float = 60.0
    llm_max_tokens: int = 800
    #: What the model is given to read at most (characters of the prompt).
    llm_context_chars: int = 24_000
    #: An admin's own prompt templates (same file names as the shipped ones). Default:
    #: ``prompts`` in the data directory.
    prompts_dir: Path | None = None
    #: MISP taxonomy namespaces enabled on a new store.
    default_taxonomies: list[str] = Field(default_factory=lambda: ["tlp", "PAP", "admiralty-scale"])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - not used: no .env files
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = os.environ.get("KIZASHI_CONFIG", "kizashi.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml),
        )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'kizashi.db'}"

    def store_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Kizashi.open`` that come from settings."""
        return {
            "default_taxonomies": self.default_taxonomies,
            "keep_flagged": self.extract_keep_flagged,
            "warninglists": self.extract_warninglists,
            "search_dir": self.search_dir or self.data_dir / "search",
            "search_sync_seconds": self.search_sync_seconds,
            "llm": self.llm_config(),
        }

    def llm_config(self) -> LLMConfig | None:
        if not self.llm_base_url:
            return None
        return LLMConfig(
            base_url=self.llm_base_url,
            model=self.llm_model,
            api_key=self.llm_api_key.get_secret_value() if self.llm_api_key else None,
            timeout=self.llm_timeout,
            max_tokens=self.llm_max_tokens,
            context_chars=self.llm_context_chars,
            prompts_dir=self.prompts_dir or self.data_dir / "prompts",
            key_header=self.llm_key_header,
        )

    @cached_property
    def resolved_secret_key(self) -> str:
        """The session-signing key: set explicitly, or created once in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            private_file(path)  # a key written by an older version under a wide umask
            return path.read_text().strip()
        self.ensure_data_dir()
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key

    def ensure_data_dir(self) -> Path:
        """The data directory, made (or tightened to) 0700: it holds TLP:RED data."""
        return private_dir(self.data_dir)
