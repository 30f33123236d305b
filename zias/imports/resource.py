"""An import resource: rows of a spreadsheet through the provisioning API's serializer.

One definition per resource serves the admin's import page (django-import-export drives
the upload, the preview and the confirmation, and calls `import_data`) and the
`import_data` command. The columns are the serializer's fields, so an export of the API is
an import file; each row is validated by that serializer, exactly as a POST or PATCH would
be, and saved through the same code the API saves with (a resource overrides `save` where
the API view adds rules, as cards do). Rows are matched by natural key: a row whose key
exists updates that object (only the columns the file has), a row whose values are all
there already is left alone (and counted unchanged), and any other row creates.

A bad row writes nothing (it fails validation before any save, or the database refuses
it and its savepoint is rolled back) and the next row goes on. The whole import is one
transaction that django-import-export rolls back for a dry run, and for `--atomic` when
any row was bad. What rows refer to is read in bulk (zias/imports/lookups.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, models, transaction
from django.db.models.signals import post_save, pre_save
from import_export import resources
from import_export.fields import Field
from import_export.results import RowResult
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.relations import ManyRelatedField
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from zias.imports.lookups import ExistingObjects, RelatedObjects, plain, split_list
from zias.imports.results import RefusedByDatabase, RowInvalid, SheetResult, api_errors, flatten
from zias.imports.sheets import cell_text, column_names

# Rows per savepoint. A row the database refuses (a constraint the serializer does not
# check) undoes its chunk, which is then done again with a savepoint per row.
CHUNK_ROWS = 200


class SerializerResource(resources.Resource):
    """Subclasses name the serializer, the natural key columns and the model lookups they
    stand for, e.g. `key = {"course": "course", "student": "student"}` for enrolments
    (the serializer's field parses each key cell: a code becomes the course it names)."""

    serializer_class: ClassVar[type[serializers.ModelSerializer]]
    key: ClassVar[dict[str, str]]  # key column -> model lookup
    extra_columns: ClassVar[tuple[str, ...]] = ()  # columns handled beside the serializer
    # New rows inserted together at the end of their chunk (see create_together), for a
    # model whose serializer's create is a plain insert (no many-to-many, no save()
    # override) and that needs its primary key only after the chunk.
    create_in_bulk: ClassVar[bool] = False

    class Meta:
        use_transactions = True
        skip_diff = True  # the preview's values come from import_row, not DIE's Diff

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: Any = self.serializer_class.Meta.model
        self.api_fields = self.serializer_class().fields
        self.writable = [n for n, f in self.api_fields.items() if not f.read_only]
        self.columns = [*self.writable, *self.extra_columns]
        self.known = {*self.api_fields, *self.extra_columns}
        self.fields = {c: Field(attribute=c, column_name=c) for c in self.columns}
        self._seen_keys: dict[tuple[Any, ...], int] = {}
        self.related = RelatedObjects()
        self.existing_objects = ExistingObjects(self.model, self.key.values())
        self._keys: dict[int, dict[str, Any] | RowInvalid] = {}
        self._savepoint_per_row = False
        self._to_create: list[models.Model] = []
        self._serializer: Any = None

    @classmethod
    def get_result_class(cls) -> type[SheetResult]:
        return SheetResult

    @classmethod
    def get_display_name(cls) -> str:
        return cls.__name__.removesuffix("Resource")

    def get_diff_headers(self) -> list[str]:
        return list(self.columns)

    def get_user_visible_fields(self) -> list[Field]:
        return list(self.fields.values())

    # The import of a whole sheet ------------------------------------------------------

    def import_data_inner(
        self,
        dataset: Any,
        dry_run: bool,
        raise_errors: bool,
        using_transactions: bool,
        collect_failed_rows: bool,
        **kwargs: Any,
    ) -> SheetResult:
        """Rows numbered as the spreadsheet shows them (the header is row 1). A column the
        resource does not know refuses the file whole: its values would be lost."""
        result = SheetResult()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = len(dataset)
        headers = column_names(dataset.headers)
        problems = self.column_problems(headers)
        if problems:
            result.append_invalid_row(1, dict.fromkeys(self.columns, ""), problems)
            result.totals[RowResult.IMPORT_TYPE_INVALID] += 1
            return result
        progress: Callable[[int, int], None] | None = kwargs.pop("progress", None)
        rows = []
        for index, values in enumerate(dataset, start=1):
            row = {h: cell_text(v) for h, v in zip(headers, values, strict=False) if h}
            if any(row.values()):  # XLSX keeps empty lines
                rows.append((index + 1, row))
        self.related.read(self.api_fields, [row for _, row in rows])
        self.related.answer_from_here(self.api_fields)
        for start in range(0, len(rows), CHUNK_ROWS):
            for number, row, row_result in self.import_chunk(
                rows[start : start + CHUNK_ROWS], kwargs
            ):
                result.increment_row_result_total(row_result)
                if row_result.errors:
                    result.append_error_row(number, row, row_result.errors)
                    if raise_errors:
                        raise row_result.errors[0].error
                elif row_result.validation_error is not None:
                    shown = {c: row.get(c, "") for c in self.columns}
                    result.append_invalid_row(number, shown, row_result.validation_error)
                result.append_row_result(row_result)
            if progress is not None:
                progress(min(start + CHUNK_ROWS, len(rows)), len(rows))
        return result

    def import_chunk(
        self, chunk: list[tuple[int, dict[str, str]]], options: dict[str, Any]
    ) -> list[tuple[int, dict[str, str], RowResult]]:
        """The chunk's rows in one savepoint; if the database refuses one, the chunk again
        with a savepoint per row, so that only that row is reported and left out."""
        try:
            with transaction.atomic():
                return self._import_rows(chunk, options)
        except RefusedByDatabase:
            self._savepoint_per_row = True
            try:  # read again: the first try's changes to those objects were rolled back
                return self._import_rows(chunk, options)
            finally:
                self._savepoint_per_row = False

    def _import_rows(
        self, chunk: list[tuple[int, dict[str, str]]], options: dict[str, Any]
    ) -> list[tuple[int, dict[str, str], RowResult]]:
        self.read_existing(chunk)
        self._to_create = []
        done = [(n, row, self.import_row(row, None, row_number=n, **options)) for n, row in chunk]
        if self._to_create:
            self.create_together(self._to_create)
        return done

    def create_together(self, objects: list[models.Model]) -> None:
        """One INSERT for the chunk's new rows, with the signals each would have sent on
        its own save, so every receiver (change log, recompute requests) hears of it."""
        using = self.model._default_manager.db
        for obj in objects:
            pre_save.send(self.model, instance=obj, raw=False, using=using, update_fields=None)
        try:
            self.model._default_manager.bulk_create(objects)
        except (IntegrityError, DataError) as exc:
            raise RefusedByDatabase from exc
        for obj in objects:
            post_save.send(
                self.model, instance=obj, created=True, raw=False, using=using, update_fields=None
            )

    def column_problems(self, headers: list[str]) -> DjangoValidationError | None:
        errors: dict[str, list[str]] = {}
        expected = ", ".join(self.columns)
        for column in headers:
            if column and column not in self.known:
                errors[column] = [f"unknown column (the columns are: {expected})"]
        for column in self.key:
            if column not in headers:
                errors[column] = ["missing column: it is the natural key rows are matched by"]
        seen: set[str] = set()
        for column in headers:
            if column in seen:
                errors[column] = ["the column appears twice"]
            seen.add(column)
        return DjangoValidationError(errors) if errors else None

    # One row ----------------------------------------------------------------------------

    def import_row(self, row: dict[str, str], instance_loader: Any, **kwargs: Any) -> RowResult:
        result = RowResult()
        number = kwargs["row_number"]
        try:
            instance, new = self.apply_row(row, number, kwargs)
        except RefusedByDatabase:
            raise
        except RowInvalid as invalid:
            result.import_type = RowResult.IMPORT_TYPE_INVALID
            result.validation_error = DjangoValidationError(invalid.errors)
            return result
        except Exception as exc:  # a bug: the whole import is rolled back and shown
            result.import_type = RowResult.IMPORT_TYPE_ERROR
            result.errors.append(self.get_error_result_class()(exc, row=row, number=number))
            return result
        if instance is None:
            result.import_type = RowResult.IMPORT_TYPE_SKIP
        else:
            result.import_type = RowResult.IMPORT_TYPE_NEW if new else RowResult.IMPORT_TYPE_UPDATE
            result.add_instance_info(instance)
            result.instance = instance
        result.diff = [row.get(c, "") for c in self.columns]
        return result

    def apply_row(
        self, row: dict[str, str], number: int, options: dict[str, Any]
    ) -> tuple[models.Model | None, bool]:
        """Validate and save one row; (None, False) when it changes nothing."""
        data = self.row_data(row)
        instance = self.existing(data, number)
        serializer = self.serializer_for(instance, data)
        extras = {c: data[c] for c in self.extra_columns if c in data}
        errors: dict[str, list[str]] = {}
        try:
            if not serializer.is_valid():
                errors = api_errors(serializer.errors, self.whole_row)
        except APIException as exc:  # a Conflict raised by a field's own check
            errors = api_errors(exc.detail, self.whole_row)
        errors.update(self.extra_errors(extras, number))
        if errors:
            raise RowInvalid(errors)
        if instance is not None and not self.changes(serializer, extras):
            return None, False
        if instance is None and self.create_in_bulk and not self._savepoint_per_row:
            new = self.model(**serializer.validated_data)
            self._to_create.append(new)
            return new, True
        if not self._savepoint_per_row:
            try:
                return self.save(serializer, extras, options), instance is None
            except (IntegrityError, DataError) as exc:
                raise RefusedByDatabase from exc
        try:
            with transaction.atomic():
                return self.save(serializer, extras, options), instance is None
        except (IntegrityError, DataError) as exc:
            raise RowInvalid({self.whole_row: [_database_message(exc)]}) from None

    def serializer_for(self, instance: models.Model | None, data: dict[str, Any]) -> Any:
        """The resource's serializer, made ready for one row: partial for an update, so the
        columns a file leaves out stay as they are. One serializer serves every row of an
        import (building a model serializer's fields was half the time of a row); its
        fields and validators read the instance from it, so nothing of a row stays."""
        serializer = self._serializer
        if serializer is None:
            serializer = self.serializer_class(data={}, context={"import": True})
            self.related.answer_from_here(serializer.fields)
            self.skip_key_uniqueness_checks(serializer)
            self._serializer = serializer
        for state in ("_validated_data", "_errors", "_data"):
            serializer.__dict__.pop(state, None)
        serializer.instance = instance
        serializer.initial_data = data
        serializer.partial = instance is not None
        return serializer

    def skip_key_uniqueness_checks(self, serializer: Any) -> None:
        """The serializer's checks that the natural key is not taken ask the database what
        existing() has just read in this transaction: a row naming an existing key updates
        it, and a key twice in one file is caught there. A concurrent insert of the same key
        is still refused by the unique index (and reported for the row)."""
        for column in self.key:
            field = serializer.fields[column]
            field.validators = [v for v in field.validators if not isinstance(v, UniqueValidator)]
        serializer.validators = [
            v
            for v in serializer.validators
            if not (isinstance(v, UniqueTogetherValidator) and set(v.fields) <= set(self.key))
        ]

    @property
    def whole_row(self) -> str:
        """The column errors about the row as a whole are reported under."""
        return "+".join(self.key)

    def row_data(self, row: dict[str, str]) -> dict[str, Any]:
        """The row as the API would be sent it: lists split on spaces, blank cells as null
        or "" where the field takes that, else left out (a default, or unchanged)."""
        data: dict[str, Any] = {}
        for column, text in row.items():
            field = self.api_fields.get(column)
            if column in self.extra_columns:
                data[column] = split_list(text)
            elif field is None or field.read_only:
                continue  # an export's read-only column (issued_at, last_seen): ignored
            elif isinstance(field, ManyRelatedField | serializers.ListField):
                data[column] = split_list(text)
            elif text:
                data[column] = text
            elif field.allow_null:
                data[column] = None
            elif getattr(field, "allow_blank", False):
                data[column] = ""
        return data

    def read_existing(self, chunk: list[tuple[int, dict[str, str]]]) -> None:
        """Parse the chunk's keys and read the objects they name, in one query."""
        self._keys = {}
        for number, row in chunk:
            try:
                self._keys[number] = self.key_lookup(self.row_data(row))
            except RowInvalid as invalid:
                self._keys[number] = invalid
        self.existing_objects.read([k for k in self._keys.values() if isinstance(k, dict)])

    def key_lookup(self, data: dict[str, Any]) -> dict[str, Any]:
        """The row's natural key as model lookups, e.g. {"course": <Course MATH>}."""
        lookup: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for column, model_lookup in self.key.items():
            value = data.get(column)
            if value in (None, ""):
                errors[column] = ["a value is needed: rows are matched by this column"]
                continue
            try:  # parsed only: the serializer runs the field's checks after the lookup
                lookup[model_lookup] = self.api_fields[column].to_internal_value(value)
            except serializers.ValidationError as exc:
                errors[column] = flatten(exc.detail)
        if errors:
            raise RowInvalid(errors)
        return lookup

    def existing(self, data: dict[str, Any], number: int) -> models.Model | None:
        """The object this row's natural key names, or None; a key given twice in one file
        is an error on the second row."""
        lookup = self._keys[number]
        if isinstance(lookup, RowInvalid):
            raise lookup
        seen_key = tuple(getattr(v, "pk", v) for v in lookup.values())
        first = self._seen_keys.setdefault(seen_key, number)
        if first != number:
            column = next(iter(self.key))
            raise RowInvalid({column: [f"the same key as row {first}: a key may appear once"]})
        return self.existing_objects.find(lookup)

    def changes(self, serializer: Any, extras: dict[str, Any]) -> bool:
        """Whether saving would change anything the row gives."""
        instance = serializer.instance
        for name, value in serializer.validated_data.items():
            field = instance._meta.get_field(name)
            if field.many_to_one or field.one_to_one:  # compare ids: no query per row
                if getattr(instance, field.attname) != plain(value):
                    return True
                continue
            current = getattr(instance, name)
            if isinstance(current, models.Manager):
                if {o.pk for o in current.all()} != {o.pk for o in value}:
                    return True
            elif current != value:
                return True
        return self.extra_changes(instance, extras)

    # What a resource with rules of its own overrides ----------------------------------

    def save(self, serializer: Any, extras: dict[str, Any], options: dict[str, Any]) -> Any:
        return serializer.save()

    def extra_errors(self, extras: dict[str, Any], number: int) -> dict[str, list[str]]:
        return {}

    def extra_changes(self, instance: Any, extras: dict[str, Any]) -> bool:
        return False


def _database_message(exc: Exception) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    text = str(args[1]) if len(args) > 1 else str(exc)
    return f"the database refused the row: {text}"


def history_reason(options: dict[str, Any]) -> str:
    """What a card's history says about a change an import made."""
    name = options.get("file_name")
    return f"import of {name}" if name else "import"
