"""`python -m bench.swap`: what a model change costs the clients of a running churn service (DESIGN §7).

wrk keeps 8 keep-alive connections busy on /predict while the registry's CURRENT changes five times
(promote, rollback, ...). Reported: requests and failures (non-2xx and socket errors, from wrk), every
`model_version` seen (counted by wrk's Lua `response()`), and per change the time from CURRENT being
replaced to every worker answering with the new version (sampled over fresh connections).
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench import train
from bench.sample import CUSTOMER
from harness import REPO, wrk
from harness.servers import Gunicorn, run_train

log = logging.getLogger("bench.swap")
RESULTS = REPO / "bench" / "results"
# Each wrk thread counts the versions it was answered with; done() sums them over threads into one JSON line.
COUNT_VERSIONS = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
versions = {{}}
function response(status, headers, body)
  local v = string.match(body, '"model_version"%s*:%s*"([^"]+)"') or ("status " .. status)
  versions[v] = (versions[v] or 0) + 1
end
function done(summary, latency, requests)
  local total = {{}}
  for _, t in ipairs(threads) do
    for v, n in pairs(t:get("versions")) do total[v] = (total[v] or 0) + n end
  end
  local parts = {{}}
  for v, n in pairs(total) do table.insert(parts, string.format('"%s": %d', v, n)) end
  io.write("VERSIONS {{" .. table.concat(parts, ", ") .. "}}\\n")
end
"""


def all_workers_serve(url: str, version: str, samples: int = 20) -> bool:
    """Fresh connections, so the kernel spreads the samples over every worker."""
    return all(requests.post(f"{url}/predict", json=CUSTOMER, timeout=5, headers={"Connection": "close"}
                             ).json()["model_version"] == version for _ in range(samples))


def swap_under_load(root: Path, first: str, second: str, poll_s: float, changes: int) -> dict[str, Any]:
    env = {"MODEL_REGISTRY": str(root), "MODEL_POLL_SECONDS": str(poll_s)}
    with Gunicorn("churn_service", env, workers=2) as server, \
            tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(COUNT_VERSIONS.format(body=json.dumps(json.dumps(CUSTOMER))))
        lua.flush()
        seconds = changes * (poll_s + 4) + 5
        load = subprocess.Popen(["wrk", "-t2", "-c8", f"-d{round(seconds)}s", "--latency", "--timeout", "5s", "-s", lua.name,
                                 f"{server.url}/predict"], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        switch_s, target = [], first
        for change in range(changes):
            target = second if target == first else first
            command = ("promote", target) if change % 2 == 0 else ("rollback",)
            assert run_train(*command, "--registry", root).returncode == 0, f"{command} failed"
            changed = time.monotonic()  # CURRENT was replaced just before the CLI returned
            while not all_workers_serve(server.url, target):
                time.sleep(0.05)
            switch_s.append(round(time.monotonic() - changed, 2))
            log.info("change %d (%s): every worker on %s after %.2f s", change + 1, command[0], target, switch_s[-1])
        output, _ = load.communicate(timeout=seconds + 60)
    measured = wrk.parse(output)
    versions = json.loads(output.split("VERSIONS ", 1)[1].splitlines()[0])
    return {"connections": 8, "changes": changes, "poll_s": poll_s, "requests": sum(versions.values()),
            "errors": measured.errors, "versions": versions, "requests_per_s": measured.requests_per_s,
            "p99_ms": measured.p99_ms, "switch_s": switch_s, "max_switch_s": max(switch_s)}


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parser = argparse.ArgumentParser(prog="python -m bench.swap", description=__doc__)
    parser.add_argument("--poll", type=float, default=2.0, help="MODEL_POLL_SECONDS of the service (default 2)")
    parser.add_argument("--changes", type=int, default=5, help="promotions and rollbacks in a row (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-swap-") as tmp:
        root = Path(tmp) / "models"
        for extra in ((), ("--C", "0.001", "--promote", "always")):
            if not train(log, "--registry", root, "--folds", "2", *extra):
                return 1
        second = (root / "CURRENT").read_text().strip()
        [first] = [line for line in (root / "HISTORY").read_text().split() if line != second]
        run_train("rollback", "--registry", root)
        result = swap_under_load(root, first, second, args.poll, args.changes)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "swap.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0 if result["errors"] == 0 and set(result["versions"]) == {first, second} else 1


if __name__ == "__main__":
    sys.exit(main())
