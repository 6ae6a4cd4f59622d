"""The server-drawn charts (core.web.charts): bars in proportion to the largest value, a
reversed (negative) figure never drawn as a bar but kept in the figures, a balance drawn
as steps between the days it changed; and the SVG's coordinates never localised (a
decimal comma in an attribute would break the drawing in Russian and Kazakh)."""

import datetime as dt
import re

from django.template.loader import render_to_string
from django.utils import translation

from core.web.charts import bar_chart, line_chart


def test_bars_are_in_proportion_to_the_largest_value():
    chart = bar_chart("By source", [("Seized", 80_000_000), ("Mining", 625_000_000),
                                    ("Reversed", -5_000_000)], width=440, label_width=190)
    seized, mining, reversed_ = chart.bars
    plot = 440 - 190 - 10
    assert mining.width == plot and mining.share == 1.0
    assert seized.width == round(plot * 80 / 625, 2)
    assert reversed_.width == 0 and reversed_.value == -5_000_000
    assert chart.total == 700_000_000
    assert [b.y for b in chart.bars] == [0, 32, 64] and chart.height == 96
    assert len({b.colour for b in chart.bars}) == 3


def test_an_empty_chart_says_so():
    assert bar_chart("By wallet", []).empty
    assert line_chart("Over time", []).empty


def test_a_balance_is_drawn_as_steps_between_the_days_it_changed():
    chart = line_chart("Over time", [(dt.date(2026, 1, 1), 100), (dt.date(2026, 1, 11), 400),
                                     (dt.date(2026, 1, 21), 200)],
                       width=640, height=220, left=10, top=16, bottom=28)
    first, middle, last = chart.points
    assert (first.x, middle.x, last.x) == (10, 315.0, 620.0)
    assert middle.y == 16 and first.y == round(16 + 176 * 0.75, 2)
    assert chart.path == f"M10.0,{first.y}H315.0V16.0H620.0V{last.y}H630V{last.y}"


def test_the_drawing_keeps_its_decimal_points_in_every_language():
    chart = bar_chart("Holdings", [("A", 1), ("B", 3)])
    for language in ("en", "ru", "kk"):
        with translation.override(language):
            html = render_to_string("web/charts/bar.html", {
                "chart": chart, "chart_id": "c", "label_heading": "Source"})
        svg = html.split("<svg")[1].split("</svg>")[0]
        assert re.search(r'width="[0-9]+\.[0-9]+"', svg), language
        assert not re.search(r'="[0-9]+,[0-9]+"', svg), language
        table = html.split("<table")[1]
        assert ("0,00000001" if language != "en" else "0.00000001") in table
