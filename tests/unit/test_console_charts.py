"""The console's SVG charts: escaped labels, gaps for days with nothing to measure."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from api.console.charts import bar_chart, hbar_chart, line_chart

DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(5)]


def test_a_line_breaks_where_a_day_has_no_value():
    svg = line_chart("Promesa", DAYS, [Decimal(50), Decimal(100), None, Decimal(25), None])
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 3
    assert "2026-03-02: 100 %" in svg and "100 %</text>" in svg  # a point and the axis top


def test_bars_scale_to_the_largest_value_and_labels_are_escaped():
    svg = bar_chart(
        "<b>Recuperado</b>",
        DAYS,
        [Decimal(0), Decimal("1500.50"), Decimal(3001)] + [Decimal(0)] * 2,
    )
    assert "<b>" not in svg and "&lt;b&gt;Recuperado" in svg
    assert "2026-03-02: 1,500.5" in svg and "3,001</text>" in svg
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"', svg)]
    assert max(heights) == 160.0 and heights[0] == 0.0


def test_horizontal_bars_name_each_rule():
    svg = hbar_chart("Bloqueos", [("forbidden.threat.legal", 4), ("figures.amount<x>", 2)])
    assert "forbidden.threat.legal" in svg and "figures.amount&lt;x&gt;" in svg
    assert svg.count("<rect") == 2
