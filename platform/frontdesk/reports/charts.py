"""Inline SVG charts drawn on the server: no script and nothing fetched to read them."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 640
PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c")


def _nice_max(value: float) -> float:
    """A round axis top at or above ``value``."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 < value:
        step *= 10
    for mult in (1, 2, 5, 10):
        if step * mult >= value:
            return step * mult
    return step * 10


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> str:
    """A time series: one line per series over ``labels`` (days)."""
    height, left, right, top, bottom = 240, 40, 10, 30, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, vs in series for v in vs), default=0))
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / top_value

    parts = [_frame(title, height)]
    for frac in (0, 0.5, 1):
        gy = y(top_value * frac)
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 4}" y="{gy + 4:.1f}" text-anchor="end" font-size="10">'
            f"{top_value * frac:g}</text>"
        )
    every = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                f'font-size="10">{escape(label)}</text>'
            )
    for k, (name, values) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        parts.append(
            f'<rect x="{left + 90 * k}" y="{height - 14}" width="10" height="10" '
            f'fill="{colour}"/><text x="{left + 90 * k + 14}" y="{height - 5}" '
            f'font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, unit: str = "") -> str:
    """Vertical bars: a distribution (hours of the day, scores)."""
    height, left, right, top, bottom = 220, 40, 10, 30, 30
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, v in bars), default=0))
    n = max(len(bars), 1)
    slot = plot_w / n
    parts = [_frame(title, height)]
    parts.append(
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">'
        f"{top_value:g}{escape(unit)}</text>"
    )
    for i, (label, value) in enumerate(bars):
        h = plot_h * value / top_value
        bx = left + i * slot + slot * 0.1
        parts.append(
            f'<rect x="{bx:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(label)}: {value:g}'
            f"{escape(unit)}</title></rect>"
            f'<text x="{bx + slot * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(title: str, bars: Sequence[tuple[str, float, str]], *, top_value: float) -> str:
    """Horizontal bars with a label and a shown value (attainment, top categories)."""
    row, left, top = 22, 260, 30
    height = top + row * max(len(bars), 1) + 10
    plot_w = WIDTH - left - 60
    parts = [_frame(title, height)]
    if not bars:
        parts.append(f'<text x="10" y="{top + 14}" font-size="12">no data</text>')
    for i, (label, value, shown) in enumerate(bars):
        by = top + i * row
        w = plot_w * value / top_value if top_value else 0
        shown_label = label if len(label) <= 42 else label[:41] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{by + 14}" text-anchor="end" font-size="11">'
            f"<title>{escape(label)}</title>{escape(shown_label)}</text>"
            f'<rect x="{left}" y="{by + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{PALETTE[1]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{by + 14}" font-size="11">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _frame(title: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>'
    )
