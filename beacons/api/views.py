"""Staff's beacon resource, and a student's phone registration."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.api.access import IsStaff, is_staff, student_of
from attendance.api.schema import ApiDefaults
from attendance.models import Student
from beacons.api.serializers import (
    BeaconSerializer,
    PhoneCredentialsSerializer,
    PhoneRequestSerializer,
)
from beacons.models import Beacon, Phone
from devices.credentials import mosquitto_hash, new_password
from devices.models import mqtt_password_made


@extend_schema(tags=["provisioning"])
class BeaconViewSet(ApiDefaults, viewsets.ModelViewSet):
    """BLE beacons by id: iBeacon (uuid, major, minor) or Eddystone-EID (key, exponent, offset)."""

    serializer_class = BeaconSerializer
    permission_classes = [IsStaff]
    queryset = Beacon.objects.select_related("room")
    lookup_value_regex = r"\d+"


def new_phone_id() -> str:
    """`ph-` and 12 hex digits: the contract's id form, unguessable, and short to type."""
    return f"ph-{secrets.token_hex(6)}"


def register_phone(student: Student, model_name: str) -> tuple[Phone, str]:
    """A new active phone for the student; the one it had before is revoked.

    One active phone per student: registering again (a new handset, a reinstall) replaces
    the old registration rather than failing, so a student is never locked out.
    """
    password = new_password()
    with transaction.atomic():
        # Serialise registrations of one student so two cannot both stay active.
        Student.objects.select_for_update().filter(pk=student.pk).first()
        for old in Phone.objects.filter(student=student, active=True):
            old.active = False
            old.revoked_at = timezone.now()
            old.save(update_fields=["active", "active_for", "revoked_at"])
        phone = Phone.objects.create(
            phone_id=new_phone_id(),
            student=student,
            model_name=model_name,
            mqtt_password_hash=mosquitto_hash(password),
        )
        # The broker learns the password after commit; the revoked phones go with it.
        mqtt_password_made.send(Phone, username=phone.phone_id, password=password)
    return phone, password


@extend_schema(
    tags=["phones"],
    request=PhoneRequestSerializer,
    responses={201: PhoneCredentialsSerializer},
)
class PhoneRegistrationView(ApiDefaults, APIView):
    """A logged-in student registers their phone and gets its MQTT credentials, once.

    The server issues the phone id (also the MQTT username). A student has one active
    phone: registering again revokes the previous one. Staff may register for a student
    by giving `student`.
    """

    def post(self, request: Request) -> Response:
        body = PhoneRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        student = self._student_for(request, body.validated_data.get("student"))
        phone, password = register_phone(student, body.validated_data.get("model_name", ""))
        answer = {
            "phone_id": phone.phone_id,
            "mqtt_username": phone.phone_id,
            "mqtt_password": password,
        }
        return Response(PhoneCredentialsSerializer(answer).data, status=status.HTTP_201_CREATED)

    def _student_for(self, request: Request, number: str | None) -> Student:
        own = student_of(request.user)
        if number is None or (own is not None and own.number == number):
            if own is None:
                raise PermissionDenied("Only a student's login can register a phone.")
            return own
        if not is_staff(request.user):
            raise PermissionDenied("You may register a phone only for yourself.")
        student = Student.objects.filter(number=number).first()
        if student is None:
            raise NotFound("No student has that number.")
        return student
