"""Every environment variable the churn service reads, in one typed object (DESIGN §3)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from http_common.env import ConfigError, Env, refuse_weak_secret

__all__ = ["ChurnConfig", "ConfigError"]


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
    shadow_dir: Path | None = None  # the workers' shared shadow store (DESIGN §13); default: beside the drift dir
    shadow_keep: int = 1_000_000  # shadow records kept; the oldest are trimmed in batches
    metrics_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR: set by gunicorn.conf.py for its workers
    api_token: str | None = None  # CHURN_API_TOKEN: when set, every route but the probes needs it (§11)

    @property
    def max_body_bytes(self) -> int:
        return self.max_body_mb * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChurnConfig:
        read = Env(env)
        metrics_dir = read.raw("PROMETHEUS_MULTIPROC_DIR") or None
        api_token = read.raw("CHURN_API_TOKEN") or None
        if api_token is not None:  # unset leaves churn open (the course's way); set, it must be worth guessing
            refuse_weak_secret("CHURN_API_TOKEN", api_token)
        # Every worker of one gunicorn must share the drift window: gunicorn's fresh metrics dir (made before
        # the workers fork) is shared.
        drift_default = Path(metrics_dir) / "drift" if metrics_dir else None
        shadow_default = Path(metrics_dir) / "shadow" if metrics_dir else None
        return cls(
            model_path=read.path("MODEL_PATH", cls.model_path),
            model_registry=read.path("MODEL_REGISTRY", None),
            model_poll_seconds=read.number("MODEL_POLL_SECONDS", cls.model_poll_seconds, 0, above=True,
                                            maximum=3600),
            max_batch=read.integer("MAX_BATCH", cls.max_batch, maximum=1_000_000),
            max_body_mb=read.integer("MAX_BODY_MB", cls.max_body_mb, maximum=1024),
            drift_window=read.integer("DRIFT_WINDOW", cls.drift_window, minimum=0, maximum=1_000_000),
            drift_min_records=read.integer("DRIFT_MIN_RECORDS", cls.drift_min_records, maximum=1_000_000),
            drift_dir=read.path("DRIFT_DIR", drift_default),
            shadow_dir=read.path("SHADOW_DIR", shadow_default),
            shadow_keep=read.integer("SHADOW_KEEP", cls.shadow_keep, maximum=1_000_000_000),
            metrics_dir=metrics_dir,
            api_token=api_token,
        )
