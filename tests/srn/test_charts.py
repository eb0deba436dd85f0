"""``srn.charts``: standalone SVG from pygal with no script, no external reference and
no style attribute, its title and description set; and the chart partial's figure,
caption and table view."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest
from django.template.loader import render_to_string
from hypothesis import given, settings
from hypothesis import strategies as st

from srn.charts import bar_svg, line_svg

SVG = "{http://www.w3.org/2000/svg}"
DRAWERS = [bar_svg, line_svg]


def parsed(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 (our own markup, just drawn)


@pytest.mark.parametrize("draw", DRAWERS)
def test_a_chart_is_standalone_svg_with_its_title_and_description(draw):
    markup = draw(
        "Refusals per day",
        ["Nov 24", "Nov 25"],
        {"refusals": [3, 0]},
        description="Refusals per day: 3 over 2 days.",
    )
    root = parsed(markup)
    assert root.tag == f"{SVG}svg"
    title, desc = list(root)[:2]
    assert (title.tag, title.text) == (f"{SVG}title", "Refusals per day")
    assert (desc.tag, desc.text) == (f"{SVG}desc", "Refusals per day: 3 over 2 days.")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


@pytest.mark.parametrize("draw", DRAWERS)
def test_a_chart_has_no_script_no_external_reference_and_no_style_attribute(draw):
    markup = draw("Accesses", ["a", "b", "c"], {"x": [1, None, 2], "y": [0, 4, 1]}, description="d")
    root = parsed(markup)
    tags = {element.tag for element in root.iter() if isinstance(element.tag, str)}
    assert f"{SVG}script" not in tags
    assert "<script" not in markup
    assert "javascript" not in markup.lower()
    for element in root.iter():
        assert "style" not in element.attrib
        for name, value in element.attrib.items():
            assert not name.endswith("href") or value.startswith("#")
    without_namespace = markup.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"(https?:)?//", without_namespace)
    assert "<!--" not in markup  # pygal's credit comments (with URLs) are gone
    assert "@import" not in markup
    assert "url(" not in markup


# What XML can carry (no control characters, no U+FFFE/U+FFFF): any title or caption.
XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=60,
)


@settings(max_examples=30, deadline=None)
@given(
    title=XML_TEXT,
    description=XML_TEXT,
    values=st.lists(st.one_of(st.none(), st.integers(0, 10_000)), min_size=0, max_size=20),
)
def test_any_text_and_values_give_well_formed_svg_that_says_them(title, description, values):
    markup = bar_svg(
        title, [str(n) for n in range(len(values))], {"s": values}, description=description
    )
    root = parsed(markup)
    title_node, desc_node = list(root)[:2]
    assert title_node.text == title
    assert desc_node.text == description


def test_the_partial_shows_the_chart_as_an_image_with_caption_and_table():
    markup = bar_svg("Refusals per day", ["Nov 24"], {"refusals": [3]}, description="3 refusals")
    html = render_to_string(
        "partials/chart.html",
        {
            "chart": markup,
            "caption": "Refusals per day: 3 <in total>",
            "headers": ["Day", "refusals"],
            "rows": [["Nov 24", 3]],
        },
    )
    assert html.lstrip().startswith("<figure")
    image = re.search(r'<img class="chart-image" src="([^"]+)" alt="([^"]+)">', html)
    assert image is not None
    assert image.group(2) == "Refusals per day: 3 &lt;in total&gt;"
    prefix = "data:image/svg+xml;base64,"
    assert image.group(1).startswith(prefix)
    assert base64.b64decode(image.group(1)[len(prefix) :]).decode() == markup
    assert "<figcaption>Refusals per day: 3 &lt;in total&gt;</figcaption>" in html
    assert '<th scope="col">Day</th><th scope="col">refusals</th>' in html
    assert '<th scope="row">Nov 24</th><td>3</td>' in html
    assert "<script" not in html
    assert "style=" not in html


def test_the_partial_says_when_there_is_no_data():
    html = render_to_string(
        "partials/chart.html",
        {
            "chart": line_svg("Empty", [], {}, description="nothing"),
            "caption": "Empty",
            "headers": ["Day", "n"],
            "rows": [],
        },
    )
    assert '<td colspan="2">No data</td>' in html
