"""Gunicorn settings for the churn service (run from the repo root, see DESIGN §3)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_common import gunicorn_hooks  # noqa: E402

globals().update(gunicorn_hooks.base_settings("churn", port=9696, threads=1))  # scoring is CPU-bound: one thread per process
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
