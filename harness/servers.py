"""Real servers on free 127.0.0.1 ports, and the training CLI, for the tests and the benchmarks alike."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from harness import REPO


def run_train(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "train", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """A real gunicorn process for one of our services on a free 127.0.0.1 port.

    Started in its own session so teardown can kill the master and every worker with one killpg.
    """

    def __init__(self, service: str, env: dict[str, str] | None = None, workers: int = 1, port: int | None = None,
                 app: str | None = None, plain: bool = False):
        self.service, self.plain = service, plain  # plain: `gunicorn -w N app`, as a user runs it (no config of ours)
        self.app = app or f"{service}:create_app()"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "WEB_CONCURRENCY": str(workers), "ACCESS_LOG": "", **(env or {})}
        self.workers = int(self.env["WEB_CONCURRENCY"])
        self.log = tempfile.NamedTemporaryFile(prefix=f"{service}-", suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The server's command line (another server's runner, harness/granian.py, replaces it)."""
        settings = ["-w", str(self.workers)] if self.plain else ["-c", f"{self.service}/gunicorn.conf.py"]
        return [sys.executable, "-m", "gunicorn", *settings, "--bind", f"127.0.0.1:{self.port}", self.app]

    def start(self, wait: bool = True) -> Gunicorn:
        self.proc = subprocess.Popen(
            self.command(),
            cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        RUNNING.append(self)
        if wait:
            try:
                self.wait_ready()
            except BaseException:  # a server that never got ready is not left running (no `with` will stop it)
                self.stop()
                raise
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        """Ready means: the master we started holds the listening socket, every worker loaded the app
        (the `worker <pid> ready` line of `post_worker_init`), and the port answers. One answer alone
        proved too little: a master whose second worker failed to boot answers once, then shuts down."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self.proc.returncode}:\n{self.output()}")
            if self._workers_ready() and self._owns_port():
                try:
                    # Any answer below 500 means the workers serve (the bench's floor apps have no /healthz).
                    if requests.get(f"{self.url}/healthz", timeout=1).status_code < 500:
                        return
                except (requests.ConnectionError, requests.Timeout):  # not up yet, or still loading the app
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.service} not ready after {timeout}s:\n{self.output()}")

    def _workers_ready(self) -> bool:
        # Plain gunicorn has no hook of ours: its own "Booting worker" lines are all it says.
        pattern = WORKER_BOOTING if self.plain else WORKER_READY
        return len(pattern.findall(self.output())) >= self.workers

    def _owns_port(self) -> bool:
        assert self.proc is not None
        return bool(listening_inodes(self.port) & socket_inodes(self.proc.pid))

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self in RUNNING:
            RUNNING.remove(self)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()  # a failed test already has this server's log in its report (tests/conftest.py)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


# Servers started and not yet stopped, so a failing test's report can show each one's log.
RUNNING: list[Gunicorn] = []
WORKER_READY = re.compile(r"\[INFO\] worker \d+ ready$", re.MULTILINE)
WORKER_BOOTING = re.compile(r"\[INFO\] Booting worker with pid: \d+$", re.MULTILINE)


def listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port` (any address), from the kernel's tables."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn workers of a master: its child processes."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pss_mib(pids: list[int]) -> float:
    """Proportional set size of these processes together: each page shared by n processes counts 1/n, so
    what workers share copy-on-write with their master is not counted once per worker."""
    total_kib = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total_kib += int(line.split()[1])
                break
    return total_kib / 1024
