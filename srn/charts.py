"""Charts for the oversight pages: standalone SVG drawn on the server by pygal.

Each chart is a self-contained SVG document: no script (pygal's tooltip script and its
configuration script are removed), no external reference, no ``style`` attribute, a
``<title>`` and a ``<desc>`` (the text alternative). Its only styling is pygal's own
``<style>`` element, which applies inside the SVG document: pages show the chart as an
image (``srn/templates/partials/chart.html``, a ``data:`` URI, which the
Content-Security-Policy's ``img-src`` allows), so the page's ``style-src 'self'`` is
kept. Every chart also has a table view on the page (the same partial).
"""

from __future__ import annotations

import math

import pygal
from pygal.style import Style

# Dark enough on white for WCAG's 3:1 non-text contrast; told apart by the table too.
COLOURS = ("#1f5fa8", "#b34700", "#2e7d32", "#7b1fa2", "#8d6e00", "#c62828")
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222222",
    foreground_strong="#111111",
    foreground_subtle="#555555",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    colors=COLOURS,
    # Sized for the chart shown at about half its drawn width (a column of the page).
    title_font_size=24,
    label_font_size=18,
    major_label_font_size=18,
    legend_font_size=18,
    value_font_size=16,
)
WIDTH, HEIGHT = 720, 360
SVG_NS = "{http://www.w3.org/2000/svg}"


def _tag(element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.removeprefix(SVG_NS)


def _self_contained(title: str, description: str):
    """An xml filter: the chart without script or style attributes, with its title and
    description first (what a screen reader or an SVG viewer announces)."""

    def rewrite(root):
        for parent in list(root.iter()):
            for child in list(parent):
                if _tag(child) in ("script", ""):  # "": a comment (pygal's credits, URLs)
                    parent.remove(child)
        for element in root.iter():
            element.attrib.pop("style", None)
        for child in list(root):
            if _tag(child) in ("title", "desc"):
                root.remove(child)
        chart_id = root.get("id", "chart")
        heading = root.makeelement("title", {"id": f"{chart_id}-title"})
        heading.text = title
        text = root.makeelement("desc", {"id": f"{chart_id}-desc"})
        text.text = description
        root.insert(0, text)
        root.insert(0, heading)
        root.set("role", "img")
        root.set("aria-labelledby", f"{chart_id}-title {chart_id}-desc")
        return root

    return rewrite


def _whole_number_scale(series: dict[str, list[float | None]]) -> list[int] | None:
    """Counts get whole-number ticks (about five), not pygal's 0.1 steps."""
    values = [value for values in series.values() for value in values if value is not None]
    if not values or any(value != int(value) or value < 0 for value in values):
        return None
    step = max(1, math.ceil(max(values) / 5))
    return list(range(0, int(max(values)) + step + 1, step))


def _render(chart_class, title, labels, series, description) -> str:
    every = math.ceil(len(labels) / 8) if len(labels) > 10 else 1  # at most ~10 shown
    chart = chart_class(
        js=[],
        style=STYLE,
        width=WIDTH,
        height=HEIGHT,
        disable_xml_declaration=True,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        x_label_rotation=30 if len(labels) > 6 else 0,
        x_labels_major_every=every,
        show_minor_x_labels=every == 1,
        truncate_label=-1,
        y_labels=_whole_number_scale(series),
        print_values=False,
        no_data_text="No data",
        include_x_axis=True,
    )
    chart.title = title
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    chart.add_xml_filter(_self_contained(title, description))
    return chart.render(is_unicode=True)


def bar_svg(
    title: str, labels: list[str], series: dict[str, list[float | None]], *, description: str
) -> str:
    """A bar chart (one bar per label and series) as standalone SVG markup."""
    return _render(pygal.Bar, title, labels, series, description)


def line_svg(
    title: str, labels: list[str], series: dict[str, list[float | None]], *, description: str
) -> str:
    """A line chart (one line per series over the labels) as standalone SVG markup."""
    return _render(pygal.Line, title, labels, series, description)
