"""A file of a case's thread as an HTTP download, for the case page and the API alike."""

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
