"""Our services under Granian's WSGI mode instead of gunicorn, for the server comparison (bench/servers.py).

Granian has no config file of ours to run, so this runner does by hand what `gunicorn.conf.py` does for the
guarantees we rely on: a fresh PROMETHEUS_MULTIPROC_DIR made before the workers start (the services read
metrics and the drift window's default folder from it) and removed at stop; the threads per worker
(`--blocking-threads`, gthread's `threads = 4`); access log off. Everything else (start, readiness, stop,
logs, `worker_pids`, `pss_mib`) is the gunicorn runner's, so a bench treats both alike.
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile

from harness.servers import Gunicorn, listening_inodes, socket_inodes, worker_pids

WORKER_STARTED = re.compile(r"\[INFO\] Started worker-\d+$", re.MULTILINE)


class Granian(Gunicorn):
    """`granian --interface wsgi` with `workers` processes of `threads` blocking threads each."""

    def __init__(self, service: str, env: dict[str, str] | None = None, workers: int = 1, port: int | None = None,
                 app: str | None = None, threads: int = 4, extra: tuple[str, ...] = ()):
        env = dict(env or {})
        # As gunicorn.conf.py reads it: a PROMETHEUS_MULTIPROC_DIR given is the parent of the fresh directory.
        self.metrics_dir = tempfile.mkdtemp(prefix=f"{service}-granian-metrics-",
                                            dir=env.pop("PROMETHEUS_MULTIPROC_DIR", None) or None)
        super().__init__(service, {**env, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir}, workers, port, app)
        self.threads, self.extra = threads, extra

    def command(self) -> list[str]:
        target, factory = (self.app[:-2], ["--factory"]) if self.app.endswith("()") else (self.app, [])
        return [sys.executable, "-m", "granian", "--interface", "wsgi", *factory, "--workers", str(self.workers),
                "--blocking-threads", str(self.threads), "--no-ws", "--host", "127.0.0.1", "--port", str(self.port),
                *self.extra, target]

    def _workers_ready(self) -> bool:
        # Granian says "Started worker-N" once worker N loaded the app (and again after a reload).
        return len(WORKER_STARTED.findall(self.output())) >= self.workers

    def _owns_port(self) -> bool:
        # On Linux each Granian worker listens on a socket of its own (SO_REUSEPORT), not the master.
        assert self.proc is not None
        held = set().union(*(socket_inodes(pid) for pid in [self.proc.pid, *worker_pids(self.proc.pid)]))
        return bool(listening_inodes(self.port) & held)

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
