"""`python -m bench servers`: gunicorn (gthread as shipped, and sync) against Granian's WSGI mode, both services.

Issue 30 asks whether the server itself is worth changing. Throughput and p99 come from wrk at 8 and 64
connections (churn POST /predict; marketing POST /api/customers with a marketer's token, churn behind it),
the targets interleaved round by round so a noisy neighbour slows them alike, the best round kept; then the
PSS of the workers. Ratios to shipped gunicorn are taken within one run. Then the guarantees we rely on
(multi-worker metrics, the shared drift window, the body limit, a hung worker replaced, SIGHUP, SIGTERM) are
checked on fresh processes of each server (harness/server_guarantees.py); `python -m bench` measures speed only.
Every target runs 2 workers of 4 threads (sync and granian_1t: 1), access log off.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import marketing, train
from bench.campaign import marketing_token
from bench.sample import CUSTOMER
from harness import REPO, server_guarantees, wrk
from harness.granian import Granian
from harness.servers import Gunicorn, pss_mib, worker_pids

log = logging.getLogger("bench.servers")
RESULTS = REPO / "bench" / "results"
SYNC = {"GUNICORN_CMD_ARGS": "--worker-class sync", "GUNICORN_THREADS": "1"}  # threads > 1 would mean gthread
Factory = Callable[..., Gunicorn]  # (service, env, app=None): a runner not yet started
SERVERS: dict[str, Factory] = {
    "gunicorn_gthread": lambda service, env, app=None: Gunicorn(service, env, workers=2, app=app),
    "gunicorn_sync": lambda service, env, app=None: Gunicorn(service, {**env, **SYNC}, workers=2, app=app),
    "granian": lambda service, env, app=None: Granian(service, env, workers=2, app=app, threads=4),
    "granian_1t": lambda service, env, app=None: Granian(service, env, workers=2, app=app, threads=1),
}
LABELS = {"gunicorn_gthread": "gunicorn gthread ×4 (shipped)", "gunicorn_sync": "gunicorn sync",
          "granian": "Granian WSGI, 4 blocking threads", "granian_1t": "Granian WSGI, 1 blocking thread"}
TIMEOUT_S = 30  # gunicorn's worker timeout (http_common/gunicorn_base.py)


def _interleaved(servers: dict[str, Gunicorn], path: str, load: dict[str, dict[str, Any]], connections: list[int],
                 duration: float, rounds: int) -> dict[str, Any]:
    """Best of `rounds` per target and connection count, every target once per round; then the PSS.
    `load[name]`: wrk's body or template and headers for that target."""
    for name, server in servers.items():  # every worker booted and warm before anything is timed
        wrk.run(f"{server.url}{path}", 8, 2, **load[name])
    results: dict[str, Any] = {name: {} for name in servers}
    for conns in connections:
        for round_no in range(1, rounds + 1):
            for name, server in servers.items():
                log.info("round %d/%d  %-16s %s %2d connections", round_no, rounds, name, path, conns)
                measured = wrk.run(f"{server.url}{path}", conns, duration, **load[name]).as_dict()
                best = results[name].get(str(conns))
                if best is None or measured["requests_per_s"] > best["requests_per_s"]:
                    results[name][str(conns)] = measured
    for name, server in servers.items():
        assert server.proc is not None
        results[name]["workers_pss_mib"] = pss_mib(worker_pids(server.proc.pid))
        results[name]["master_pss_mib"] = pss_mib([server.proc.pid])
    return results


def run(model_path: Path, workdir: Path, connections: list[int], duration: float, rounds: int) -> dict[str, Any]:
    """Both services under every server of SERVERS: {"churn": {...}, "marketing": {...}}."""
    churn_env = {"MODEL_PATH": str(model_path)}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(make("churn_service", churn_env)) for name, make in SERVERS.items()}
        body = {"body": json.dumps(CUSTOMER)}
        churn = _interleaved(servers, "/predict", dict.fromkeys(servers, body), connections, duration, rounds)
    with ExitStack() as stack:
        scorer = stack.enter_context(Gunicorn("churn_service", churn_env, workers=2))
        servers = {name: stack.enter_context(make("marketing_service", {
            "CHURN_URL": scorer.url, "MARKETING_DB": str(workdir / f"{name}.db"), "MAIL_DIR": str(workdir / f"mail-{name}"),
        })) for name, make in SERVERS.items()}
        load = {name: {"unique_template": marketing.TEMPLATE, "headers": {"Authorization": f"Bearer {marketing_token(server)}"}}
                for name, server in servers.items()}
        marketing = _interleaved(servers, "/api/customers", load, connections, duration, rounds)
    return {"churn": churn, "marketing": marketing, "connections": connections, "duration_s": duration, "rounds": rounds}


def _fresh(make: Factory, model_path: Path, workdir: Path, app: str | None = None) -> tuple[Gunicorn, Path]:
    """A churn service not yet started, and the folder its metrics directory will be made in."""
    parent = Path(tempfile.mkdtemp(prefix="metrics-", dir=workdir))
    return make("churn_service", {"MODEL_PATH": str(model_path), "PROMETHEUS_MULTIPROC_DIR": str(parent)}, app), parent


