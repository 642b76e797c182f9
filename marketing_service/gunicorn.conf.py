"""Gunicorn settings for the marketing service (run from the repo root, see DESIGN §3 and §5)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_common import gunicorn_hooks  # noqa: E402

globals().update(gunicorn_hooks.base_settings("marketing", port=8000, threads=4))  # requests wait on churn and SQLite, not CPU
metrics_dir = gunicorn_hooks.prepare_metrics_dir("marketing")
child_exit = gunicorn_hooks.child_exit


def on_starting(server):
    """Check the settings once in the master so a bad value stops the service with a one-line reason."""
    from marketing_service.config import ConfigError, MarketingConfig

    try:
        MarketingConfig.from_env()
    except ConfigError as exc:
        server.log.error("refusing to start: %s", exc)
        sys.exit(1)


def on_exit(server):
    gunicorn_hooks.remove_metrics_dir(metrics_dir)
