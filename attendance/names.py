"""How a student's name is shown: in full on pages and exports, short on a reader's display.

The one place for both, so the ack a reader beeps with, the live page and the admin never
spell a name differently. Plain strings in, so the engine can use it on rows it loaded with
values_list (no model instance); pure, and below the models, which use it too.
"""

from __future__ import annotations

# CONTRACT: an ack's `display` is at most 32 characters.
READER_DISPLAY_MAX = 32


def full_name(first: str, last: str) -> str:
    """'Ada Okafor'; either part may be empty."""
    return f"{first} {last}".strip()


def reader_display_name(first: str, last: str) -> str:
    """'A. Okafor', cut to what a reader's display holds."""
    initial = f"{first[:1]}. " if first else ""
    return f"{initial}{last}"[:READER_DISPLAY_MAX]
