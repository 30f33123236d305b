"""The world of the concurrent-writers test, and the corrections process it runs.

Run as `manage.py shell -c` code in the test's own database (devices.tests.processes): the
seed prints the HTTP reader's password; the corrector runs for a number of seconds and
prints every correction it made, in order, as JSON lines.
"""

SEED = """
from datetime import timedelta
from django.utils import timezone
from beacons.models import Beacon, Phone
from tests.factories import make_card, make_course, make_reader, make_room, make_session
from tests.factories import make_student, make_user
room = make_room("W-1")
make_reader(room, "w-door-mqtt", mode="toggle")
http_reader = make_reader(room, "w-door-http", mode="toggle")
Beacon.objects.create(kind="ibeacon", room=room, uuid="f7826da6-4fa2-4e98-8024-bc5b71e0893e",
                      major=9, minor=1)
students = [make_student("W%03d" % i) for i in range({students})]
for i, s in enumerate(students):
    make_card(s, "0C%06X" % i)
    Phone.objects.create(phone_id="w-phone-%03d" % i, student=s)
course = make_course("W100", students=tuple(students))
now = timezone.now()
make_session(course, room, now - timedelta(minutes=10), minutes=120)
# Sessions that end while the test runs, so the tick finalises them among the batches.
for k in range({ending}):
    make_session(course, room, now - timedelta(minutes=1, seconds=k), minutes=1 + k)
make_user("w-registrar", staff=True)
print("PASSWORD=" + http_reader.rotate_password())
"""

CORRECTOR = """
import json, random, time
from django.contrib.auth import get_user_model
from attendance import services
from attendance.models import ClassSession, Student
staff = get_user_model().objects.get(username="w-registrar")
sessions = list(ClassSession.objects.order_by("id"))
students = list(Student.objects.order_by("id"))
rng = random.Random(7)
deadline = time.monotonic() + {seconds}
while time.monotonic() < deadline:
    session, student = rng.choice(sessions), rng.choice(students)
    status = rng.choice(["present", "absent", "excused", "late"])
    reason = "roll call %d" % rng.randrange(10**6)
    services.correct_attendance(session, student, status, staff, reason)
    print(json.dumps([session.id, student.id, status]), flush=True)
    time.sleep(0.02)
"""
