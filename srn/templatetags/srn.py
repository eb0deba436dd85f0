import base64

from django import template

from srn import charts

register = template.Library()


@register.filter
def words(value) -> str:
    """``consent_revoked`` -> ``consent revoked``: codes read as words on a page."""
    return str(value or "").replace("_", " ")


@register.filter
def svg_data_uri(markup) -> str:
    """A chart's SVG markup as a ``data:`` URI for an ``<img>``: the image is its own
    document, so its ``<style>`` needs no ``style-src`` of the page (``srn.charts``)."""
    encoded = base64.b64encode(str(markup or "").encode()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


@register.filter
def bar_chart(spec: dict) -> str:
    """``{"title", "labels", "series", "description"}`` drawn by ``srn.charts.bar_svg``:
    how an app's page draws a chart without importing ``srn`` (the layers contract)."""
    return charts.bar_svg(
        spec["title"], spec["labels"], spec["series"], description=spec["description"]
    )
