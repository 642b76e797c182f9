"""The gunicorn settings both services run with, read from the environment into one typed object.

Each `gunicorn.conf.py` assigns these fields to gunicorn's setting names one by one, so a reader can grep
for `workers =`; a bad value stops the server with a one-line reason instead of a traceback.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from http_common.env import ConfigError, Env

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
            bind=checked_bind(read.text("BIND", f"0.0.0.0:{port}")),
            workers=read.integer("WEB_CONCURRENCY", 2, maximum=256),
            threads=read.integer("GUNICORN_THREADS", threads, maximum=1000),
            accesslog=read.as_given("ACCESS_LOG", "-") or None,
            loglevel=read.choice("LOG_LEVEL", "info", LOG_LEVELS),
            metrics_parent=read.raw("PROMETHEUS_MULTIPROC_DIR") or None,
        )


def checked_bind(bind: str) -> str:
    """BIND as gunicorn takes it (`host:port`, `[::1]:port`, `host` or `unix:path`), its port 0 to 65535:
    gunicorn itself answers a port of 70000 with a traceback."""
    if bind.startswith(("unix:", "fd://")):
        return bind
    host, colon, port = bind.rpartition(":")
    if not colon or host.endswith(":") or (bind.startswith("[") and bind.endswith("]")):
        return bind  # a host alone (gunicorn's port 8000), or a bare IPv6 address in brackets
    if not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise ConfigError(f"BIND must be host:port with a port from 0 to 65535, got {bind[:60]!r}")
    return bind
