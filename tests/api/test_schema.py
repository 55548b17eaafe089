"""Schemathesis over the OpenAPI document, against the app on its own seeded Postgres: no 5xx,
every response matches its documented status, content type, headers and schema, and every
secured operation refuses the same request without a token (`ignored_auth`)."""

from __future__ import annotations

import pytest
import schemathesis
from api_support import ADMIN_TOKEN
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from monitor.access.throttle import FailureLimiter
from monitor.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


@pytest.fixture(scope="module")
def api_schema(scratch):
    engine, facts = scratch
    # ignored_auth sends wrong tokens on every operation: a limit it never reaches
    app = create_app(engine, facts.settings, auth_failures=FailureLimiter(max_failures=10**6))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, checks=CHECKS)
