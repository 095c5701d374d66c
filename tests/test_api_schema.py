import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from surveys.api_auth import api_key_create

pytestmark = pytest.mark.django_db

# Generated requests per operation; raise it for a deeper run (SCHEMA_EXAMPLES=1000).
EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "200"))


# No 5xx, and every response keeps to the schema. Left out: the checks that the API
# takes every valid input and refuses every invalid one, which cross-field rules
# (from <= to) and DRF's lenient query parsing (a repeated offset) do not meet.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# Fetched through WSGI at collection time: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def api_key():
    # As Django's test client does: keep the test's connection open across requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield api_key_create(name="schemathesis", admin=True)[1]  # every operation, erasure too
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.exclude(path="/api/v1/metrics").parametrize()
@HYPOTHESIS
def test_api_schema_every_operation_keeps_to_it(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


@schema.include(path="/api/v1/metrics").parametrize()
@HYPOTHESIS
def test_api_schema_metrics_keeps_to_it(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


def test_api_schema_is_served_as_openapi_3(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert set(response.json()["paths"]) >= {"/api/v1/tickets", "/api/v1/responses"}


def test_api_docs_page_loads_nothing_from_the_internet(client):
    html = client.get("/api/docs/").content.decode()

    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html


def test_api_unknown_path_is_json_404(client):
    response = client.patch("/api/v1/followups/not-a-number")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_api_schema_documents_bearer_keys(client):
    components = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]

    assert components["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `manage.py createapitoken`.",
    }
