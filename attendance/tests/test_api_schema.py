"""The OpenAPI schema, its docs page, and a schemathesis run against the live schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

CONTRACT_PATHS = [
    "/api/v1/auth/login/",
    "/api/v1/auth/refresh/",
    "/api/v1/attendance/records/",
    "/api/v1/attendance/records/{id}/correct/",
    "/api/v1/attendance/summary/{student}/",
    "/api/v1/attendance/realtime/{room}/",
    "/api/v1/phones/",
    "/api/v1/events/",
    "/api/v1/rejected/",
    *(f"/api/v1/{name}/" for name in ["rooms", "students", "cards", "devices", "courses"]),
    *(f"/api/v1/{name}/" for name in ["sessions", "beacons"]),
    "/api/v1/devices/{device_id}/credentials/",
]


def test_the_schema_lists_every_contract_endpoint_with_errors(db: Any) -> None:
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(CONTRACT_PATHS) <= set(schema["paths"])
    records = schema["paths"]["/api/v1/attendance/records/"]["get"]
    assert {"200", "400", "401", "403"} <= set(records["responses"])
    filters = {p["name"] for p in records["parameters"]}
    assert {"student", "room", "course", "session", "status", "from", "to"} <= filters
    create_room = schema["paths"]["/api/v1/rooms/"]["post"]
    assert {"201", "400", "409"} <= set(create_room["responses"])
    assert "jwtAuth" in schema["components"]["securitySchemes"]


def test_the_docs_page_uses_bundled_assets_only(db: Any) -> None:
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "https://" not in page


def load_live_schema(*, coverage_phase: bool) -> Any:
    """The schema as the running app serves it. The coverage phase (boundary values for
    every field) is thorough but slow, so the default run leaves it to the slow variant."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    schema.config.phases.coverage.enabled = coverage_phase
    return schema


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Requests here go straight to the WSGI handler, whose request signals would close the
    test's database connection mid-transaction (Django's own test client avoids that the
    same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def live_schema(db: Any, keep_test_connection: None) -> Any:
    return load_live_schema(coverage_phase=False)


@pytest.fixture
def thorough_live_schema(db: Any, keep_test_connection: None) -> Any:
    return load_live_schema(coverage_phase=True)


@pytest.fixture
def staff_token(school: School) -> str:
    return str(RefreshToken.for_user(school.staff).access_token)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
CHECKS += [response_schema_conformance]


def call_as_staff(case: Any, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


fuzzed = schemathesis.pytest.from_fixture("live_schema")
thoroughly_fuzzed = schemathesis.pytest.from_fixture("thorough_live_schema")


@fuzzed.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema_and_never_answers_5xx(case: Any, staff_token: str) -> None:
    call_as_staff(case, staff_token)


@pytest.mark.slow
@thoroughly_fuzzed.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_survives_a_thorough_fuzzing(case: Any, staff_token: str) -> None:
    call_as_staff(case, staff_token)
