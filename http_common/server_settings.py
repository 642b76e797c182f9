"""The gunicorn settings both services run with, read from the environment into one typed object.

Each `gunicorn.conf.py` assigns these fields to gunicorn's setting names one by one, so a reader can grep
for `workers =`; a bad value stops the server with a one-line reason instead of a traceback.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from http_common.env import Env

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class ServerSettings:
    """WEB_CONCURRENCY (workers), GUNICORN_THREADS, BIND, ACCESS_LOG ('' turns it off), LOG_LEVEL, and
    PROMETHEUS_MULTIPROC_DIR (where the metrics directory is made, when set)."""

    bind: str
    workers: int
    threads: int
    accesslog: str | None
    loglevel: str
    metrics_parent: str | None = None

    @classmethod
    def from_env(cls, port: int, threads: int, env: Mapping[str, str] | None = None) -> ServerSettings:
        read = Env(env)
        return cls(
            bind=read.text("BIND", f"0.0.0.0:{port}"),
            workers=read.integer("WEB_CONCURRENCY", 2),
            threads=read.integer("GUNICORN_THREADS", threads),
            accesslog=read.as_given("ACCESS_LOG", "-") or None,
            loglevel=read.choice("LOG_LEVEL", "info", LOG_LEVELS),
            metrics_parent=read.raw("PROMETHEUS_MULTIPROC_DIR") or None,
        )
