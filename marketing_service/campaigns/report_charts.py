"""The geometry of the report's two pictures (DESIGN §14), drawn as inline SVG by campaign.html: the Qini curve
(the score's ranking against random) and the lift at each look with its two intervals. Pure functions of the
report's JSON; the page needs no script library, and the CSP no inline style (the SVG uses classes)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT, PAD = 600, 220, 36  # PAD: room for the axis labels at the left and bottom


def signed(text: str) -> str:
    """A number's text with a real minus sign, as a page prints it."""
    return text.replace("-", "\N{MINUS SIGN}")


def _scale(values: Sequence[float], include_zero: bool = True) -> tuple[float, float]:
    """(low, high) of the values, 0 included, never of zero span."""
    low, high = min(values), max(values)
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    margin = (high - low) * 0.05
    return low - margin, high + margin


def _y(value: float, low: float, high: float) -> float:
    return round(HEIGHT - PAD - (value - low) / (high - low) * (HEIGHT - 2 * PAD) + PAD / 2, 1)


def _x(share: float) -> float:
    return round(PAD + share * (WIDTH - 2 * PAD), 1)


def qini_chart(curve: dict[str, list[float]] | None) -> dict[str, Any] | None:
    """Polylines of the model's and the random Qini curve, x the share of customers taken best score first."""
    if not curve or not curve["share"]:
        return None
    low, high = _scale(curve["model"] + curve["random"])

    def points(values: list[float]) -> str:
        return " ".join(f"{_x(s)},{_y(v, low, high)}" for s, v in zip(curve["share"], values, strict=True))

    return {"width": WIDTH, "height": HEIGHT, "model": points(curve["model"]), "random": points(curve["random"]),
            "zero_y": _y(0.0, low, high), "x0": _x(0), "x1": _x(1), "bottom": HEIGHT - PAD / 2 + 14,
            "top_label": signed(f"{high:.0f}"), "bottom_label": signed(f"{low:.0f}"), "top_y": PAD / 2 + 10,
            "low_y": HEIGHT - PAD / 2}


def lift_chart(looks: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Per look with both arms: a band (the confidence sequence), a whisker (the Wald interval) and a dot (the
    difference), in points; a zero line. None until some look has both arms."""
    shown = [look for look in looks if look["difference"] is not None]
    if not shown:
        return None
    low, high = _scale([v * 100 for look in shown for v in (*look["sequence95"], *look["wald95"])])
    step = (WIDTH - 2 * PAD) / len(shown)
    marks = []
    for i, look in enumerate(shown):
        centre = PAD + step * (i + 0.5)
        seq = [_y(v * 100, low, high) for v in look["sequence95"]]
        wald = [_y(v * 100, low, high) for v in look["wald95"]]
        marks.append({"x": round(centre, 1), "band_x": round(centre - min(step * 0.35, 18), 1),
                      "band_w": round(min(step * 0.7, 36), 1), "band_y": seq[1], "band_h": round(seq[0] - seq[1], 1),
                      "wald_y1": wald[1], "wald_y2": wald[0], "y": _y(look["difference"] * 100, low, high),
                      "n": look["offered"] + look["holdout"], "label": look["recorded_at"] or "before",
                      "difference": look["difference"] * 100})
    return {"width": WIDTH, "height": HEIGHT, "marks": marks, "zero_y": _y(0.0, low, high), "x0": PAD,
            "x1": WIDTH - PAD, "top_label": signed(f"{high:+.0f} pts"), "bottom_label": signed(f"{low:+.0f} pts"),
            "top_y": PAD / 2 + 10, "low_y": HEIGHT - PAD / 2, "bottom": HEIGHT - PAD / 2 + 14}


def points(share: float | None) -> str:
    """A share as points with one decimal and a real minus sign: 0.041 -> "4.1", -0.003 -> "−0.3"."""
    if share is None:
        return "—"
    text = f"{share * 100:.1f}"
    return "0.0" if text == "-0.0" else signed(text)
