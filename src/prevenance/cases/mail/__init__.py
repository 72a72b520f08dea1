"""Inbound email parsing: the pure layer the email intake stands on (docs/email-intake.md)."""

from prevenance.cases.mail.parse import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    Attachment,
    MailAddress,
    ParsedMessage,
    parse_message,
)
from prevenance.cases.mail.problems import ParseProblem

__all__ = ["DEFAULT_MAX_ATTACHMENT_BYTES", "Attachment", "MailAddress", "ParseProblem", "ParsedMessage", "parse_message"]
