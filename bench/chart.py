"""Draw the bench's POST /predict results as one self-contained SVG: throughput and p99 latency against connections.

Hand-written SVG, no plotting library, so the picture under bench/results/ costs no dependency and reads the same
in a browser and on GitHub. `python -m bench chart` redraws latest.svg from latest.json without re-running the bench.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

Scale = Callable[[float], float]
PANEL_W, PANEL_H, TOP, ROW = 430, 300, 105, 24
LEFTS = (90, 630)  # the two panels' plot areas; the legend's two columns line up with them
WIDTH = LEFTS[1] + PANEL_W + 40
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")  # Okabe-Ito: colour-blind safe
VARIANTS = ("_no_drift", "_plain")  # the same app run differently: its colour, dashed, in the legend's second column
FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"


def series(results: Mapping[str, Any]) -> dict[str, dict[int, dict[str, float]]]:
    """Each target in results['predict'] measured per connection count, as name -> connections -> measurement."""
    conns = results["settings"]["connections"]
    found = {}
    for name, runs in results["predict"].items():
        if isinstance(runs, dict):  # skips the flat summaries beside the targets (workers_pss_mib)
            points = {c: runs[str(c)] for c in conns if isinstance(runs.get(str(c)), dict)}
            if points:
                found[name] = points
    return found


def _base(name: str) -> str:
    return next((name.removesuffix(v) for v in VARIANTS if name.endswith(v)), name)


def _log_scale(lo: float, hi: float, start: float, end: float, pad: float = 0.0) -> Scale:
    a, b = math.log10(lo), math.log10(hi)
    if a == b:
        a, b = a - 0.5, b + 0.5
    return lambda v: start + pad + (math.log10(max(v, lo)) - a) / (b - a) * (end - start - 2 * pad)


def _linear_ticks(top: float) -> list[float]:
    raw = max(top, 1.0) / 6
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(math.ceil(max(top, 1.0) / step) + 1)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    last = max(last, first + 1)
    steps = (1,) if last - first > 3 else (1, 2, 5)
    return [m * 10.0**d for d in range(first, last) for m in steps] + [10.0**last]


def _text(x: float, y: float, body: str, size: int = 14, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
            f"{escape(body)}</text>")


def _panel(left: int, title: str, ylabel: str, ticks: Sequence[float], fmt: str, yscale: Scale) -> list[str]:
    """A panel's frame: title, horizontal grid with its labels, the y axis label."""
    out = [_text(left + PANEL_W / 2, TOP - 14, title, 16, extra=' font-weight="bold"')]
    for t in ticks:
        y = yscale(t)
        out += [f'<line x1="{left}" y1="{y:.1f}" x2="{left + PANEL_W}" y2="{y:.1f}" stroke="#e3e3e3"/>',
                _text(left - 8, y + 5, format(t, fmt), 13, "end")]
    mid = TOP + PANEL_H / 2
    out.append(_text(left - 70, mid, ylabel, 14, extra=f' transform="rotate(-90 {left - 70} {mid})"'))
    return out


def _x_axis(left: int, conns: Sequence[int], xscale: Scale) -> list[str]:
    bottom = TOP + PANEL_H
    out = [f'<rect x="{left}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#888"/>']
    for c in conns:
        x = left + xscale(c)
        out += [f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#e3e3e3"/>',
                f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#888"/>',
                _text(x, bottom + 22, str(c), 13)]
    return out + [_text(left + PANEL_W / 2, bottom + 46, "connections (wrk, log scale)", 14)]


def _line(panel: str, name: str, label: str, style: tuple[str, bool], width: float,
          points: list[tuple[float, float, str]]) -> list[str]:
    """One series in one panel: a polyline and a marker (with a hover title) per measurement."""
    colour, dashed = style
    dash = ' stroke-dasharray="7 4"' if dashed else ""
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
    out = [f'<polyline class="series" data-panel="{panel}" data-series={quoteattr(name)} points="{coords}" '
           f'fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"{dash}/>']
    out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(label)}: {escape(tip)}</title></circle>'
            for x, y, tip in points]
    return out


