"""`python -m bench mail`: the Jepsen-style mail check at scale (DESIGN §12), timed.

100,000 offers (`--offers`) written through `/api/customers` and sent by marketing (gunicorn, 3 workers) to a
fault-injecting SMTP server (harness/fault_smtp.py: drops after DATA, 421/450, 550 for some addresses, slow
replies and stalls, errors at QUIT), while a worker is killed with SIGKILL every few seconds; once nothing is
left to send, every offer written is checked against every message received (harness/mail_ledger.py).
Reported: lost, duplicated (ambiguous or not), unexpected, the faults injected, the kills, the time taken
and offers per second; saved to bench/results/mail-<back end>.json. SQLite by default, `--postgres` on a
throwaway PostgreSQL cluster. Exits 1 if the check fails.
"""
from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import requests

from bench import machine, train
from bench.campaign import marketing_token
from bench.sample import CUSTOMER
from harness import REPO
from harness.fault_smtp import Faults, FaultSmtp
from harness.mail_chaos import SEND_DEADLINE_S, WorkerKiller, marketing_env, metric, post_customers, wait_quiescent
from harness.mail_ledger import check_db
from harness.postgres import PostgresCluster
from harness.servers import Gunicorn

log = logging.getLogger("bench.mail")
RESULTS = REPO / "bench" / "results"
# The test's faults, but stalls rarer: each holds a worker for a whole send deadline, and at 100,000 offers the
# test's rate would spend most of the run waiting on them.
FAULTS = Faults(stall=0.0002, stall_s=SEND_DEADLINE_S + 1, seed=27)
# The profile the model scores highest (tests/samples.py's LIKELY_CHURNER): every one gets an offer.
LIKELY_CHURNER = {**CUSTOMER, "phoneservice": "yes", "multiplelines": "yes", "internetservice": "fiber_optic",
                  "streamingtv": "yes", "streamingmovies": "yes", "onlinebackup": "no", "monthlycharges": 99.5,
                  "totalcharges": 99.5, "seniorcitizen": 1, "partner": "no"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench mail", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=100_000, help="offers to write and send (default 100,000)")
    parser.add_argument("--postgres", action="store_true", help="marketing on PostgreSQL instead of SQLite")
    parser.add_argument("--workers", type=int, default=3, help="marketing's gunicorn workers (default 3)")
    parser.add_argument("--kill-pause", default="1,5", help="seconds between kills, a range (default 1,5)")
    parser.add_argument("--seed", type=int, default=FAULTS.seed, help="the faults' and the kills' seed")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    low, high = (float(x) for x in args.kill_pause.split(","))
    faults = Faults(**{**asdict(FAULTS), "seed": args.seed})
    with ExitStack() as stack:
        churn = stack.enter_context(Gunicorn("churn_service", {"MODEL_PATH": str(work / "model" / "model.bin")}, workers=2))
        db, extra = str(work / "marketing.db"), {}
        if args.postgres:
            db = stack.enter_context(PostgresCluster()).create_database()
            extra = {"SECRET_KEY": secrets.token_urlsafe(32)}  # required with PostgreSQL (DESIGN §9)
        smtp = stack.enter_context(FaultSmtp(faults))
        env = {"CHURN_URL": churn.url, "MARKETING_DB": db, "MAIL_DIR": str(work / "mail"), **marketing_env(smtp), **extra}
        marketing = stack.enter_context(Gunicorn("marketing_service", env, workers=args.workers))
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {marketing_token(marketing)}"
        log.info("%d offers to %s on %s, %d workers", args.offers, marketing.url, "PostgreSQL" if args.postgres
                 else "SQLite", args.workers)
        started = time.monotonic()
        killer = WorkerKiller(marketing, pause_s=(low, high), seed=args.seed).start()
        try:
            post_customers(marketing.url, http, LIKELY_CHURNER, args.offers, "BENCH", batch=1000)
            posted = time.monotonic() - started
            log.info("offers written in %.0fs", posted)
            wait_quiescent(db, timeout=max(600, args.offers / 10),
                           progress=lambda pending, unsent: log.info("%d customers pending, %d offers unsent",
                                                                     pending, unsent))
        finally:
            kills = killer.stop()
        wait_quiescent(db, timeout=120)  # a last kill may have left a claimed offer behind
        elapsed = time.monotonic() - started
        server = smtp.log()
        report = check_db(db, server.received(), server.bounced)
        ambiguous_metric = metric(marketing.url)
    log.info("%s", report.format())
    return {"backend": "postgres" if args.postgres else "sqlite", "offers": report.offers,
            "workers": args.workers, "seed": args.seed, "faults_settings": asdict(faults),
            "kill_pause_s": [low, high], "kills": kills, "total_s": round(elapsed, 1), "post_s": round(posted, 1),
            "offers_per_s": round(report.offers / elapsed, 1), "smtp_attempts": server.attempts,
            "faults": dict(sorted(server.faults.items())), "accepted": len(server.accepted),
            "taken_unanswered": len(server.dropped), "marketing_mail_ambiguous_total": ambiguous_metric,
            "ok": report.ok, "check": {k: v for k, v in asdict(report).items() if k != "examples"},
            "examples": report.examples}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
        work = Path(tmp)
        if not train(log, "--output-dir", work / "model"):
            return 1
        result = {"machine": machine.describe(), **run(args, work)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"mail-{result['backend']}.json").write_text(json.dumps(result, indent=2) + "\n")
    c = result["check"]
    sys.stdout.write(
        f"{result['offers']} offers on {result['backend']} in {result['total_s']} s ({result['offers_per_s']} offers/s; "
        f"written in {result['post_s']} s), {result['smtp_attempts']} SMTP attempts, {result['kills']} workers killed\n"
        f"lost {c['lost']}, duplicated {c['duplicated_ambiguous']} ambiguous + {c['duplicated_not_ambiguous']} not "
        f"ambiguous, unexpected {c['unexpected']}, refused for good {c['refused']}, ambiguous sends "
        f"{c['ambiguous_total']} (metric {result['marketing_mail_ambiguous_total']})\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
