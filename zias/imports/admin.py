"""The admin's import page for a model: django-import-export's upload, preview and confirm,
over the same resources `import_data` uses.

The preview is a dry run of the whole file (rolled back); the confirmation imports it.
django-import-export offers the confirmation only when every row is good, so in the admin a
file goes in whole or not at all; the command can import the good rows of a mixed file.
"""

from __future__ import annotations

from django.http import HttpRequest
from import_export.admin import ImportMixin
from import_export.formats.base_formats import CSV, XLSX


class SheetImportMixin(ImportMixin):
    """Put before admin.ModelAdmin; set `resource_classes` to the model's resource."""

    import_formats = [CSV, XLSX]
    from_encoding = "utf-8-sig"  # drops the byte-order mark of Excel's "CSV UTF-8"

    def has_import_permission(self, request: HttpRequest) -> bool:
        # An import adds and changes rows, so it takes both permissions.
        return bool(self.has_add_permission(request) and self.has_change_permission(request))
