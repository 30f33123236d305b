"""The wire contract (CONTRACT.md, version 1) as plain Python: parse bytes, get typed values.

No Django here: the firmware's cross-language contract test imports this module and calls
`parse_reader_events` / `parse_phone_ble` / `parse_reader_status` on the bytes a device would
send. Anything outside the contract raises ContractError with a reason a person can act on.
Unknown extra keys are ignored, as the contract allows.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_ARRAY = 100
# ts must be a plausible clock: 2000-01-01 .. 2100-01-01 in epoch milliseconds. A value in
# seconds (10 digits) falls below the floor and is refused rather than read as 1970.
TS_MIN_MS = 946_684_800_000
TS_MAX_MS = 4_102_444_800_000

SENDER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
EVENT_ID_MAX = 64
_UID_SEPARATORS = re.compile(r"[:\- ]")
_UID_RE = re.compile(r"^(?:[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$")
_IBEACON_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_EID_RE = re.compile(r"^[0-9a-fA-F]{16}$")

RSSI_MIN, RSSI_MAX = -127, 0
UINT32_MAX = 2**32 - 1
WINDOW_S_MAX = 600
SIGHTINGS_N_MAX = 100_000
FW_MAX = 32

EventType = Literal["rfid", "pir"]
Direction = Literal["in", "out"]
Sensor = Literal["outer", "inner"]


class ContractError(ValueError):
    """Input outside the contract. `event_id` is set when the offending event's id is known."""

    def __init__(self, reason: str, event_id: str | None = None, event_type: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id
        self.event_type = event_type


@dataclass(frozen=True)
class ReaderEvent:
    """One validated reader event. `uid` is normalised (upper-case hex, no separators)."""

    id: str
    type: EventType
    ts_ms: int | None
    uid: str | None = None
    dir: Direction | None = None
    sensor: Sensor | None = None
    state: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class BeaconSighting:
    rssi: float
    n: int
    uuid: str | None = None
    major: int | None = None
    minor: int | None = None
    eid: str | None = None


@dataclass(frozen=True)
class BleReport:
    id: str
    ts_ms: int | None
    window_s: int
    beacons: tuple[BeaconSighting, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ReaderStatus:
    online: bool
    fw: str | None = None
    ip: str | None = None
    rssi: int | None = None
    uptime_s: int | None = None
    queued: int | None = None


@dataclass(frozen=True)
class EventsParse:
    """A reader events message: the valid events and, separately, each invalid one."""

    events: list[ReaderEvent]
    errors: list[ContractError]


# --- public entry points --------------------------------------------------------------------


def parse_reader_events(payload: bytes) -> list[ReaderEvent]:
    """Strict: every event in the message must be valid, else ContractError for the first."""
    parsed = split_reader_events(payload)
    if parsed.errors:
        raise parsed.errors[0]
    return parsed.events


def split_reader_events(payload: bytes) -> EventsParse:
    """Lenient per element: message-level faults raise; a bad element is returned in errors."""
    document = decode_json(payload)
    items = _as_event_list(document)
    events: list[ReaderEvent] = []
    errors: list[ContractError] = []
    for index, item in enumerate(items):
        try:
            events.append(parse_reader_event(item))
        except ContractError as exc:
            if len(items) > 1:
                exc.reason = f"event [{index}]: {exc.reason}"
                exc.args = (exc.reason,)
            errors.append(exc)
    return EventsParse(events, errors)


def parse_reader_event(item: object) -> ReaderEvent:
    if not isinstance(item, dict):
        raise ContractError(f"an event must be a JSON object, got {_json_type(item)}")
    event_id = _event_id(item)
    kind = item.get("type")
    try:
        ts_ms = _optional_ts(item)
        if kind == "rfid":
            return ReaderEvent(
                id=event_id,
                type="rfid",
                ts_ms=ts_ms,
                uid=_uid(item),
                dir=_optional_choice(item, "dir", ("in", "out")),  # type: ignore[arg-type]
                raw=item,
            )
        if kind == "pir":
            return ReaderEvent(
                id=event_id,
                type="pir",
                ts_ms=ts_ms,
                sensor=_choice(item, "sensor", ("outer", "inner")),  # type: ignore[arg-type]
                state=_int(item, "state", 0, 1),
                raw=item,
            )
        raise ContractError(f"type must be 'rfid' or 'pir', got {_show(kind)}")
    except ContractError as exc:
        exc.event_id = event_id
        exc.event_type = kind if isinstance(kind, str) else None
        raise


def parse_phone_ble(payload: bytes) -> BleReport:
    document = decode_json(payload)
    if not isinstance(document, dict):
        raise ContractError(f"a BLE report must be a JSON object, got {_json_type(document)}")
    event_id = _event_id(document)
    try:
        beacons = document.get("beacons")
        if not isinstance(beacons, list):
            raise ContractError(f"beacons must be an array, got {_json_type(beacons)}")
        if len(beacons) > MAX_ARRAY:
            raise ContractError(f"beacons: at most {MAX_ARRAY} entries, got {len(beacons)}")
        return BleReport(
            id=event_id,
            ts_ms=_optional_ts(document),
            window_s=_int(document, "window_s", 1, WINDOW_S_MAX),
            beacons=tuple(_sighting(b, i) for i, b in enumerate(beacons)),
            raw=document,
        )
    except ContractError as exc:
        exc.event_id = event_id
        exc.event_type = "ble"
        raise


def parse_reader_status(payload: bytes) -> ReaderStatus:
    """A heartbeat, or the Last Will `{"online": false}`."""
    document = decode_json(payload)
    if not isinstance(document, dict):
        raise ContractError(f"a status must be a JSON object, got {_json_type(document)}")
    online = document.get("online")
    if not isinstance(online, bool):
        raise ContractError(f"online must be true or false, got {_show(online)}")
    fw = _optional_str(document, "fw", FW_MAX)
    ip = _optional_str(document, "ip", 45)
    if ip is not None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ContractError(f"ip must be an IPv4 or IPv6 address, got {ip!r}") from None
    return ReaderStatus(
        online=online,
        fw=fw,
        ip=ip,
        rssi=_optional_int(document, "rssi", RSSI_MIN, RSSI_MAX),
        uptime_s=_optional_int(document, "uptime_s", 0, UINT32_MAX),
        queued=_optional_int(document, "queued", 0, UINT32_MAX),
    )


def decode_json(payload: bytes) -> object:
    """Size, UTF-8 and JSON checks shared by every topic."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError(f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"payload is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except ContractError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ContractError(f"payload is not JSON ({_short(str(exc))})") from None
    if "\\u" in text:
        # JSON escapes can spell an unpaired surrogate, which is not Unicode (nor UTF-8).
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ContractError(
                "payload has an unpaired surrogate escape (\\uD800-\\uDFFF)"
            ) from None
    return document


def normalise_uid(raw: str) -> str:
    """'04:a1:b2:c3' and '04A1B2C3' are the same card (mirrors devices.identifiers)."""
    uid = _UID_SEPARATORS.sub("", raw).upper()
    if not _UID_RE.match(uid):
        raise ContractError(f"uid must be 4, 7 or 10 bytes of hex, got {_show(raw)}")
    return uid


def is_sender_id(value: str) -> bool:
    return bool(SENDER_ID_RE.match(value))


# --- field readers --------------------------------------------------------------------------


def _as_event_list(document: object) -> list[object]:
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        if not document:
            raise ContractError("an events array must hold at least one event")
        if len(document) > MAX_ARRAY:
            raise ContractError(f"an events array holds at most {MAX_ARRAY}, got {len(document)}")
        return document
    raise ContractError(f"events must be a JSON object or array, got {_json_type(document)}")


def _event_id(obj: dict[str, Any]) -> str:
    value = obj.get("id")
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= EVENT_ID_MAX
        or not all(" " <= ch <= "~" for ch in value)
    ):
        raise ContractError(
            f"id must be 1 to {EVENT_ID_MAX} printable ASCII characters, got {_show(value)}"
        )
    return value


def _optional_ts(obj: dict[str, Any]) -> int | None:
    if "ts" not in obj:
        return None
    value = obj["ts"]
    if not _is_int(value):
        raise ContractError(
            f"ts must be an integer of epoch milliseconds (omit it without a clock), "
            f"got {_show(value)}"
        )
    if not TS_MIN_MS <= value < TS_MAX_MS:
        raise ContractError(f"ts {value} is outside 2000..2100 in epoch milliseconds")
    return int(value)


def _uid(obj: dict[str, Any]) -> str:
    value = obj.get("uid")
    if not isinstance(value, str):
        raise ContractError(f"uid must be a hex string, got {_show(value)}")
    return normalise_uid(value)


def _sighting(item: object, index: int) -> BeaconSighting:
    where = f"beacons[{index}]"
    if not isinstance(item, dict):
        raise ContractError(f"{where} must be an object, got {_json_type(item)}")
    rssi = item.get("rssi")
    if not _is_number(rssi) or not RSSI_MIN <= rssi <= RSSI_MAX:
        raise ContractError(f"{where}.rssi must be a number {RSSI_MIN}..{RSSI_MAX} dBm")
    n = item.get("n")
    if not _is_int(n) or not 1 <= n <= SIGHTINGS_N_MAX:
        raise ContractError(f"{where}.n must be an integer 1..{SIGHTINGS_N_MAX}, got {_show(n)}")
    has_ibeacon = any(k in item for k in ("uuid", "major", "minor"))
    if has_ibeacon == ("eid" in item):
        raise ContractError(f"{where} must name an iBeacon (uuid, major, minor) or an eid")
    if "eid" in item:
        eid = item["eid"]
        if not isinstance(eid, str) or not _EID_RE.match(eid):
            raise ContractError(f"{where}.eid must be 16 hex characters, got {_show(eid)}")
        return BeaconSighting(rssi=float(rssi), n=int(n), eid=eid.lower())
    uuid = item.get("uuid")
    if not isinstance(uuid, str) or not _IBEACON_UUID_RE.match(uuid):
        raise ContractError(f"{where}.uuid must be a UUID, got {_show(uuid)}")
    numbers: dict[str, int] = {}
    for name in ("major", "minor"):
        value = item.get(name)
        if not _is_int(value) or not 0 <= value <= 65535:
            raise ContractError(f"{where}.{name} must be an integer 0..65535, got {_show(value)}")
        numbers[name] = value
    return BeaconSighting(
        rssi=float(rssi),
        n=int(n),
        uuid=uuid.lower(),
        major=numbers["major"],
        minor=numbers["minor"],
    )


def _choice(obj: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = obj.get(key)
    if value not in allowed or not isinstance(value, str):
        options = " or ".join(repr(a) for a in allowed)
        raise ContractError(f"{key} must be {options}, got {_show(value)}")
    return value


def _optional_choice(obj: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    return _choice(obj, key, allowed) if key in obj else None


def _int(obj: dict[str, Any], key: str, low: int, high: int) -> int:
    value = obj.get(key)
    if not _is_int(value) or not low <= value <= high:
        raise ContractError(f"{key} must be an integer {low}..{high}, got {_show(value)}")
    return int(value)


def _optional_int(obj: dict[str, Any], key: str, low: int, high: int) -> int | None:
    return _int(obj, key, low, high) if key in obj else None


def _optional_str(obj: dict[str, Any], key: str, max_len: int) -> str | None:
    if key not in obj:
        return None
    value = obj[key]
    if not isinstance(value, str) or len(value) > max_len:
        raise ContractError(f"{key} must be a string of at most {max_len}, got {_show(value)}")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    # bool is a subclass of int in Python; true/false are not numbers on the wire.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return _is_int(value) or (isinstance(value, float) and value == value and abs(value) < 1e308)


def _refuse_constant(name: str) -> object:
    raise ContractError(f"payload is not JSON ({name} is not a JSON number)")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _show(value: object) -> str:
    """A short, safe rendering of a bad value for a reason line."""
    return "nothing" if value is None else _short(repr(value))


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- topics ---------------------------------------------------------------------------------

TopicKind = Literal["events", "status", "ble"]


@dataclass(frozen=True)
class Topic:
    kind: TopicKind
    sender: str


def parse_topic(prefix: str, topic: str) -> Topic:
    """`<p>/devices/<id>/events|status` or `<p>/phones/<id>/ble`; the id is the sender."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == prefix:
        _, family, sender, leaf = parts
        kind = {("devices", "events"): "events", ("devices", "status"): "status"}.get(
            (family, leaf)
        ) or ("ble" if (family, leaf) == ("phones", "ble") else None)
        if kind is not None:
            if not is_sender_id(sender):
                raise ContractError(f"sender id {_show(sender)} is not a valid id")
            return Topic(kind, sender)  # type: ignore[arg-type]
    raise ContractError(f"topic {_short(topic)!r} is not one the contract defines")
