"""Gunicorn settings and hooks both services' `gunicorn.conf.py` share."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any


def base_settings(service: str, port: int, threads: int) -> dict[str, Any]:
    """The settings both services run with; each `gunicorn.conf.py` adds its own hooks on top.
    WEB_CONCURRENCY (workers), GUNICORN_THREADS, BIND, ACCESS_LOG ('' turns it off) and LOG_LEVEL
    override them from the environment."""
    return {
        "bind": os.environ.get("BIND", f"0.0.0.0:{port}"),
        "workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
        "worker_class": "gthread",
        "threads": int(os.environ.get("GUNICORN_THREADS", str(threads))),
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "limit_request_line": 4094,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
        # The control socket defaults to one path per user: instances on one host would fight over it,
        # and a container's user has no home for it. Nothing here uses it.
        "control_socket_disable": True,
        "accesslog": os.environ.get("ACCESS_LOG", "-") or None,
        "errorlog": "-",
        "loglevel": os.environ.get("LOG_LEVEL", "info"),
        "proc_name": service,
    }


def prepare_metrics_dir(service: str) -> str | None:
    """Give the workers a fresh PROMETHEUS_MULTIPROC_DIR; must run before prometheus_client is imported,
    which is why the config file calls it at load time. Returns the dir when it made one (to remove)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = given or tempfile.mkdtemp(prefix=f"{service}-metrics-")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return None if given else path


def child_exit(server: Any, worker: Any) -> None:
    # Imported here: prometheus_client picks its value class at import, after the dir is set.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def remove_metrics_dir(path: str | None) -> None:
    if path:
        shutil.rmtree(path, ignore_errors=True)
