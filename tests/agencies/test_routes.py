"""``agencies.routes``: routes declared beside their views become the faces' URL
patterns, in definition order, with their names, and nothing else."""

import types

from django.urls import resolve
from django.views import View

from agencies.routes import route, routes_of
from agencies.web import urls as agency_pages
from coordination.api import urls as referral_api


def _module(name: str) -> types.ModuleType:
    return types.ModuleType(name)


def test_marked_views_become_patterns_in_definition_order_and_imports_are_skipped():
    faces = _module("tests.routes_face")
    other = _module("tests.routes_other")

    @route("b/", name="b")
    def second(request):
        return None

    @route("a/<int:n>/", name="a")
    @route("a/", name="a-all")
    def first(request, n=None):
        return None

    @route("c/", name="c")
    class Third(View):
        pass

    @route("elsewhere/", name="elsewhere")
    def imported(request):
        return None

    for view in (second, first, Third):
        view.__module__ = faces.__name__
        setattr(faces, view.__name__, view)
    imported.__module__ = other.__name__
    faces.imported = imported  # as ``from other import imported`` would
    faces.unmarked = lambda request: None

    patterns = routes_of(faces)

    assert [(str(p.pattern), p.name) for p in patterns] == [
        ("b/", "b"),
        ("a/<int:n>/", "a"),  # a view's routes in the order they are written
        ("a/", "a-all"),
        ("c/", "c"),
    ]
    assert patterns[0].callback is second
    assert patterns[3].callback.view_class is Third


def test_route_returns_the_view_unchanged():
    def page(request):
        return None

    assert route("x/", name="x")(page) is page


def test_every_face_route_has_a_unique_name_and_resolves_to_itself():
    for patterns in (agency_pages.urlpatterns, referral_api.urlpatterns):
        names = [p.name for p in patterns]
        assert len(names) == len(set(names))
        assert all(p.name for p in patterns)
    found = resolve("/api/v1/referrals/12345678-1234-5678-1234-567812345678/notes/")
    assert found.url_name == "referral-notes"
