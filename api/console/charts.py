"""Small server-rendered SVG charts for the console (no JavaScript, no chart library).

Each function returns markup ready for a Jinja template; every label is escaped.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 28


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():,f}" if value == value.to_integral() else f"{value:,.1f}"


def _x(i: int, n: int) -> float:
    span = WIDTH - PAD_LEFT - PAD_RIGHT
    return PAD_LEFT + (span * (i + 0.5) / n if n else 0)


def _y(value: Decimal, top: Decimal) -> float:
    span = HEIGHT - PAD_TOP - PAD_BOTTOM
    return PAD_TOP + span * (1 - float(value / top if top else 0))


def _frame(label: str, top: Decimal, unit: str, days: list[date], body: list[str]) -> Markup:
    """Axes, gridlines at 0, half and top, a few day labels, and the chart's body."""
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]
    for fraction in (Decimal(0), Decimal("0.5"), Decimal(1)):
        y = _y(top * fraction, top)
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_fmt(top * fraction))}{escape(unit)}</text>"
        )
    step = max(1, len(days) // 6)
    for i, day in enumerate(days):
        if i % step == 0 or i == len(days) - 1:
            parts.append(
                f'<text class="axis" x="{_x(i, len(days)):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{day.day:02d}/{day.month:02d}</text>'
            )
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    label: str, days: list[date], values: list[Decimal | None], *, unit: str = " %"
) -> Markup:
    """A line over the days that have a value (a gap where a day has nothing to measure);
    percentages are drawn on a fixed 0-100 scale."""
    top = Decimal(100) if unit.strip() == "%" else max((v for v in values if v), default=Decimal(1))
    body: list[str] = []
    segment: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if segment:
                body.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
            segment = []
            continue
        x, y = _x(i, len(values)), _y(value, top)
        segment.append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{days[i].isoformat()}: {escape(_fmt(value))}{escape(unit)}</title></circle>"
        )
    if segment:
        body.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
    return _frame(label, top, unit, days, body)


def bar_chart(label: str, days: list[date], values: list[Decimal], *, unit: str = "") -> Markup:
    """One bar per day."""
    top = max(values, default=Decimal(0)) or Decimal(1)
    width = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(values), 1) * 0.7
    body = []
    for i, value in enumerate(values):
        y = _y(value, top)
        height = HEIGHT - PAD_BOTTOM - y
        body.append(
            f'<rect class="bar" x="{_x(i, len(values)) - width / 2:.1f}" y="{y:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}">'
            f"<title>{days[i].isoformat()}: {escape(_fmt(value))}{escape(unit)}</title></rect>"
        )
    return _frame(label, top, unit, days, body)


def hbar_chart(label: str, items: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per named count (e.g. guard blocks per rule)."""
    row, label_width = 24, 260
    height = max(len(items), 1) * row + 8
    top = max((n for _, n in items), default=1) or 1
    span = WIDTH - label_width - 48
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]
    for i, (name, count) in enumerate(items):
        y = 4 + i * row
        length = span * count / top
        parts.append(
            f'<text class="axis" x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{length:.1f}" '
            f'height="{row - 8}"/>'
            f'<text class="axis" x="{label_width + length + 6:.1f}" y="{y + 15}">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
