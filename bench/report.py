"""Turn bench results into the Markdown table committed under bench/results/, and the chart beside it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import chart, servers, shadow

TARGET_LABELS = {"ours": "churn service (ours)", "ours_no_drift": "churn service, drift off (DRIFT_WINDOW=0)",
                 "flask_floor": "Flask floor (constant JSON)",
                 "wsgi_floor": "bare WSGI", "textbook": "textbook predict.py",
                 "flask_floor_plain": "Flask floor under plain `gunicorn -w 2`",
                 "textbook_plain": "textbook predict.py under plain `gunicorn -w 2`"}
CHART = "latest.svg"  # beside latest.md, which links it


def _headline(predict: dict[str, Any], conns: int) -> str:
    ours, floor, textbook = (predict[n][str(conns)] for n in ("ours", "flask_floor_plain", "textbook_plain"))
    return (f"| {conns} | {ours['requests_per_s']:.0f} | {ours['p99_ms']:.2f} | {floor['requests_per_s']:.0f} | "
            f"{textbook['requests_per_s']:.0f} | {ours['requests_per_s'] / floor['requests_per_s']:.2f} | "
            f"{ours['requests_per_s'] / textbook['requests_per_s']:.2f} |")


def markdown(results: dict[str, Any]) -> str:
    m, ip, predict = results["machine"], results["in_process"], results["predict"]
    lines = [
        "# Benchmark results", "",
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, {m['wrk']}; "
        + ", ".join(f"{k} {v}" for k, v in m["libraries"].items()) + ".",
        f"Settings: gunicorn {results['settings']['workers']} workers ({results['settings']['worker_class']}; "
        f"sync for the references run plain), access log off for every target, "
        f"wrk {results['settings']['duration_s']:g} s per run, "
        f"best of {results['settings']['rounds']} interleaved rounds.", "",
        "## In-process scoring (µs per record)", "",
        "| | scikit-learn transform + predict_proba | compiled scorer | speed-up |", "|---|---|---|---|",
        f"| single record | {ip['sklearn_single_us']:.1f} | {ip['compiled_single_us']:.2f} | {ip['single_speedup']:.0f}× |",
        f"| batch of 1000 | {ip['sklearn_batch1000_us']:.2f} | {ip['compiled_batch1000_us']:.2f} | {ip['batch_speedup']:.1f}× |",
        f"\nValidating one record (`parse_record`): {ip['parse_single_us']:.1f} µs.", "",
        "## POST /predict against the references as their users run them", "",
        "Our service as shipped (its gunicorn config); the Flask floor and the textbook app under plain "
        "`gunicorn -w 2` (sync workers, defaults).", "",
        "| connections | ours req/s | ours p99 ms | Flask floor req/s | textbook req/s | ours / Flask floor | ours / textbook |",
        "|---|---|---|---|---|---|---|",
        *[_headline(predict, c) for c in results["settings"]["connections"]], "",
        "## POST /predict over HTTP, every target (under our gunicorn settings unless the label says plain)", "",
        f"![Throughput and p99 latency of POST /predict against connections, every target]({CHART})", "",
        "| target | connections | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|",
    ]
    for conns in results["settings"]["connections"]:
        for name, label in TARGET_LABELS.items():
            r = predict[name][str(conns)]
            lines.append(f"| {label} | {conns} | {r['requests_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                         f"| {r['errors']} |")
    lines += ["", "| connections | ours / Flask floor | ours / textbook | ours / bare WSGI |", "|---|---|---|---|"]
    for conns in results["settings"]["connections"]:
        ours = predict["ours"][str(conns)]["requests_per_s"]
        ratio = {n: ours / predict[n][str(conns)]["requests_per_s"] for n in ("flask_floor", "textbook", "wsgi_floor")}
        lines.append(f"| {conns} | {ratio['flask_floor']:.2f} | {ratio['textbook']:.2f} | {ratio['wsgi_floor']:.2f} |")
    lines += ["", "Cost of drift monitoring (1 − ours / drift off, same run): " + ", ".join(
        f"{1 - predict['ours'][str(c)]['requests_per_s'] / predict['ours_no_drift'][str(c)]['requests_per_s']:+.1%} "
        f"at {c} connections" for c in results["settings"]["connections"]) + "."]
    pss = predict["workers_pss_mib"]
    lines += ["", "Memory after the runs, the two workers of each target together (PSS: pages shared with the master or "
              "each other count once): " + ", ".join(f"{TARGET_LABELS[n]} {pss[n]:.0f} MiB" for n in TARGET_LABELS)
              + f"; marketing {results['marketing']['workers_pss_mib']:.0f} MiB."]
    b, mk = results["batch"], results["marketing"]
    lines += [
        "", "## Batches and the marketing path", "",
        "| what | req/s | records/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|",
        f"| POST /predict/batch, 1000 customers, 8 connections | {b['requests_per_s']:.1f} | {b['records_per_s']:.0f} | "
        f"{b['p50_ms']:.1f} | {b['p99_ms']:.1f} | {b['errors']} |",
        f"| marketing POST /api/customers (churn behind it), 8 connections | {mk['requests_per_s']:.0f} | "
        f"{mk['requests_per_s']:.0f} | {mk['p50_ms']:.2f} | {mk['p99_ms']:.2f} | {mk['errors']} |",
    ]
    if results.get("marketing_postgres"):  # absent from runs made before it
        pg = results["marketing_postgres"]
        lines += [f"| the same on PostgreSQL (fsync and synchronous_commit on) | {pg['requests_per_s']:.0f} | "
                  f"{pg['requests_per_s']:.0f} | {pg['p50_ms']:.2f} | {pg['p99_ms']:.2f} | {pg['errors']} |"]
    lines += [""]
    if results.get("shadow"):  # None when its training failed; absent from runs made before it
        lines += [shadow.markdown(results["shadow"])]
    if results.get("servers"):  # absent from runs made before it
        lines += [servers.markdown(results["servers"])]
    return "\n".join(lines)


def write(results: dict[str, Any], directory: Path) -> str:
    """Write latest.md and the chart it links into `directory`, from the same results; return the Markdown."""
    text = markdown(results)
    (directory / CHART).write_text(chart.draw(results, TARGET_LABELS))
    (directory / "latest.md").write_text(text)
    return text
