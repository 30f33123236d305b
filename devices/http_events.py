"""POST /api/v1/attendance/event: reader events over HTTP, through the same pipeline as MQTT.

A reader authenticates with HTTP Basic (its device id and MQTT password) and may post only
its own events; staff (JWT or session) post on a reader's behalf with `?device=<id>`.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from attendance.api.schema import ErrorSerializer, ZiasAutoSchema
from devices.credentials import verify_password
from devices.models import Reader
from devices.mqtt.committing import DatabaseAway, commit_batch
from devices.mqtt.contract import is_sender_id
from devices.mqtt.pipeline import IncomingMessage
from zias import metrics


@dataclass(frozen=True)
class DevicePrincipal:
    """request.user for a reader that authenticated with its own credentials."""

    device_id: str
    is_authenticated: bool = True
    is_staff: bool = False
    is_active: bool = True


class ReaderBasicAuthentication(BaseAuthentication):
    """HTTP Basic with a reader's device id and its MQTT password (checked against the hash)."""

    def authenticate(self, request: Request) -> tuple[DevicePrincipal, None] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        try:
            device_id, _, password = (
                base64.b64decode(header[1], validate=True).decode("utf-8").partition(":")
            )
        except (IndexError, binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed("malformed Basic credentials") from None
        stored = (
            Reader.objects.filter(device_id=device_id)
            .values_list("mqtt_password_hash", flat=True)
            .first()
        )
        if not stored or not verify_password(password, stored):
            raise AuthenticationFailed("unknown device or wrong password")
        return DevicePrincipal(device_id), None

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="zias devices"'


class IsReaderOrStaff(BasePermission):
    message = "a reader's own credentials or a staff account is required"

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        return isinstance(user, DevicePrincipal) or bool(user and user.is_staff)


class ReaderBasicScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = ReaderBasicAuthentication
    name = "readerBasic"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "A reader's device id and MQTT password.",
        }


_EVENT_SCHEMA = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "ts": {"type": "integer", "description": "Unix epoch milliseconds; omit without a clock."},
        "type": {"type": "string", "enum": ["rfid", "pir"]},
        "uid": {"type": "string", "description": "Card UID, hex, 4/7/10 bytes (rfid)."},
        "dir": {"type": "string", "enum": ["in", "out"]},
        "sensor": {"type": "string", "enum": ["outer", "inner"]},
        "state": {"type": "integer", "enum": [0, 1]},
    },
}
_ANSWERS_SCHEMA = {
    "type": "object",
    "properties": {
        "answers": {
            "type": "array",
            "description": "One answer per rfid event, as on the MQTT .../ack topic.",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "result": {"type": "string"},
                    "dir": {"type": "string"},
                    "display": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
        "detail": {"type": "string"},
    },
}


@extend_schema(
    tags=["attendance"],
    summary="Reader events over HTTP (same validation and pipeline as MQTT)",
    request={
        "application/json": {
            "oneOf": [_EVENT_SCHEMA, {"type": "array", "maxItems": 100, "items": _EVENT_SCHEMA}]
        }
    },
    parameters=[
        OpenApiParameter("device", str, description="Staff only: the reader the events come from.")
    ],
    responses={200: _ANSWERS_SCHEMA, 400: _ANSWERS_SCHEMA, 503: ErrorSerializer},
)
class AttendanceEventView(APIView):
    schema = ZiasAutoSchema()
    authentication_classes = [ReaderBasicAuthentication, JWTAuthentication, SessionAuthentication]
    permission_classes = [IsReaderOrStaff]

    def post(self, request: Request) -> Response:
        device = request.query_params.get("device", "")
        if isinstance(request.user, DevicePrincipal):
            if device and device != request.user.device_id:
                return Response(
                    {"detail": "a reader may post only its own events"},
                    status=status.HTTP_403_FORBIDDEN,
                )
            device = request.user.device_id
        elif not is_sender_id(device):
            return Response(
                {"detail": "staff must name the reader: ?device=<device id>"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        message = IncomingMessage(
            topic=f"{settings.MQTT_TOPIC_PREFIX}/devices/{device}/events",
            payload=request.body,
            origin=f"http:{device}",
        )
        started = time.monotonic()
        try:
            outcome = commit_batch([message], settings.MQTT_TOPIC_PREFIX)
        except DatabaseAway:
            return Response(
                {"detail": "the database is unavailable; send again later"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        metrics.observe_batch([message], outcome, started, transport="http")
        answers = [ack.body for ack in outcome.acks]
        if outcome.quarantined:
            # Our failure, not the reader's: the message is kept whole for staff to re-run.
            return Response(
                {"detail": "kept in quarantine after a server error", "answers": answers},
                status=status.HTTP_202_ACCEPTED,
            )
        refused = [r for r in outcome.rejections if r.whole_message]
        nothing_valid = outcome.rejections and not outcome.stored and not outcome.duplicates
        if refused or nothing_valid:
            reason = (refused or outcome.rejections)[0].reason
            return Response(
                {"detail": reason, "answers": answers}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response({"answers": answers})
