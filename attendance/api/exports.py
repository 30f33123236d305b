"""`?format=csv` and `?format=xlsx` on API views: negotiation, renderers, error bodies.

DRF picks a renderer from `?format=`; these two renderers exist so that it accepts the
formats (and the OpenAPI schema lists their media types), while the view itself answers
with the streamed file. An unknown format is a 400 with a message, not DRF's 404, and an
error is always answered as JSON, whatever format was asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from attendance.reports.export import XLSX_TYPE

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    enum=["json", "csv", "xlsx"],
    description="json (default), or csv / xlsx for a download of the same rows "
    "(XLSX: typed cells, a frozen header, the filter used in its first row).",
)


class _FileRenderer(BaseRenderer):
    """Stands for a file format in negotiation; the view returns the file itself."""

    charset = None

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        raise RuntimeError("export views answer with the file; nothing is rendered here")


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XlsxRenderer(_FileRenderer):
    media_type = XLSX_TYPE
    format = "xlsx"


class FormatNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers: Any, format: str) -> Any:
        chosen = [r for r in renderers if r.format == format]
        if not chosen:
            known = ", ".join(sorted({r.format for r in renderers if r.format != "api"}))
            raise ParseError(f"format: {format!r} is not one of {known}.")
        return chosen


class ExportMixin:
    """Mixed into a view that answers `?format=csv|xlsx`; `export_format(request)` tells
    which was asked (or None for JSON)."""

    renderer_classes: Sequence[type[BaseRenderer]] = [
        JSONRenderer,
        BrowsableAPIRenderer,
        CsvRenderer,
        XlsxRenderer,
    ]
    content_negotiation_class: type[BaseContentNegotiation] = FormatNegotiation

    @staticmethod
    def export_format(request: Request) -> str | None:
        renderer = getattr(request, "accepted_renderer", None)
        return renderer.format if isinstance(renderer, _FileRenderer) else None

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        # Typed as DRF's stubs have it; a view may also return a plain (file) response.
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), _FileRenderer
        ):
            request.accepted_renderer = JSONRenderer()  # errors are JSON, never a file
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc, no-any-return]


def export_responses(ok: Any) -> dict[Any, Any]:
    """extend_schema(responses=...) for a view answering JSON, CSV and XLSX."""
    return {
        (200, "application/json"): ok,
        (200, "text/csv"): OpenApiTypes.STR,
        (200, XLSX_TYPE): OpenApiTypes.BINARY,
    }
