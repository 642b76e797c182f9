"""What both services' `gunicorn.conf.py` share: fixed limits, the metrics directory and common hooks.

Each config file star-imports this module and then assigns its own settings, so every setting is a plain
assignment a reader can grep for (`workers =`), and a bad environment value stops gunicorn with one line.
"""
import os
import shutil
import sys
import tempfile

from http_common.env import ConfigError
from http_common.server_settings import ServerSettings

worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# The control socket defaults to one path per user: instances on one host would fight over it, and a
# container's user has no home for it. Nothing here uses it.
control_socket_disable = True
errorlog = "-"


def server_settings(port: int, threads: int) -> ServerSettings:
    """The environment's settings, or exit with a one-line reason (gunicorn would print a traceback)."""
    try:
        return ServerSettings.from_env(port=port, threads=threads)
    except ConfigError as exc:
        sys.exit(f"refusing to start: {exc}")


_MADE: dict[str, str] = {}  # service -> the directory this master made


def make_metrics_dir(service: str, parent: str | None) -> str:
    """A fresh directory of our own for prometheus_client's multiprocess files, made before the library is
    imported. It lives inside `parent` (PROMETHEUS_MULTIPROC_DIR, from the server settings) when that is set
    (a writable volume under a read-only root), and only this directory is ever removed: nothing else there
    is touched. Setting the variable hands the directory to the workers' config and to prometheus_client.
    A SIGHUP makes the master read its config file again: it keeps the directory it made, so the counters,
    the drift window and the shadow store outlive the reload (a new one, inside the old, lost them)."""
    made = _MADE.get(service)
    if made and os.path.isdir(made):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
        return made
    if parent:
        os.makedirs(parent, exist_ok=True)
    path = tempfile.mkdtemp(prefix=f"{service}-metrics-", dir=parent)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _MADE[service] = path
    return path


def post_worker_init(worker):
    # One line per worker that loaded the app: readiness checks count these, not just one answer.
    worker.log.info("worker %s ready", worker.pid)


def child_exit(server, worker):
    # Imported here: prometheus_client picks its value class at import, after the dir is set.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def remove_metrics_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
