"""The one door: every change to visits, records, flags and live state passes through here.

Entry points (the MQTT and HTTP transports, views, the API, the admin, commands) call these
functions and nothing below them. Below are the engine (attendance.engine: loading evidence,
replaying it through the rules, saving the difference), the pure rules (attendance.rules,
beacons.presence, beacons.spoofing) and the models.

Every writer takes its locks first in its transaction, in one global order, and reads what
it will write under them (READ COMMITTED):

1. PIR doors (reader rows, by primary key): the motion at a door decides a tap's direction;
2. students, by id: whoever rewrites a student's visits or records, or marks a record;
3. then the rows it reads to write (records, visits, flags, a session's claim).

So a person's correction cannot be reverted by a batch that read the record before it, and
two writers of one new record wait for each other instead of racing on its unique key.
The crowd pass's cursor and settling delay are re-exported for /health.
"""

from attendance.engine.crowd import CURSOR as CROWD_CURSOR
from attendance.engine.crowd import SETTLE_DELAY
from attendance.services.ble import apply_phone_reports
from attendance.services.corrections import (
    REASON_MAX,
    CorrectionRefused,
    correct_attendance,
    correct_attendances,
)
from attendance.services.doors import TapAnswer, apply_new_events, request_rejudging
from attendance.services.ingest import IngestBatch, ingest_batch
from attendance.services.recompute import (
    recompute_backlog,
    recompute_course,
    recompute_students,
    request_recompute,
    work_recompute_slice,
)
from attendance.services.ticking import periodic_tick, settle_door_taps

__all__ = [
    "CROWD_CURSOR",
    "REASON_MAX",
    "SETTLE_DELAY",
    "CorrectionRefused",
    "IngestBatch",
    "TapAnswer",
    "apply_new_events",
    "apply_phone_reports",
    "correct_attendance",
    "correct_attendances",
    "ingest_batch",
    "periodic_tick",
    "recompute_backlog",
    "recompute_course",
    "recompute_students",
    "request_recompute",
    "request_rejudging",
    "settle_door_taps",
    "work_recompute_slice",
]
