"""The walking-time model the engine judges impossible travel with, built from settings in
this one place for the door replay and the BLE flags alike."""

from __future__ import annotations

from django.conf import settings

from attendance.rules.proxy import TravelModel


def travel_model() -> TravelModel:
    """TRAVEL_SAME_FLOOR_S, TRAVEL_PER_FLOOR_S and TRAVEL_OTHER_BUILDING_S (zias/settings.py)."""
    return TravelModel(
        same_floor_s=settings.TRAVEL_SAME_FLOOR_S,
        per_floor_s=settings.TRAVEL_PER_FLOOR_S,
        other_building_s=settings.TRAVEL_OTHER_BUILDING_S,
    )
