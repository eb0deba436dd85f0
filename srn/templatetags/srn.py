import base64

from django import template

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
