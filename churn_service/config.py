"""Every environment variable the churn service reads, in one typed object (DESIGN §3)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting has a value the service cannot run with; the message names the variable."""


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


@dataclass(frozen=True)
class ChurnConfig:
    model_path: Path = Path("models/model.bin")
    max_batch: int = 10_000
    max_body_mb: int = 8

    @property
    def manifest_path(self) -> Path:
        return self.model_path.with_name("model.json")

    @property
    def max_body_bytes(self) -> int:
        return self.max_body_mb * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChurnConfig:
        env = os.environ if env is None else env
        return cls(
            model_path=Path(env.get("MODEL_PATH", "").strip() or cls.model_path),
            max_batch=_positive_int(env, "MAX_BATCH", cls.max_batch),
            max_body_mb=_positive_int(env, "MAX_BODY_MB", cls.max_body_mb),
        )
