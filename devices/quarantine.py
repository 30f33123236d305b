"""Re-running quarantined messages through the pipeline, once the bug that stopped them is
fixed (an admin action). A re-run stores what the message carries exactly as a first run
would have: its events keep their own `ts` and the time they were first received, and an
event stored since (the sender sent it again) is a duplicate, not a second copy."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from devices.models import QuarantinedMessage, QuarantineState
from devices.mqtt.committing import DatabaseAway, commit_batch
from devices.mqtt.pipeline import IncomingMessage


@dataclass
class RerunTally:
    stored: int = 0
    still_failing: int = 0


def rerun(messages: QuerySet[QuarantinedMessage]) -> RerunTally:
    """Each waiting message through the pipeline; those that go through are marked stored,
    the others keep their place with the new error."""
    tally = RerunTally()
    for kept in messages.filter(state=QuarantineState.WAITING).order_by("received_at", "id"):
        message = IncomingMessage(
            topic=kept.topic,
            payload=bytes(kept.payload),
            retain=kept.retain,
            received_at=kept.received_at.timestamp(),
        )
        kept.attempts += 1
        kept.rerun_at = timezone.now()
        try:
            outcome = commit_batch([message], settings.MQTT_TOPIC_PREFIX, quarantine=False)
        except DatabaseAway:
            raise
        except Exception as exc:
            kept.error = "".join(traceback.format_exception(exc))[-20_000:]
            kept.outcome = f"failed again: {exc}"[:200]
            tally.still_failing += 1
        else:
            kept.state = QuarantineState.STORED
            kept.outcome = (
                f"stored {outcome.stored} events, {outcome.duplicates} already held, "
                f"{len(outcome.rejections)} rejected"
            )
            tally.stored += 1
        kept.save(update_fields=["attempts", "rerun_at", "error", "outcome", "state"])
    return tally
