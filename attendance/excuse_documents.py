"""The document attached to an excuse: size- and type-checked before it is stored.

The type is read from the file's first bytes, not from its name or the browser's claim,
so a renamed executable is refused however it is called.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

# The first bytes of each accepted type.
SIGNATURES = {
    "pdf": (b"%PDF-",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
}


class DocumentRefused(ValueError):
    """The attached file is too large or not an accepted type; the message says which."""


def document_type(head: bytes) -> str | None:
    for kind, signatures in SIGNATURES.items():
        if any(head.startswith(signature) for signature in signatures):
            return kind
    return None


def check_document(document: UploadedFile) -> str:
    """The document's type; raises DocumentRefused for a file too large or of a type not in
    EXCUSE_DOCUMENT_TYPES."""
    limit = settings.EXCUSE_DOCUMENT_MAX_BYTES
    if document.size is None or document.size > limit:
        raise DocumentRefused(f"the document is larger than {_megabytes(limit)}")
    if document.size == 0:
        raise DocumentRefused("the document is empty")
    document.seek(0)
    head = document.read(16)
    document.seek(0)
    kind = document_type(head)
    allowed = settings.EXCUSE_DOCUMENT_TYPES
    if kind not in allowed:
        names = ", ".join(t.upper() for t in allowed)
        raise DocumentRefused(f"the document must be one of {names}")
    return kind


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
