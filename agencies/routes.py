"""Routes declared beside their views.

A face marks each view where it is defined, ``@route("members/<int:member_id>/",
name="member-detail")`` above its other decorators (or ``route(...)(view)`` for a view a
factory made), and its ``urls.py`` names the modules: ``urlpatterns = routes_of(views,
network)``. A class-based view is routed as ``View.as_view()``. The patterns come module
by module in the order given, and within a module in the order its views are defined;
Django tries them in that order and the first that matches wins. A view may carry more
than one route. Here in ``agencies`` (which imports only ``audit``) so that every app's
faces can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

from django.urls import URLPattern, path

View = TypeVar("View", bound=Callable)

_ROUTES = "_srn_routes"


def route(pattern: str, *, name: str) -> Callable[[View], View]:
    """Mark ``view`` to be served at ``pattern`` under ``name``; the view is unchanged."""

    def mark(view: View) -> View:
        routes = view.__dict__.get(_ROUTES)
        if routes is None:
            routes = []
            setattr(view, _ROUTES, routes)
        routes.insert(0, (pattern, name))  # decorators apply bottom-up: keep reading order
        return view

    return mark


def routes_of(*modules: ModuleType) -> list[URLPattern]:
    """The URL patterns of the views the ``modules`` define and mark with ``route``."""
    patterns = []
    for module in modules:
        for view in vars(module).values():
            if getattr(view, "__module__", None) != module.__name__:
                continue  # imported here, routed where it is defined
            for pattern, name in getattr(view, "__dict__", {}).get(_ROUTES, ()):
                handler = view.as_view() if isinstance(view, type) else view
                patterns.append(path(pattern, handler, name=name))
    return patterns
