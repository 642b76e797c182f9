"""Every environment variable training reads: only where the registry is (DESIGN §7). Flags say the rest."""
from __future__ import annotations

from pathlib import Path

from http_common.env import Env


def registry_default() -> Path | None:
    """$MODEL_REGISTRY, the registry `--registry` defaults to (the compose `train` tool sets it)."""
    return Env().path("MODEL_REGISTRY", None)
