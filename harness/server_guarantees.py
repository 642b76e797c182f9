"""What our services rely on their server for, checked against a real running one (gunicorn or Granian).

Each check drives the server's processes from outside (requests, raw sockets, signals) and returns whether the
guarantee held and what was seen, so the same checks judge any server runner of harness/ (bench/servers.py).
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import requests
from prometheus_client.multiprocess import MultiProcessCollector

from harness.servers import Gunicorn, worker_pids


class Seen(NamedTuple):
    held: bool
    observed: str


def _counted(files: list[str], route: str) -> float:
    """http_requests_total for `route`, status 200, in these multiprocess files only."""
    return sum(s.value for m in MultiProcessCollector.merge(files, accumulate=False) for s in m.samples
               if s.name == "http_requests_total" and s.labels.get("route") == route and s.labels.get("status") == "200")


def _scraped(url: str, route: str) -> float:
    total = 0.0
    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("http_requests_total{") and f'route="{route}"' in line and 'status="200"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _fire(url: str, path: str, body: bytes, n: int, headers: dict[str, str]) -> int:
    """`n` POSTs over fresh connections from 8 threads (so both workers take some); how many got 200."""
    sent = {"Content-Type": "application/json", "Connection": "close", **headers}

    def one(_: int) -> int:
        return requests.post(f"{url}{path}", data=body, headers=sent, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        return sum(code == 200 for code in pool.map(one, range(n)))


def metrics_across_workers(server: Gunicorn, metrics_dir: Path, path: str, body: bytes, n: int = 400,
                           headers: dict[str, str] | None = None) -> Seen:
    """Every worker's /metrics shows the whole service's count, and more than one worker served."""
    ok = _fire(server.url, path, body, n, headers or {})
    files = sorted(str(f) for f in metrics_dir.glob("counter_*.db"))
    per_worker = [int(_counted([f], path)) for f in files]
    scrapes = {_scraped(server.url, path) for _ in range(10)}  # fresh connections: several workers answer
    held = ok == n and scrapes == {n} and sum(c > 0 for c in per_worker) >= 2
    return Seen(held, f"{n} POST {path} (200: {ok}); per worker files {per_worker}; 10 scrapes saw {sorted(scrapes)}")


def drift_shared(server: Gunicorn, sent: int) -> Seen:
    """GET /drift from any worker counts the records every worker scored (the rings are shared files)."""
    windows = {requests.get(f"{server.url}/drift", headers={"Connection": "close"}, timeout=10).json()["window"]
               for _ in range(10)}
    return Seen(windows == {sent}, f"{sent} records scored over the workers; 10 GET /drift saw window {sorted(windows)}")


def _raw(port: int, head: bytes, chunks: list[bytes], pause: float = 0.0, timeout: float = 30) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                time.sleep(pause)
                sock.sendall(chunk)
        except OSError:  # the server answered and closed while we still sent: its answer is what counts
            pass
        answer = b""
        while (got := sock.recv(65536)):
            answer += got
        return answer


def body_limit(server: Gunicorn, limit_mb: int, doc: bytes, path: str = "/predict") -> Seen:
    """A declared body over MAX_BODY_MB gets 413 before the worker holds it (peak RSS growth of the workers while
    256 MiB are offered); a chunked one (no length to check first) is reported as seen: `doc` padded with
    spaces past the limit, so 200 means it was read up to a cut and parsed, 413 that it was refused."""
    size, block = 256 * 1024 * 1024, b" " * (1024 * 1024)
    pids = worker_pids(server.proc.pid) if server.proc else []
    before = sum(_rss_mib(p) for p in pids)
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.append(sum(_rss_mib(p) for p in pids))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    declared = _raw(server.port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode(), [block] * (size // len(block)))
    took = time.monotonic() - started
    done.set()
    sampler.join()
    chunks = [doc] + [block] * (limit_mb + 4)
    chunked = _raw(server.port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode(),
                   [b"%x\r\n" % len(c) + c + b"\r\n" for c in chunks] + [b"0\r\n\r\n"])
    codes = [a.split(b" ", 2)[1].decode() if a.startswith(b"HTTP/") else "no answer" for a in (declared, chunked)]
    grew = max(peak) - before
    return Seen(codes[0] == "413" and grew < limit_mb, f"{size >> 20} MiB declared: {codes[0]} in {took:.1f} s, workers' "
                f"RSS grew at most {grew:.0f} MiB; {limit_mb + 4} MiB chunked: {codes[1]}")


def header_limits(server: Gunicorn) -> Seen:
    """gunicorn_base.py's request limits: a request line over 4094 bytes, over 50 header fields, or a field over
    8190 bytes is refused before the app sees it."""
    def status(head: bytes) -> str:
        answer = _raw(server.port, b"GET /healthz" + head + b"Connection: close\r\n\r\n", [], timeout=10)
        return answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"

    codes = {"5000-byte line": status(b"?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n"),
             "60 fields": status(b" HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(60))),
             "9000-byte field": status(b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n")}
    return Seen(all(c.startswith("4") or c == "closed" for c in codes.values()),
                ", ".join(f"{what}: {code}" for what, code in codes.items()))


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def hung_worker(server: Gunicorn, wait_s: float) -> Seen:
    """A worker that stops answering (SIGSTOP: a deadlock, a C call that never returns) is replaced."""
    assert server.proc is not None
    stuck = worker_pids(server.proc.pid)[0]
    os.kill(stuck, signal.SIGSTOP)
    try:
        time.sleep(wait_s)
        gone = stuck not in worker_pids(server.proc.pid)
        answered = sum(_answers(server.url) for _ in range(20))
        return Seen(gone and answered == 20, f"worker {stuck} stopped; after {wait_s:.0f} s "
                    f"{'replaced' if gone else 'still there'}, {answered}/20 fresh requests answered within 3 s")
    finally:
        try:
            os.kill(stuck, signal.SIGCONT)
        except ProcessLookupError:
            pass


def slow_request(server: Gunicorn, timeout_s: float) -> Seen:
    """A request that outlives the worker timeout is cut (the server must run harness/slow_app.py)."""
    started = time.monotonic()
    try:
        answer = requests.get(f"{server.url}/_sleep?{timeout_s + 10:g}", timeout=timeout_s + 40)
        outcome = f"{answer.status_code}" + (" (its sleep finished)" if answer.text == "slept\n" else "")
    except requests.RequestException as exc:
        outcome = f"no answer ({type(exc).__name__})"
    took = time.monotonic() - started
    return Seen(took < timeout_s + 5, f"a {timeout_s + 10:g} s request: {outcome} after {took:.1f} s")


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def under_load(url: str, action: Callable[[], None], seconds: float) -> tuple[int, int]:
    """Requests from 4 threads while `action` runs; (answered 200, failed)."""
    counts, stop = [0, 0], threading.Event()

    def loop() -> None:
        while not stop.is_set():
            counts[0 if _answers(url) else 1] += 1

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    action()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return counts[0], counts[1]


def reload(server: Gunicorn, settle_s: float, body: bytes, path: str = "/predict") -> Seen:
    """SIGHUP: new workers (which re-read the model registry's CURRENT) and no request fails meanwhile. Whether
    /metrics still counts what the old workers served is reported beside (a counter reset, which Prometheus's
    rate() absorbs, so not part of the verdict)."""
    assert server.proc is not None
    old, counted = set(worker_pids(server.proc.pid)), _fire(server.url, path, body, 50, {})
    ok, failed = under_load(server.url, lambda: os.kill(server.proc.pid, signal.SIGHUP), settle_s)  # type: ignore[union-attr]
    new = set(worker_pids(server.proc.pid))
    kept = _scraped(server.url, path)
    held = bool(new) and not (new & old) and failed == 0
    return Seen(held, f"workers {sorted(old)} -> {sorted(new)}; under load {ok} answered, {failed} failed; "
                f"{path} count before {counted}, after {kept:.0f}")


def graceful_stop(server: Gunicorn, body: bytes, path: str = "/predict") -> Seen:
    """SIGTERM while a request is half sent: it is still answered, then the server exits 0."""
    assert server.proc is not None
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    answer: list[bytes] = []
    half = len(body) // 2
    client = threading.Thread(target=lambda: answer.append(_raw(server.port, head + body[:half], [body[half:]],
                                                                 pause=1.0)), daemon=True)
    started = time.monotonic()
    client.start()
    time.sleep(0.5)  # the first half is in a worker's hands; the rest follows 0.5 s after the signal
    os.kill(server.proc.pid, signal.SIGTERM)
    client.join(40)
    code = server.wait_exit(40)
    status = answer[0].split(b" ", 2)[1].decode() if answer and answer[0].startswith(b"HTTP/") else "no answer"
    body_ok = status == "200" and "churn_probability" in answer[0].decode(errors="replace") if path == "/predict" else True
    return Seen(status == "200" and body_ok and code == 0,
                f"in-flight request (body finished 0.5 s after SIGTERM): {status}; exit code {code} "
                f"after {time.monotonic() - started:.1f} s")

