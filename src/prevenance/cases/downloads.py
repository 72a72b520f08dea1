"""A file of a case's thread as an HTTP download, for the case page and the API alike."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404

from prevenance.cases.models import Attachment


def attachment_download(attachment: Attachment) -> FileResponse:
    """Always a download as bytes (never rendered in our origin); 404 when the file is gone."""
    try:
        handle = attachment.open()
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=attachment.filename or "attachment",
                        content_type="application/octet-stream")


def stored_file_download(*, path: str, filename: str) -> FileResponse:
    """A file of the storage that no Attachment row holds yet (a suspended form's), the same way."""
    try:
        handle = default_storage.open(path, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=filename or "attachment", content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response
