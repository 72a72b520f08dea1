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


def clean_submission_id(value) -> uuid.UUID | None:
    """The submission id a form posted; None when it posted none (a page rendered before the
    field existed, a caller that is not a form): then nothing is checked."""
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ValidationError({"submission_id": [_("This form has expired; please reload the page.")]}) from exc


def earlier_submission(queryset: models.QuerySet, submission_id: uuid.UUID | None, **same) -> models.Model | None:
    """The row this submission already wrote, or None.

    `same` names what that row must share with this submission (its author): a submission id
    is one form sent by one person, so a row written by someone else under it is refused rather
    than returned. What the form says is not compared: the same submission sent again is the
    same submission, whatever its fields hold now.
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
