"""GDPR rights: access (export everything held) and erasure, each with an audit record."""

import json
import shutil
import zipfile
from pathlib import PurePosixPath
from typing import IO, Any

from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from prevenance.core.audit import record_audit
from prevenance.core.choices import AuditKind
from prevenance.core.webhooks.services import erase_from_delivery_log
from prevenance.customers.models import Customer, IdentityConflict
from prevenance.customers.relations import ExportedFile, customer_foreign_keys

_HIDDEN = {"sort_key", "alt_key", "confirmation_token"}


def _row(instance) -> dict[str, Any]:
    data = model_to_dict(instance, fields=[f.name for f in instance._meta.concrete_fields if f.name not in _HIDDEN])
    # model_to_dict skips non-editable fields; the person is owed those too.
    for f in instance._meta.concrete_fields:
        if not f.editable and f.name not in _HIDDEN:
            data[f.attname] = getattr(instance, f.attname)
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _records(customer_ids: list[int]) -> list[Customer]:
    """The customer and every tombstone merged into it (their rows still hold what they were)."""
    found, frontier = [], customer_ids
    while frontier:
        batch = list(Customer.objects.filter(pk__in=frontier))
        found.extend(batch)
        frontier = list(Customer.objects.filter(merged_into_id__in=[c.pk for c in batch]).values_list("pk", flat=True))
    return found


ARCHIVE_DOCUMENT = "customer.json"


def _archive_path(exported: ExportedFile) -> str:
    # The name the person gave without any folder, made safe for any unzip tool; the row's id
    # keeps paths unique.
    try:
        name = get_valid_filename(PurePosixPath(exported.filename.replace("\\", "/")).name)[-120:]
    except SuspiciousFileOperation:  # "", "." or ".."
        name = "file"
    return f"files/{exported.model.rsplit('.', 1)[-1]}-{exported.pk}-{name}"


def _file_entry(exported: ExportedFile) -> dict[str, Any]:
    return {
        "model": exported.model, "id": exported.pk, **exported.links, "filename": exported.filename,
        "content_type": exported.content_type, "size": exported.size, "path": _archive_path(exported),
    }


def _collect(customer: Customer) -> tuple[dict[str, Any], list[ExportedFile], list[int]]:
    records = _records([customer.pk])
    ids = [c.pk for c in records]
    document: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "customer": _row(records[0]),
        "merged_records": [_row(c) for c in records[1:]],
    }
    files: list[ExportedFile] = []
    for relation in customer_foreign_keys():
        model = relation.related_model
        key = model._meta.label_lower
        rows = model._base_manager.filter(**{f"{relation.field.name}__in": ids}).order_by("pk")
        document.setdefault(key, []).extend(_row(row) for row in rows)
        if (list_files := getattr(model, "gdpr_export_files", None)) is not None:
            files.extend(list_files(rows))
    document["files"] = [_file_entry(exported) for exported in files]
    return document, files, ids


def _record_export(customer: Customer, actor, ids: list[int], files: int) -> None:
    with transaction.atomic():
        record_audit(kind=AuditKind.CUSTOMER_EXPORTED, actor=actor, subject=customer, payload={"records": ids, "files": files})


def export_customer_data(*, customer: Customer, actor=None) -> dict[str, Any]:
    """Everything held about the person, in one JSON-ready document (right of access).

    Files (attachments) are described under "files"; `write_customer_archive` adds their bytes."""
    document, files, ids = _collect(customer)
    _record_export(customer, actor, ids, len(files))
    return document


def write_customer_archive(*, customer: Customer, target: IO[bytes], actor=None) -> dict[str, Any]:
    """The right of access in one ZIP written to `target`: the export's JSON as customer.json and
    every file under its "path". A file gone from the storage is marked "missing" (path null)
    instead of failing the whole request. Returns the document written."""
    document, files, ids = _collect(customer)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry, exported in zip(document["files"], files, strict=True):
            try:
                source = exported.open()
            except FileNotFoundError:
                entry.update(path=None, missing=True)
                continue
            with source, archive.open(entry["path"], "w", force_zip64=True) as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        archive.writestr(ARCHIVE_DOCUMENT, json.dumps(document, ensure_ascii=False, indent=2))
    _record_export(customer, actor, ids, len(files))
    return document


def erase_customer(*, customer: Customer, actor=None) -> Customer:
    """Right to erasure: personal fields and identities go; what the company must keep stays, unlinked.

    Each model that points at a customer says how (gdpr_on_erase): identities are deleted;
    interactions keep channel/date for aggregates with their words blanked; orders and the
    consent ledger stay as accounting and proof, with the person unlinked.
    """
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.merged_into_id:
            raise ValidationError(_("Erase the record this one was merged into instead (#%(id)s).") % {"id": locked.merged_into_id})
        records = _records([locked.pk])
        ids = [c.pk for c in records]
        counts: dict[str, int] = {}
        for relation in customer_foreign_keys():
            model = relation.related_model
            rows = model._base_manager.filter(**{f"{relation.field.name}__in": ids})
            policy = getattr(model, "gdpr_on_erase", "delete")
            if model is IdentityConflict or policy == "delete":
                counts[model._meta.label_lower] = rows.delete()[0]
            else:
                # A model with more than columns to blank (files...) does that part itself first.
                if (before_erase := getattr(model, "gdpr_before_erase", None)) is not None:
                    before_erase(rows)
                blanks = {name: _blank_value(model, name) for name in getattr(model, "gdpr_personal_fields", ())}
                counts[model._meta.label_lower] = rows.update(**{relation.field.name: None}, **blanks)
        counts["core.webhookdelivery"] = erase_from_delivery_log(customer_ids=ids)
        now = timezone.now()
        for record in records:
            for field in Customer.PERSONAL_FIELDS:
                setattr(record, field, None if field == "birth_date" else "")
            record.erased_at = now
            record.save(update_fields=[*Customer.PERSONAL_FIELDS, "erased_at"])
        record_audit(kind=AuditKind.CUSTOMER_ERASED, actor=actor, subject=locked, payload={"records": ids, "counts": counts})
    locked.refresh_from_db()
    return locked


def _blank_value(model, name: str):
    # "" for text; a list or dict field (addresses in copy...) gets its empty default instead.
    field = model._meta.get_field(name)
    return field.get_default() if field.has_default() else ""
