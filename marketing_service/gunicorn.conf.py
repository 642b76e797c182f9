"""Gunicorn settings for the marketing service (run from the repo root, see DESIGN §3 and §5)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_common.gunicorn_base import *  # noqa: E402,F403 - fixed limits and hooks both services share
from http_common.gunicorn_base import make_metrics_dir, remove_metrics_dir, server_settings  # noqa: E402

settings = server_settings(port=8000, threads=4)
proc_name = "marketing"
bind = settings.bind
workers = settings.workers
threads = settings.threads  # requests wait on churn and SQLite, not CPU
accesslog = settings.accesslog
loglevel = settings.loglevel
metrics_dir = make_metrics_dir("marketing", settings.metrics_parent)


def on_starting(server):
    """Check the settings once in the master so a bad value stops the service with a one-line reason."""
    from marketing_service.config import ConfigError, MarketingConfig

    try:
        MarketingConfig.from_env()
    except ConfigError as exc:
        server.log.error("refusing to start: %s", exc)
        sys.exit(1)


def on_exit(server):
    remove_metrics_dir(metrics_dir)
