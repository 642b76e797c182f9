"""Gunicorn settings for the churn service (run from the repo root, see DESIGN §3)."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_common import gunicorn_hooks  # noqa: E402

bind = os.environ.get("BIND", "0.0.0.0:9696")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 30
graceful_timeout = 20
keepalive = 5
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# Gunicorn's control socket defaults to one path per user: instances on one host would fight over it,
# and a container's user has no home for it. Nothing here uses it.
control_socket_disable = True
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
proc_name = "churn"

metrics_dir = gunicorn_hooks.prepare_metrics_dir("churn")
child_exit = gunicorn_hooks.child_exit


def on_starting(server):
    """Verify the artifact once in the master so a bad model stops the service with a one-line reason."""
    from churn_service.artifact import ArtifactError, load_artifact
    from churn_service.config import ChurnConfig, ConfigError

    try:
        load_artifact(ChurnConfig.from_env().model_path)
    except (ArtifactError, ConfigError) as exc:
        server.log.error("refusing to start: %s", exc)
        sys.exit(1)


def on_exit(server):
    gunicorn_hooks.remove_metrics_dir(metrics_dir)
