"""The resources `import_data RESOURCE FILE` knows, by the name it takes."""

from __future__ import annotations

from attendance.imports import (
    CourseResource,
    EnrolmentResource,
    HolidayResource,
    RoomResource,
    TermResource,
    TimetableSlotResource,
)
from beacons.imports import BeaconResource
from devices.imports import CardResource, ReaderResource, StudentResource
from zias.imports.resource import SerializerResource

RESOURCES: dict[str, type[SerializerResource]] = {
    "rooms": RoomResource,
    "students": StudentResource,
    "cards": CardResource,
    "courses": CourseResource,
    "enrolments": EnrolmentResource,
    "slots": TimetableSlotResource,
    "terms": TermResource,
    "holidays": HolidayResource,
    "readers": ReaderResource,
    "beacons": BeaconResource,
}
