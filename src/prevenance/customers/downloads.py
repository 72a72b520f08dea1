"""The GDPR archive as an HTTP download, shared by the customer page and the API."""

import tempfile

from django.http import FileResponse

from prevenance.customers.services import write_customer_archive

# Archives up to this size are built in memory, bigger ones spill to a temporary file.
IN_MEMORY_MAX_BYTES = 16 * 1024 * 1024


def customer_archive_response(*, customer, actor) -> FileResponse:
    archive = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_MAX_BYTES)  # noqa: SIM115 - FileResponse closes it
    write_customer_archive(customer=customer, target=archive, actor=actor)
    archive.seek(0)
    return FileResponse(archive, as_attachment=True, filename=f"customer-{customer.pk}.zip", content_type="application/zip")
