"""OpenAPI: every operation documents the errors ZIAS answers with, not only its success."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.permissions import SAFE_METHODS, AllowAny

from attendance.api.common import ApiPagination

_FIELD_ERRORS = {
    "type": "object",
    "description": (
        "Per-field messages, `{field: [message, ...]}`, or `{detail: message}` for the "
        "request as a whole."
    ),
    "additionalProperties": {},
}


class ErrorSerializer(serializers.Serializer):
    """The body of every error that is not about particular fields."""

    detail = serializers.CharField(help_text="A message a client can show.")


class ZiasAutoSchema(AutoSchema):
    """Adds 400/401/403/404/409/415/429 to each operation where ZIAS can answer them."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors: dict[str, Any] = {
            "400": (_FIELD_ERRORS, "Bad input: the messages say what to fix."),
            "404": (ErrorSerializer, "No such resource (or page)."),
            "401": (ErrorSerializer, "Not logged in, or the credentials or token are not valid."),
        }
        if not self._is_public():
            errors["403"] = (ErrorSerializer, "Logged in, but this role may not do this.")
        if self.method in {"POST", "PUT", "PATCH", "DELETE"}:
            errors["409"] = (_FIELD_ERRORS, "Clashes with an existing resource.")
        if self.method in {"POST", "PUT", "PATCH"}:
            # DRF answers a body whose Content-Type no parser takes (or a multipart body
            # without its boundary) with 415; a client should know it may.
            errors["415"] = (ErrorSerializer, "The body's Content-Type is not one this accepts.")
        if getattr(self.view, "throttle_scope", None):
            errors["429"] = (ErrorSerializer, "Too many attempts; wait and try again.")
        for code, (body, description) in errors.items():
            if code not in responses:
                response = self._get_response_for_code(body, code)
                response["description"] = description
                responses[code] = response
        return responses

    def _is_public(self) -> bool:
        permissions = getattr(self.view, "permission_classes", None)
        if permissions is not None and len(permissions) == 0:
            return True  # simplejwt's views: open to all
        return any(
            isinstance(p, AllowAny) or p is AllowAny
            for p in getattr(self.view, "permission_classes", [])
        )


class ApiDefaults:
    """Mixed into every ZIAS API view: error-documenting schema, the shared pagination, and
    writes that are all or nothing (an answered error rolls back what the request wrote)."""

    schema = ZiasAutoSchema()
    pagination_class: type[BasePagination] | None = ApiPagination

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method in SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response  # type: ignore[no-any-return]
