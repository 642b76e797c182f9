"""`python -m bench campaign` (or `python -m bench.campaign`): a 100,000-row campaign end to end (DESIGN §8),
timed as a marketer sees it.

The data set's rows repeated with fresh IDs are uploaded as one CSV; the clock stops when the campaign is
`done`. Peak RSS of the marketing workers is sampled meanwhile. Then (unless `--no-report`) outcomes for every
row are posted and GET /api/campaigns/<id>/report is timed (DESIGN §14: under a second at 100,000 rows).
By default it starts churn and marketing under gunicorn here (2 workers each) and makes itself an API token;
`--url` points it at a running marketing instead (for example compose's, `--url http://127.0.0.1:8000`, with
`--pids` from `docker top` or left empty), with a marketer's API token in MARKETING_TOKEN (or `--token`), made
where that marketing runs:
`MARKETING_TOKEN=$(docker compose exec -T marketing python -m marketing_service tokens create bench --role marketer)`.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from harness import REPO
from harness.customer_lists import telco_csv
from harness.servers import Gunicorn, rss_kib, run_train, worker_pids

log = logging.getLogger("bench.campaign")
RESULTS = REPO / "bench" / "results"


def marketing_token(server: Gunicorn, name: str = "bench") -> str:
    """A marketer's API token on the server's database, made as an operator makes one (DESIGN §11):
    `python -m marketing_service tokens create` under the server's environment, so on its MARKETING_DB."""
    done = subprocess.run([sys.executable, "-m", "marketing_service", "tokens", "create", name, "--role", "marketer"],
                          cwd=REPO, env=server.env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"tokens create failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout.strip()


def run_campaign(url: str, token: str, body: bytes, pids: list[int], max_offers: int = 5000) -> dict[str, Any]:
    peak, stop = {pid: 0 for pid in pids}, threading.Event()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"

    def sample() -> None:
        while not stop.is_set():
            for pid in peak:
                try:
                    peak[pid] = max(peak[pid], rss_kib(pid))
                except OSError:
                    pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    response = http.post(f"{url}/api/campaigns", files={"file": ("customers.csv", body, "text/csv")},
                         data={"name": "bench", "mode": "expected_value", "max_offers": str(max_offers or "")}, timeout=300)
    response.raise_for_status()
    uploaded = time.monotonic() - started
    campaign_id = response.json()["id"]
    while (status := http.get(f"{url}/api/campaigns/{campaign_id}", timeout=10).json())["status"] != "done":
        if status["status"] == "failed":
            raise RuntimeError(f"campaign failed: {status}")
        time.sleep(0.25)
    total = time.monotonic() - started
    stop.set()
    sampler.join()
    return {"campaign_id": campaign_id, "rows": status["rows"], "accepted": status["accepted"], "offers": status["offers"],
            "upload_mb": round(len(body) / 1e6, 1), "upload_s": round(uploaded, 2), "total_s": round(total, 2),
            "rows_per_s": round(status["rows"] / total), "peak_worker_rss_mb": {str(p): round(k / 1024) for p, k in peak.items()}}


def time_report(url: str, token: str, campaign_id: int, repeats: int = 5) -> dict[str, Any]:
    """DESIGN §14: outcomes for every row of the campaign posted (in two uploads, so the report has two looks), then
    GET /api/campaigns/<id>/report timed as a client sees it; the best and the median of `repeats`."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    lines = http.get(f"{url}/api/campaigns/{campaign_id}/results.csv", timeout=300).text.splitlines()[1:]
    outcomes = [f"{line.split(',', 1)[0]},{'yes' if i % 3 == 0 else 'no'}" for i, line in enumerate(lines)]
    started = time.monotonic()
    for half in (outcomes[: len(outcomes) // 2], outcomes[len(outcomes) // 2:]):
        answer = http.post(f"{url}/api/campaigns/{campaign_id}/outcomes", data="customerid,churned\n" + "\n".join(half),
                           headers={"Content-Type": "text/csv"}, timeout=600)
        answer.raise_for_status()
    posted = time.monotonic() - started
    took = []
    for _ in range(repeats):
        started = time.monotonic()
        report = http.get(f"{url}/api/campaigns/{campaign_id}/report", timeout=60)
        took.append(time.monotonic() - started)
        report.raise_for_status()
    body = report.json()
    return {"outcomes_posted": len(outcomes), "outcomes_s": round(posted, 2),
            "report_arms": body["assigned"], "report_s_best": round(min(took), 3),
            "report_s_median": round(sorted(took)[len(took) // 2], 3)}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parser = argparse.ArgumentParser(prog="python -m bench campaign", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", help="a running marketing service (default: start churn and marketing here)")
    parser.add_argument("--pids", default="", help="with --url: worker pids to sample RSS of, comma-separated")
    parser.add_argument("--token", help="with --url: a marketer's API token (default: the MARKETING_TOKEN environment"
                        " variable; better there than on a command line others can list)")
    parser.add_argument("--label", default="local", help="where it ran, for the results file (local, compose)")
    parser.add_argument("--no-report", action="store_true", help="skip posting outcomes and timing GET .../report")
    parser.add_argument("--max-offers", type=int, default=5000, help="the campaign's budget; 0: none, so every"
                        " targeted customer is in the report's arms (default 5000)")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("MARKETING_TOKEN", "")
    if args.url and not token:
        parser.error("--url needs a marketer's API token in MARKETING_TOKEN (or --token): "
                     "python -m marketing_service tokens create bench --role marketer, where that marketing runs")
    body = telco_csv(args.rows, prefix="BENCH")
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp, ExitStack() as stack:
        url, pids = args.url, [int(p) for p in args.pids.split(",") if p]
        if url is None:
            assert run_train("--output-dir", Path(tmp) / "model").returncode == 0, "training failed"
            churn = stack.enter_context(Gunicorn("churn_service", {"MODEL_PATH": f"{tmp}/model/model.bin"}, workers=2))
            env = {"CHURN_URL": churn.url, "MARKETING_DB": f"{tmp}/m.db", "MAIL_DIR": f"{tmp}/mail"}
            marketing = stack.enter_context(Gunicorn("marketing_service", env, workers=2))
            url, pids, token = marketing.url, worker_pids(marketing.proc.pid), marketing_token(marketing)
        log.info("%d rows (%.1f MB) to %s", args.rows, len(body) / 1e6, url)
        result = {"where": args.label, **run_campaign(url, token, body, pids, args.max_offers)}
        if not args.no_report:
            result["report"] = time_report(url, token, result["campaign_id"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"campaign-{args.label}.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
