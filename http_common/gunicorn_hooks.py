"""Gunicorn settings and hooks both services' `gunicorn.conf.py` share."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any


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
