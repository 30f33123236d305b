"""Login and refresh (simplejwt), the login throttle, and errors as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.test import APIClient

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

LOGIN = "/api/v1/auth/login"


def test_login_gives_tokens_that_open_the_api(school: School) -> None:
    client = APIClient()
    response = client.post(LOGIN, {"username": "tina", "password": "pw-for-tests-1"})
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/attendance/records").status_code == 200


def test_refresh_gives_a_new_access_token(school: School) -> None:
    client = APIClient()
    tokens = client.post(LOGIN, {"username": "tina", "password": "pw-for-tests-1"}).json()
    response = client.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    assert "access" in response.json()


def test_a_wrong_password_is_401_with_a_message(school: School) -> None:
    response = APIClient().post(LOGIN, {"username": "tina", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["detail"]


def test_missing_fields_are_400_per_field(school: School) -> None:
    response = APIClient().post(LOGIN, {}, format="json")
    assert response.status_code == 400
    assert {"username", "password"} <= set(response.json())


def test_a_bad_refresh_token_is_401(school: School) -> None:
    response = APIClient().post("/api/v1/auth/refresh", {"refresh": "garbage"}, format="json")
    assert response.status_code == 401


def test_login_is_throttled_against_guessing(school: School, settings) -> None:
    client = APIClient()
    answers = [
        client.post(LOGIN, {"username": "tina", "password": f"guess{i}"}).status_code
        for i in range(12)
    ]
    assert answers[:10] == [401] * 10
    assert answers[10:] == [429, 429]


def test_malformed_json_is_400(school: School) -> None:
    response = APIClient().post(LOGIN, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_an_unknown_api_path_is_a_json_404(school: School) -> None:
    response = APIClient().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such API endpoint."}


def test_a_wrong_method_is_405(school: School) -> None:
    response = APIClient().get(LOGIN)
    assert response.status_code == 405
    assert "detail" in response.json()


def test_cors_allows_configured_origins_only(school: School, settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.school.example"]
    client = APIClient()
    allowed = client.options(
        LOGIN, HTTP_ORIGIN="https://app.school.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert allowed["access-control-allow-origin"] == "https://app.school.example"
    other = client.options(
        LOGIN, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "access-control-allow-origin" not in other


def test_a_path_with_a_newline_is_still_a_json_404(school: School) -> None:
    response = APIClient().delete("/api/v1/beacons/%0Ax/")
    assert response.status_code == 404
    assert response["content-type"] == "application/json"
