"""The gunicorn settings both services run with, read from the environment into one typed object.

Each `gunicorn.conf.py` assigns these fields to gunicorn's setting names one by one, so a reader can grep
for `workers =`; a bad value stops the server with a one-line reason instead of a traceback.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ServerSettingsError(ValueError):
    """An environment variable gunicorn cannot run with; the message names it."""


def _whole_number(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServerSettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ServerSettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class ServerSettings:
    """WEB_CONCURRENCY (workers), GUNICORN_THREADS, BIND, ACCESS_LOG ('' turns it off) and LOG_LEVEL."""

    bind: str
    workers: int
    threads: int
    accesslog: str | None
    loglevel: str

    @classmethod
    def from_env(cls, port: int, threads: int, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        loglevel = env.get("LOG_LEVEL", "info").strip().lower() or "info"
        if loglevel not in ("debug", "info", "warning", "error", "critical"):
            raise ServerSettingsError(f"LOG_LEVEL must be one of debug, info, warning, error, critical, got {loglevel!r}")
        return cls(
            bind=env.get("BIND", "").strip() or f"0.0.0.0:{port}",
            workers=_whole_number(env, "WEB_CONCURRENCY", 2),
            threads=_whole_number(env, "GUNICORN_THREADS", threads),
            accesslog=env.get("ACCESS_LOG", "-") or None,
            loglevel=loglevel,
        )
