"""Gunicorn settings for the churn service (run from the repo root, see DESIGN §3)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_common.gunicorn_base import *  # noqa: E402,F403 - fixed limits and hooks both services share
from http_common.gunicorn_base import make_metrics_dir, remove_metrics_dir, server_settings  # noqa: E402

# Scoring is CPU-bound, but a thread that waits on a slow client's request does no work and holds no GIL: with
# one thread per worker, two clients that send half a request starved the whole service (measured; see
# tests/integration/test_slow_clients.py), while four threads cost nothing measurable in throughput.
settings = server_settings(port=9696, threads=4)
proc_name = "churn"
bind = settings.bind
workers = settings.workers
threads = settings.threads
accesslog = settings.accesslog
loglevel = settings.loglevel
metrics_dir = make_metrics_dir("churn", settings.metrics_parent)


def on_starting(server):
    """Verify the artifact once in the master (CURRENT's, with a registry) so a bad model or setting stops
    the service with a one-line reason."""
    from churn_service.config import ChurnConfig, ConfigError
    from churn_service.model.artifact import ArtifactError
    from churn_service.registry import current_model_path
    from churn_service.serving import load_serving

    try:
        config = ChurnConfig.from_env()
        load_serving(current_model_path(config.model_registry) if config.model_registry else config.model_path)
    except (ArtifactError, ConfigError) as exc:
        server.log.error("refusing to start: %s", exc)
        sys.exit(1)
    share_with_workers()


def share_with_workers() -> None:
    """Import everything a worker runs here in the master, then freeze the garbage collector's view of it:
    the workers fork with these pages shared copy-on-write, and a worker's collections no longer write
    to (and so copy) every object the master made. The model itself is still loaded by each worker, so
    the registry swap works as before."""
    import gc

    import churn_service.app  # noqa: F401 - imported for its side effect: the modules it pulls in

    gc.collect()
    gc.freeze()


def on_exit(server):
    remove_metrics_dir(metrics_dir)