def _legend_rows(names: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """One row per app: as shipped in the first column, its variants (dashed) in the second, a row each."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_base(name), []).append(name)
    rows: list[tuple[str | None, str | None]] = []
    for base, members in groups.items():
        first = base if base in members else None
        variants: list[str | None] = [n for n in members if n != base]
        rows += [(first if i == 0 else None, v) for i, v in enumerate(variants or [None])]
    return rows


def _legend(rows: Sequence[tuple[str | None, str | None]], labels: Mapping[str, str],
            styles: Mapping[str, tuple[str, bool]], top: float) -> list[str]:
    out = []
    for i, cells in enumerate(rows):
        y = top + i * ROW
        for left, name in zip(LEFTS, cells, strict=True):
            if name is not None:
                colour, dashed = styles[name]
                dash = ' stroke-dasharray="7 4"' if dashed else ""
                out += [f'<line x1="{left}" y1="{y:.1f}" x2="{left + 34}" y2="{y:.1f}" stroke="{colour}" '
                        f'stroke-width="{3 if name == "ours" else 2}"{dash}/>',
                        f'<circle cx="{left + 17}" cy="{y:.1f}" r="3.5" fill="{colour}"/>',
                        _text(left + 44, y + 5, labels.get(name, name).replace("`", ""), 14, "start")]
    return out


def draw(results: dict[str, Any], labels: Mapping[str, str] | None = None) -> str:
    """The SVG: requests/s (linear) and p99 ms (log) against connections (log), every target, a legend below."""
    labels = labels or {}
    data = series(results)
    conns = sorted({c for points in data.values() for c in points})
    bases = list(dict.fromkeys(_base(n) for n in data))
    styles = {n: (PALETTE[bases.index(_base(n)) % len(PALETTE)], n != _base(n)) for n in data}
    xscale = _log_scale(min(conns), max(conns), 0, PANEL_W, pad=40)
    rps_ticks = _linear_ticks(max(p["requests_per_s"] for s in data.values() for p in s.values()))
    p99s = [max(p["p99_ms"], 1e-3) for s in data.values() for p in s.values()]
    p99_ticks = _log_ticks(min(p99s), max(p99s))
    rps_y: Scale = lambda v: TOP + PANEL_H * (1 - v / rps_ticks[-1])  # noqa: E731 - a scale is a function
    p99_y = _log_scale(p99_ticks[0], p99_ticks[-1], TOP + PANEL_H, TOP)
    legend_top = TOP + PANEL_H + 80
    rows = _legend_rows(list(data))
    height = legend_top + len(rows) * ROW + 10
    m, s = results.get("machine", {}), results["settings"]
    subtitle = (f"{m.get('cores', '?')} cores ({m.get('cpu', '?')}); gunicorn {s.get('workers', '?')} workers "
                f"({s.get('worker_class', '?')}; sync when run plain); "
                f"wrk {s.get('duration_s', '?')} s per run, best of {s.get('rounds', '?')} interleaved rounds.")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
           f'font-family="{FONT}" fill="#222">',
           "<title>POST /predict: throughput and p99 latency against connections</title>",
           f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',  # opaque: dark themes would hide black text
           _text(WIDTH / 2, 30, "POST /predict: throughput and p99 latency against connections", 20,
                 extra=' font-weight="bold"'),
           _text(WIDTH / 2, 54, subtitle, 13, extra=' fill="#555"')]
    out += _panel(LEFTS[0], "Throughput (higher is better)", "requests/s", rps_ticks, ",.0f", rps_y)
    out += _panel(LEFTS[1], "p99 latency (lower is better)", "p99 latency, ms (log scale)", p99_ticks, "g", p99_y)
    for left in LEFTS:
        out += _x_axis(left, conns, xscale)
    for name in sorted(data, key=lambda n: n == "ours"):  # ours last, so on top of the lines it crosses
        points = data[name]
        label, width = labels.get(name, name).replace("`", ""), 3 if name == "ours" else 2
        ordered = sorted(points.items())
        out += _line("throughput", name, label, styles[name], width,
                     [(LEFTS[0] + xscale(c), rps_y(p["requests_per_s"]), f"{p['requests_per_s']:,.0f} req/s at {c}")
                      for c, p in ordered])
        out += _line("p99", name, label, styles[name], width,
                     [(LEFTS[1] + xscale(c), p99_y(max(p["p99_ms"], 1e-3)), f"p99 {p['p99_ms']:g} ms at {c}")
                      for c, p in ordered])
    out += _legend(rows, labels, styles, legend_top)
    return "\n".join(out + ["</svg>", ""])
