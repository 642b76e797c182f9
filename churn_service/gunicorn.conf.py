"""Gunicorn settings for the churn service (run from the repo root, see DESIGN §3)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_common.gunicorn_base import *  # noqa: E402,F403 - fixed limits and hooks both services share
from http_common.gunicorn_base import make_metrics_dir, remove_metrics_dir, server_settings  # noqa: E402

settings = server_settings(port=9696, threads=1)
proc_name = "churn"
bind = settings.bind
workers = settings.workers
threads = settings.threads  # scoring is CPU-bound: one thread per process
accesslog = settings.accesslog
loglevel = settings.loglevel
metrics_dir = make_metrics_dir("churn")


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
    remove_metrics_dir(metrics_dir)