def guarantees(model_path: Path, workdir: Path) -> dict[str, dict[str, server_guarantees.Seen]]:
    """Every guarantee against each server, on churn; a fresh service per check (a check may wedge or stop it)."""
    g, body, seen = server_guarantees, json.dumps(CUSTOMER).encode(), {}
    checks: dict[str, Callable[[Gunicorn], server_guarantees.Seen]] = {
        "body_limit": lambda s: g.body_limit(s, 8, body),
        "hung_worker": lambda s: g.hung_worker(s, TIMEOUT_S + 10),
        "slow_request": lambda s: g.slow_request(s, TIMEOUT_S),
        "sighup": lambda s: g.reload(s, 12, body),
        "sigterm": lambda s: g.graceful_stop(s, body),
    }
    for name, make in SERVERS.items():
        server, parent = _fresh(make, model_path, workdir)
        with server:
            [metrics_dir] = [p for p in parent.iterdir() if p.is_dir()]
            seen[name] = {"metrics": g.metrics_across_workers(server, metrics_dir, "/predict", body, 400),
                          "drift": g.drift_shared(server, 400), "header_limits": g.header_limits(server)}
        for check, do in checks.items():
            log.info("%-16s %s", name, check)
            app = "harness.slow_app:create_app()" if check == "slow_request" else None
            with _fresh(make, model_path, workdir, app)[0] as server:
                seen[name][check] = do(server)
        log.info("%s: %s", name, {check: s.held for check, s in seen[name].items()})
    return seen


def _row(label: str, r: dict[str, Any], shipped: dict[str, Any], connections: list[int]) -> str:
    cells = [f"{r[str(c)]['requests_per_s']:.0f} | {r[str(c)]['p99_ms']:.1f} | "
             f"{r[str(c)]['requests_per_s'] / shipped[str(c)]['requests_per_s']:.2f} | {r[str(c)]['errors']}"
             for c in connections]
    return f"| {label} | " + " | ".join(cells) + f" | {r['workers_pss_mib']:.0f} | {r['master_pss_mib']:.0f} |"


def markdown(result: dict[str, Any]) -> str:
    """The "Servers" section: a table per service, ratios to shipped gunicorn from the same run."""
    conns = result["connections"]
    head = "| server | " + " | ".join(f"req/s @{c} | p99 ms @{c} | ÷ shipped @{c} | errors @{c}" for c in conns)
    lines = ["## Servers: gunicorn against Granian (WSGI), 2 workers each, same run", "",
             f"wrk {result['duration_s']:g} s per run, best of {result['rounds']} interleaved rounds; PSS in MiB after the runs."]
    for service, what in (("churn", "churn POST /predict"), ("marketing", "marketing POST /api/customers (churn behind it)")):
        shipped = result[service]["gunicorn_gthread"]
        lines += ["", f"### {what}", "", head + " | workers PSS | master PSS |",
                  "|---" * (1 + 4 * len(conns) + 2) + "|"]
        lines += [_row(LABELS[n], result[service][n], shipped, conns) for n in SERVERS]
    return "\n".join(lines) + "\n"


HOW = {
    "metrics": "400 POST /predict over fresh connections from 8 threads; each worker's multiprocess file read alone; "
               "10 scrapes of /metrics must all say 400, with 2 workers having served",
    "drift": "then 10 GET /drift over fresh connections must all report a window of 400",
    "header_limits": "a 5000-byte request line, 60 header fields, a 9000-byte field: each refused (4xx)",
    "body_limit": "256 MiB offered with Content-Length on a raw socket: 413 before the workers' RSS grows by the limit; "
                  "then a record padded with spaces to 12 MiB, chunked (no length to refuse early): reported",
    "hung_worker": f"SIGSTOP one worker, wait {TIMEOUT_S + 10} s: replaced, and 20 fresh GET /healthz answered within 3 s",
    "slow_request": f"GET a route that sleeps {TIMEOUT_S + 10} s (harness/slow_app.py): cut before {TIMEOUT_S + 5} s",
    "sighup": "50 POST /predict, then SIGHUP to the master while 4 threads loop GET /healthz for 12 s: every worker "
              "new, no request failed (the /predict count after is reported)",
    "sigterm": "POST /predict half sent, SIGTERM to the master, the rest 0.5 s later: 200 with a score, exit 0",
}


def guarantees_markdown(seen: dict[str, dict[str, server_guarantees.Seen]]) -> str:
    names = list(seen)
    lines = ["## Guarantees, checked against real processes (churn service, 2 workers, fresh per check)", "",
             "| guarantee | how checked | " + " | ".join(LABELS[n] for n in names) + " |", "|---" * (2 + len(names)) + "|"]
    for check in seen[names[0]]:
        lines.append(f"| {check} | {HOW.get(check, '')} | " + " | ".join(
            f"{'held' if seen[n][check].held else '**NOT held**'}: {seen[n][check].observed}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parser = argparse.ArgumentParser(prog="python -m bench servers", description=__doc__)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best is kept (default 2)")
    parser.add_argument("--connections", default="8,64", help="wrk connection counts (default 8,64)")
    parser.add_argument("--no-guarantees", action="store_true", help="measure speed only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp:
        workdir = Path(tmp)
        if not train(log, "--output-dir", workdir / "model"):
            return 1
        model = workdir / "model" / "model.bin"
        result: dict[str, Any] = run(model, workdir, [int(c) for c in args.connections.split(",")], args.duration,
                                     args.rounds)
        seen = {} if args.no_guarantees else guarantees(model, workdir)
    result["guarantees"] = {n: {c: s._asdict() for c, s in checks.items()} for n, checks in seen.items()}
    text = markdown(result) + ("\n" + guarantees_markdown(seen) if seen else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "servers.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "servers.md").write_text(text)
    sys.stdout.write(text)
    return 0
