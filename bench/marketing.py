"""`python -m bench marketing [--postgres | --both]`: marketing's POST /api/customers alone (DESIGN §5), as the
full run measures it, without the rest of the bench.

Churn (2 workers) behind marketing (2 workers, its gunicorn config as shipped), sign-in on: wrk sends each
request a new customer with an importing script's bearer token, 8 connections. SQLite by default; `--postgres`
on a throwaway PostgreSQL cluster with fsync and synchronous_commit on, so "committed before the answer" costs
there what it costs in production (the test clusters run with both off). `--both` measures the two back ends
in one run, one churn behind both, interleaved round by round so a noisy neighbour slows them alike. The
target (issue 30): at least 1,000 submissions/s with p99 at most 20 ms. Saved to
bench/results/marketing-<back end>.json; the worker pids are logged, for `py-spy record -p PID` meanwhile.
"""
from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import machine, train
from bench.campaign import marketing_token
from bench.sample import CUSTOMER
from harness import REPO, wrk
from harness.postgres import PostgresCluster
from harness.servers import Gunicorn, pss_mib, worker_pids

log = logging.getLogger("bench.marketing")
RESULTS = REPO / "bench" / "results"
TARGET = {"requests_per_s": 1000.0, "p99_ms": 20.0}
BACKENDS = ("sqlite", "postgres")
TEMPLATE = json.dumps({**CUSTOMER, "customerid": "__ID__", "email": "bench@example.com", "name": "Bench"})
TEMPLATE = TEMPLATE.replace("%", "%%").replace("__ID__", "%s")  # a new customerid per request (harness/wrk.py)


def start_marketing(stack: ExitStack, backend: str, churn: Gunicorn, workdir: Path) -> tuple[Gunicorn, dict[str, str]]:
    """Marketing on `backend` with churn behind it, and the Authorization header of a marketer's token."""
    db, extra = str(workdir / f"bench-{backend}.db"), {}
    if backend == "postgres":
        db = stack.enter_context(PostgresCluster(durable=True)).create_database()
        extra = {"SECRET_KEY": secrets.token_urlsafe(32)}  # required with PostgreSQL (DESIGN §9)
    env = {"CHURN_URL": churn.url, "MARKETING_DB": db, "MAIL_DIR": str(workdir / f"mail-{backend}"), **extra}
    server = stack.enter_context(Gunicorn("marketing_service", env, workers=2))
    log.info("marketing on %s at %s, workers %s", backend, server.url, worker_pids(server.proc.pid if server.proc else 0))
    return server, {"Authorization": f"Bearer {marketing_token(server)}"}  # an importing script's token


def measure(model_path: Path, duration: float, workdir: Path, backends: tuple[str, ...] = ("sqlite",),
            rounds: int = 1) -> dict[str, dict[str, Any]]:
    """Back end -> the best round's wrk figures (POST /api/customers, 8 connections) and the workers' PSS."""
    with ExitStack() as stack:
        churn = stack.enter_context(Gunicorn("churn_service", {"MODEL_PATH": str(model_path)}, workers=2))
        servers = {backend: start_marketing(stack, backend, churn, workdir) for backend in backends}
        for server, headers in servers.values():  # every worker booted, its pools and connections warm
            wrk.run(f"{server.url}/api/customers", 8, 2, unique_template=TEMPLATE, headers=headers)
        best: dict[str, dict[str, Any]] = {}
        for round_no in range(1, rounds + 1):
            for backend, (server, headers) in servers.items():
                log.info("round %d/%d  marketing POST /api/customers on %s (churn behind it), 8 connections",
                         round_no, rounds, backend)
                measured = wrk.run(f"{server.url}/api/customers", 8, duration, unique_template=TEMPLATE,
                                   headers=headers).as_dict()
                if backend not in best or measured["requests_per_s"] > best[backend]["requests_per_s"]:
                    best[backend] = measured
        for backend, (server, _) in servers.items():
            assert server.proc is not None
            best[backend]["workers_pss_mib"] = pss_mib(worker_pids(server.proc.pid))
        return best


def line(backend: str, result: dict[str, Any]) -> str:
    met = result["requests_per_s"] >= TARGET["requests_per_s"] and result["p99_ms"] <= TARGET["p99_ms"]
    return (f"marketing POST /api/customers on {backend}, 8 connections: {result['requests_per_s']:.0f} req/s, "
            f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, {result['errors']} errors "
            f"(target ≥ {TARGET['requests_per_s']:.0f}/s, p99 ≤ {TARGET['p99_ms']:.0f} ms: {'met' if met else 'missed'})\n")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parser = argparse.ArgumentParser(prog="python -m bench marketing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--postgres", action="store_true", help="marketing on PostgreSQL instead of SQLite")
    which.add_argument("--both", action="store_true", help="SQLite and PostgreSQL in one run, interleaved")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the best is kept (default 1)")
    args = parser.parse_args(argv)
    backends = BACKENDS if args.both else ("postgres",) if args.postgres else ("sqlite",)
    with tempfile.TemporaryDirectory(prefix="bench-marketing-") as tmp:
        workdir = Path(tmp)
        if not train(log, "--output-dir", workdir / "model"):
            return 1
        results = measure(workdir / "model" / "model.bin", args.duration, workdir, backends, args.rounds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for backend, result in results.items():
        saved = {"machine": machine.describe(), "backend": backend, "duration_s": args.duration, **result}
        (RESULTS / f"marketing-{backend}.json").write_text(json.dumps(saved, indent=2) + "\n")
        sys.stdout.write(line(backend, result))
    return 0 if all(r["errors"] == 0 for r in results.values()) else 1
