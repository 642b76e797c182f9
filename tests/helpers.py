"""What the test modules share; the servers and paths come from `harness`, which the benchmarks use too."""
from harness import DATA, REPO
from harness.servers import RUNNING, Gunicorn, free_port, rss_kib, run_train, worker_pids

__all__ = ["DATA", "REPO", "RUNNING", "Gunicorn", "free_port", "rss_kib", "run_train", "worker_pids"]
