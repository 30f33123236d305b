"""The API's exception handler: every error is JSON with a status that says what went wrong.

DRF answers its own exceptions; this adds the database's and Django's, which would
otherwise be a 500: a unique or foreign-key clash that slipped past validation (a race
between two requests) is a 409, deleting something still in use is a 409, a value the
database refuses is a 400.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

log = logging.getLogger(__name__)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    answer = _answer_for(exc)
    if answer is None:
        return None  # a real bug: let Django log it and answer 500
    code, body = answer
    view = context.get("view")
    log.info("API %s answered %s: %s", type(view).__name__, code, exc)
    set_rollback()
    return Response(body, status=code)


def _answer_for(exc: Exception) -> tuple[int, dict[str, Any]] | None:
    if isinstance(exc, (ProtectedError, RestrictedError)):
        blockers = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", [])
        used_by = sorted({str(type(obj)._meta.verbose_name_plural) for obj in blockers})
        return status.HTTP_409_CONFLICT, {
            "detail": f"Still in use by {', '.join(used_by)}; remove those first."
        }
    if isinstance(exc, IntegrityError):
        return status.HTTP_409_CONFLICT, {
            "detail": "This clashes with existing data (a key already taken, or a reference "
            "that no longer exists)."
        }
    if isinstance(exc, DataError):
        return status.HTTP_400_BAD_REQUEST, {"detail": "A value is out of range or too long."}
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return status.HTTP_400_BAD_REQUEST, exc.message_dict
        return status.HTTP_400_BAD_REQUEST, {"detail": " ".join(exc.messages)}
    return None
