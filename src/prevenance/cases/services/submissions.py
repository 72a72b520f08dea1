"""Form submissions sent twice: a double click without JavaScript, a browser or proxy retry, a
lost redirect. The case page's reply, note and gesture forms and the agent entry carry a
submission id (a UUID made when the form is rendered); the service stores it with what the
submission wrote (Message, Gesture, Case.submission_id, unique where set) and a repeat finds
that row and returns it: nothing is written, sent or announced twice.

See docs/cases.md, "Double submissions". The API has its Idempotency-Key instead; the email
intake its Message-ID.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _


def clean_submission_id(value, *content) -> uuid.UUID | None:
    """The id under which this submission is stored: the form's id bound to what it says
    (`content`, the fields as posted); None when the form posted no id (a page rendered before
    the field existed, a caller that is not a form): then nothing is checked.

    Bound to the content because a form's id outlives one sending: a page the browser restores
    with its Back button holds the id of its first sending, and a new reply typed into it is a
    new submission that must be stored, not taken for the first one (as the contact form's id
    is a hash of its content). A double click sends the same content: the same id.
    """
    if value is None or value == "":
        return None
    try:
        form_id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise ValidationError({"submission_id": [_("This form has expired; please reload the page.")]}) from exc
    return uuid.uuid5(form_id, "\x1f".join(str(part) for part in content)) if content else form_id


def file_names(files) -> list[str]:
    """What identifies a submission's uploads in its content: their names."""
    return [getattr(upload, "name", "") or "" for upload in files]


def earlier_submission(queryset: models.QuerySet, submission_id: uuid.UUID | None, **same) -> models.Model | None:
    """The row this submission already wrote, or None.

    `same` names what that row must share with this submission (its author): a submission id
    is one form sent by one person, so a row written by someone else under it is refused rather
    than returned. What the form says is already in the id (clean_submission_id).
    """
    if submission_id is None:
        return None
    row = queryset.filter(submission_id=submission_id).first()
    if row is not None and any(getattr(row, name) != value for name, value in same.items()):
        raise submission_reused()
    return row


def submission_reused() -> ValidationError:
    """The refusal of a submission id that names what someone else's form wrote."""
    return ValidationError({"submission_id": [_("This form was already sent; please reload the page.")]})
