"""Every environment variable training reads: where the registry is (DESIGN §7) and where marketing reports the
shadow comparison (DESIGN §13). Flags say the rest."""
from __future__ import annotations

from pathlib import Path

from http_common.env import Env


def registry_default() -> Path | None:
    """$MODEL_REGISTRY, the registry `--registry` defaults to (the compose `train` tool sets it)."""
    return Env().path("MODEL_REGISTRY", None)


def marketing_quality_default() -> str | None:
    """$MARKETING_URL's GET /api/model-quality, where `promote-shadow` reads the comparison (compose sets it)."""
    url = Env().raw("MARKETING_URL").rstrip("/")
    return f"{url}/api/model-quality" if url else None


def marketing_token_default() -> str | None:
    """$MARKETING_TOKEN: a marketing API token of a marketer or admin, for that URL."""
    return Env().raw("MARKETING_TOKEN") or None
