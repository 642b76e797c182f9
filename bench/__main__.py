"""`python -m bench`: measure scoring and serving side by side in one run, print and save the table.
`python -m bench mail [--offers N] [--postgres]`: the Jepsen-style mail check at scale instead (bench/mail.py).
`python -m bench marketing [--postgres]`: marketing's POST /api/customers alone (bench/marketing.py; also part of
the full run, on SQLite and PostgreSQL).
`python -m bench shadow`: what a SHADOW challenger costs /predict, alone (bench/shadow.py; also part of the full run).
`python -m bench chart`: redraw bench/results/latest.md and latest.svg from latest.json, without measuring.
`python -m bench campaign [--rows N] [--max-offers N]`: a 100,000-row campaign end to end, then its report timed
(bench/campaign.py; also `python -m bench.campaign`).
`python -m bench campaign-report [--rows N]`: the experiment report's assembly over N labelled customers in process
(bench/campaign_report.py).
`python -m bench servers`: gunicorn (gthread, sync) against Granian's WSGI mode for both services, and the guarantees
we rely on checked under each (bench/servers.py; its speed tables are also part of the full run).

Our service runs as shipped (its gunicorn config: 2 gthread workers, access log off). The references run
twice: under that same config, and as their users run them (plain `gunicorn -w 2 app`: sync workers,
gunicorn's defaults, which log no access lines either); the latter is the headline. The targets are
interleaved round by round so a noisy neighbour slows them alike.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import inprocess, machine, marketing, report, shadow, train
from bench import servers as server_bench  # `servers` names the targets' runners below
from bench.sample import CUSTOMER
from feature_contract import parse_record
from harness import DATA, REPO, wrk
from harness.servers import Gunicorn, pss_mib, worker_pids

log = logging.getLogger("bench")
RESULTS = REPO / "bench" / "results"
TARGETS = {
    "ours": "churn_service:create_app()",
    "ours_no_drift": "churn_service:create_app()",
    "flask_floor": "bench.apps.flask_floor:create_app()",
    "wsgi_floor": "bench.apps.wsgi_floor:create_app()",
    "textbook": "bench.apps.textbook:create_app()",
    "flask_floor_plain": "bench.apps.flask_floor:create_app()",
    "textbook_plain": "bench.apps.textbook:create_app()",
}
# The references as their users run them: plain `gunicorn -w 2 app` (sync workers, gunicorn's defaults).
PLAIN = {"flask_floor_plain", "textbook_plain"}
# The A/B of drift monitoring's cost: the same service with its bookkeeping off.
TARGET_ENV = {"ours_no_drift": {"DRIFT_WINDOW": "0"}}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best is kept (default 2)")
    parser.add_argument("--connections", default="1,8,64", help="wrk connection counts (default 1,8,64)")
    return parser.parse_args()


def serving(model_path: Path, connections: list[int], duration: float, rounds: int) -> dict[str, Any]:
    env = {"MODEL_PATH": str(model_path)}
    body = json.dumps(CUSTOMER)
    servers = {name: Gunicorn("churn_service", {**env, **TARGET_ENV.get(name, {})}, workers=2, app=app,
                              plain=name in PLAIN) for name, app in TARGETS.items()}
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():  # every worker booted and warm before anything is timed
            wrk.run(f"{server.url}/predict", 8, 2, body=body)
        results: dict[str, dict[str, Any]] = {name: {} for name in TARGETS}
        for conns in connections:
            for round_no in range(1, rounds + 1):
                for name, server in servers.items():
                    log.info("round %d/%d  %-12s %2d connections", round_no, rounds, name, conns)
                    measured = wrk.run(f"{server.url}/predict", conns, duration, body=body)
                    best = results[name].get(str(conns))
                    if best is None or measured.requests_per_s > best["requests_per_s"]:
                        results[name][str(conns)] = measured.as_dict()
        results["workers_pss_mib"] = {name: pss_mib(worker_pids(server.proc.pid)) for name, server in servers.items()}
        return results
    finally:
        for server in servers.values():
            server.stop()


def batch(model_path: Path, duration: float) -> dict[str, Any]:
    # Typed, canonical JSON as an API client sends it (from the first 1000 rows of the data set).
    with open(DATA, newline="") as f:
        customers = [parse_record(row) for row in list(csv.DictReader(f))[:1000]]
    with Gunicorn("churn_service", {"MODEL_PATH": str(model_path)}, workers=2) as server:
        log.info("/predict/batch, 1000 customers per request, 8 connections")
        measured = wrk.run(f"{server.url}/predict/batch", 8, duration, body=json.dumps({"customers": customers}))
    return {**measured.as_dict(), "records_per_s": measured.requests_per_s * 1000}


def marketing_rows(model_path: Path, duration: float, workdir: Path) -> dict[str, Any]:
    """POST /api/customers on SQLite ("marketing") and on PostgreSQL ("marketing_postgres"), in one run."""
    measured = marketing.measure(model_path, duration, workdir, marketing.BACKENDS)
    return {"marketing": measured["sqlite"], "marketing_postgres": measured["postgres"]}


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        if not train(log, "--output-dir", workdir / "model"):
            return 1
        model_path = workdir / "model" / "model.bin"
        log.info("in-process scoring")
        results = {
            "machine": machine.describe(),
            "settings": {"duration_s": args.duration, "rounds": args.rounds, "connections": connections,
                         "workers": 2, "worker_class": "gthread", "threads": 4, "access_log": False},
            "in_process": inprocess.run(model_path, DATA),
            "predict": serving(model_path, connections, args.duration, args.rounds),
            "batch": batch(model_path, args.duration),
            **marketing_rows(model_path, args.duration, workdir),
            "shadow": shadow.run(args.duration, args.rounds),
            "servers": server_bench.run(model_path, workdir, [c for c in connections if c > 1] or connections,
                                        args.duration, args.rounds),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = report.write(results, RESULTS)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["mail"]:  # a scenario of its own; imported only when asked for
        from bench import mail

        sys.exit(mail.main(sys.argv[2:]))
    if sys.argv[1:2] == ["marketing"]:
        sys.exit(marketing.main(sys.argv[2:]))
    if sys.argv[1:2] == ["servers"]:
        sys.exit(server_bench.main(sys.argv[2:]))
    if sys.argv[1:2] == ["shadow"]:
        sys.exit(shadow.main(sys.argv[2:]))
    if sys.argv[1:2] == ["chart"]:  # redraw latest.svg from latest.json, no bench run
        report.write(json.loads((RESULTS / "latest.json").read_text()), RESULTS)
        sys.exit(0)
    if sys.argv[1:2] == ["campaign"]:
        from bench import campaign

        sys.exit(campaign.main(sys.argv[2:]))
    if sys.argv[1:2] == ["campaign-report"]:
        from bench import campaign_report

        sys.exit(campaign_report.main(sys.argv[2:]))
    sys.exit(main())
