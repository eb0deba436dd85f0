"""The FHIR face's routes, under ``/fhir/R4/`` (namespace ``fhir``), declared beside
their views with ``@route`` (``agencies/routes.py``)."""

from agencies.routes import routes_of
from coordination.fhir import records, views

app_name = "fhir"

urlpatterns = routes_of(records, views)
