"""The bench chart: well-formed SVG, one line per target per panel, and higher values drawn higher."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from bench import chart

SVG = "{http://www.w3.org/2000/svg}"


def run(rps: float, p99: float) -> dict[str, float]:
    return {"requests_per_s": rps, "p50_ms": p99 / 2, "p99_ms": p99, "errors": 0}


RESULTS: dict[str, Any] = {
    "settings": {"connections": [1, 8, 64]},
    "predict": {
        "ours": {"1": run(3000, 0.4), "8": run(9000, 2.0), "64": run(7000, 30.0)},
        "textbook_plain": {"1": run(1000, 0.9), "8": run(2000, 4.0), "64": run(2500, 25.0)},
        "workers_pss_mib": {"ours": 90.0, "textbook_plain": 200.0},  # a summary, not a series
    },
}


def polylines(svg: str) -> dict[tuple[str, str], list[tuple[float, float]]]:
    root = ET.fromstring(svg)  # raises on malformed XML
    found = {}
    for line in root.iter(f"{SVG}polyline"):
        key = (line.attrib["data-panel"], line.attrib["data-series"])
        assert key not in found, f"two lines for {key}"
        found[key] = [(float(x), float(y)) for x, y in (p.split(",") for p in line.attrib["points"].split())]
    return found


def test_one_line_per_series_per_panel_with_a_point_per_connection_count() -> None:
    lines = polylines(chart.draw(RESULTS))
    assert set(lines) == {(panel, name) for panel in ("throughput", "p99") for name in ("ours", "textbook_plain")}
    for points in lines.values():
        xs = [x for x, _ in points]
        assert len(points) == 3 and xs == sorted(xs) and len(set(xs)) == 3  # 1, 8, 64 connections, left to right


def test_higher_throughput_and_higher_p99_are_drawn_higher() -> None:
    lines = polylines(chart.draw(RESULTS))
    runs = [(name, c, r) for name in ("ours", "textbook_plain") for c, r in enumerate(RESULTS["predict"][name].values())]
    for panel, key in (("throughput", "requests_per_s"), ("p99", "p99_ms")):
        by_value = sorted(runs, key=lambda run: run[2][key])
        heights = [-lines[(panel, name)][c][1] for name, c, _ in by_value]  # SVG's y grows downwards
        assert heights == sorted(heights) and len(set(heights)) == len(heights), panel


def test_labels_reach_the_legend_and_markdown_quotes_are_dropped() -> None:
    svg = chart.draw(RESULTS, {"ours": "churn service (ours)", "textbook_plain": "textbook under plain `gunicorn -w 2`"})
    texts = {t.text for t in ET.fromstring(svg).iter(f"{SVG}text")}
    assert {"churn service (ours)", "textbook under plain gunicorn -w 2"} <= texts
