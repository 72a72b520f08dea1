"""The CSV import and export page: upload a file, read the report, download exports."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from prevenance.core.csvio import CsvFileError, exporters, importers, iter_export, run_import

IMPORT_PERM, EXPORT_PERM = "customers.import_data", "customers.export_data"
MAX_UPLOAD = 100 * 1024 * 1024
ERRORS_SHOWN = 100


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), initial="customers")
    encoding = forms.ChoiceField(
        label=gettext_lazy("Encoding"),
        choices=[("utf-8", gettext_lazy("UTF-8 (with or without BOM)")),
                 ("cp1252", gettext_lazy("Windows-1252 (older Excel exports)"))],
        initial="utf-8",
    )
    file = forms.FileField(label=gettext_lazy("CSV file (comma or semicolon separated)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, importer.label) for kind, importer in sorted(importers().items())]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB; use the command line.") % {"mb": MAX_UPLOAD // 2**20})
        return upload


def _context(user, form, report=None):
    return {
        "form": form,
        "report": report,
        "errors_shown": report.errors[:ERRORS_SHOWN] if report else [],
        "can_import": user.has_perm(IMPORT_PERM),
        "can_export": user.has_perm(EXPORT_PERM),
        "exports": sorted(exporters().items()),
    }


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    if not (request.user.has_perm(IMPORT_PERM) or request.user.has_perm(EXPORT_PERM)):
        raise PermissionDenied
    if request.method == "GET":
        return render(request, "web/import.html", _context(request.user, ImportForm()))
    if not request.user.has_perm(IMPORT_PERM):
        raise PermissionDenied
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "web/import.html", _context(request.user, form), status=400)
    upload = form.cleaned_data["file"]
    try:
        report = run_import(kind=form.cleaned_data["kind"], data=upload.read(), encoding=form.cleaned_data["encoding"],
                            actor=request.user, filename=upload.name)
    except CsvFileError as exc:
        form.add_error("file", _("Nothing imported: %(reason)s") % {"reason": exc.message})
        return render(request, "web/import.html", _context(request.user, form), status=400)
    except DatabaseError:
        form.add_error(None, _("Nothing imported: the database refused the import (another change at the same "
                               "time?). Please try again."))
        return render(request, "web/import.html", _context(request.user, form), status=409)
    return render(request, "web/import.html", _context(request.user, ImportForm(), report))


@login_required
@require_GET
def export_download(request, kind: str):
    if not request.user.has_perm(EXPORT_PERM):
        raise PermissionDenied
    if kind not in exporters():
        raise Http404
    response = StreamingHttpResponse(iter_export(kind=kind, viewer=request.user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="prevenance-{kind}.csv"'
    return response
