"""Every environment variable the churn service reads, in one typed object (DESIGN §3)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting has a value the service cannot run with; the message names the variable."""


def _positive_int(env: Mapping[str, str], name: str, default: int, least: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < least:
        raise ConfigError(f"{name} must be at least {least}, got {value}")
    return value


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0, got {raw}")
    return value


def _drift_dir(env: Mapping[str, str]) -> Path | None:
    """Every worker of one gunicorn must share it: gunicorn's fresh metrics dir (set before workers fork) is."""
    if explicit := env.get("DRIFT_DIR", "").strip():
        return Path(explicit)
    metrics = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    return Path(metrics) / "drift" if metrics else None


@dataclass(frozen=True)
class ChurnConfig:
    model_path: Path = Path("models/model.bin")
    model_registry: Path | None = None  # when set, serve <registry>/<CURRENT>/model.bin and follow CURRENT
    model_poll_seconds: float = 2.0
    max_batch: int = 10_000
    max_body_mb: int = 8
    drift_window: int = 5000  # 0 turns drift monitoring off
    drift_min_records: int = 500
    drift_dir: Path | None = None  # the workers' shared window; default: beside gunicorn's metrics, else a temp dir

    @property
    def max_body_bytes(self) -> int:
        return self.max_body_mb * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChurnConfig:
        env = os.environ if env is None else env
        return cls(
            model_path=Path(env.get("MODEL_PATH", "").strip() or cls.model_path),
            model_registry=Path(registry) if (registry := env.get("MODEL_REGISTRY", "").strip()) else None,
            model_poll_seconds=_positive_number(env, "MODEL_POLL_SECONDS", cls.model_poll_seconds),
            max_batch=_positive_int(env, "MAX_BATCH", cls.max_batch),
            max_body_mb=_positive_int(env, "MAX_BODY_MB", cls.max_body_mb),
            drift_window=_positive_int(env, "DRIFT_WINDOW", cls.drift_window, least=0),
            drift_min_records=_positive_int(env, "DRIFT_MIN_RECORDS", cls.drift_min_records),
            drift_dir=_drift_dir(env),
        )
