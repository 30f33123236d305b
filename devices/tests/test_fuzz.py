"""Throw malformed, mistyped, oversized and unicode-laden payloads at the loop's step.

Whatever arrives, the loop stays up, every bad message becomes a rejected row with a reason,
and the valid events around them are all stored and answered.
"""

import itertools
import json
from typing import cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.models import RawEvent, RejectedMessage
from devices.mqtt.client import Inbound, MqttClient
from devices.mqtt.loop import IngestLoop, LoopConfig
from devices.tests.conftest import PREFIX, TS, tap

_ids = itertools.count()

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)
field_values = (
    json_scalars | st.lists(json_scalars, max_size=3) | st.sampled_from(["\u202e\u0000", "\ud800x"])
)


@st.composite
def bad_payloads(draw) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mistyped", "oversized", "too_many"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200)) + b"\xff"  # never valid UTF-8 JSON
    if kind == "json":
        value = draw(json_values.filter(lambda v: not isinstance(v, dict | list)))
        return json.dumps(value).encode()
    if kind == "oversized":
        return json.dumps(tap("big", pad="\u00e9" * 40_000)).encode()
    if kind == "too_many":
        return json.dumps([tap(f"m-{i}") for i in range(101)]).encode()
    event = tap(f"bad-{next(_ids)}")
    key = draw(st.sampled_from(["id", "ts", "type", "uid", "dir"]))
    event[key] = draw(field_values)
    if (
        key == "id"
        and isinstance(event["id"], str)
        and 1 <= len(event["id"]) <= 64
        and event["id"].isascii()
        and event["id"].isprintable()
    ):
        event["id"] = 17  # keep it invalid
    if key == "dir" and event["dir"] in ("in", "out"):
        event["dir"] = "sideways"
    return json.dumps(event).encode()


class RecordingClient:
    client_id = "fuzz"
    is_connected = True

    def __init__(self):
        self.published, self.acked = [], []
        self.on_message = None

    def publish(self, topic, payload, qos=1, retain=False):
        self.published.append((topic, json.loads(payload)))

    def ack(self, message):
        self.acked.append(message.mid)
        return True


def inbound(payload: bytes, mid: int) -> Inbound:
    return Inbound(f"{PREFIX}/devices/door-1/events", payload, 1, mid, False, 1)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=st.lists(bad_payloads(), min_size=1, max_size=6), valid_count=st.integers(1, 4))
def test_loop_survives_bad_input_and_stores_the_good(door, bad, valid_count):
    client = RecordingClient()
    loop = IngestLoop(
        cast(MqttClient, client), LoopConfig(PREFIX, batch_size=50, batch_ms=5, tick_s=60)
    )
    good_ids = [f"ok-{next(_ids)}" for _ in range(valid_count)]
    good = [json.dumps(tap(i, ts=TS + n * 10_000)).encode() for n, i in enumerate(good_ids)]
    messages = [inbound(p, mid) for mid, p in enumerate(good + bad, start=1)]
    messages = messages[::2] + messages[1::2]  # interleave good and bad
    rejected_before = RejectedMessage.objects.count()

    loop.process(messages)

    assert client.acked == [m.mid for m in messages]  # every message acknowledged, in order
    assert set(
        RawEvent.objects.filter(event_id__in=good_ids).values_list("event_id", flat=True)
    ) == set(good_ids)
    new_rejections = RejectedMessage.objects.order_by("id")[rejected_before:]
    assert len(new_rejections) >= len(bad)
    assert all(r.reason for r in new_rejections)
    answered = {body["id"]: body for _, body in client.published}
    assert all(answered[i]["result"] in {"accepted", "repeat"} for i in good_ids)
