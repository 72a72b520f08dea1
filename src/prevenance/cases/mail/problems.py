"""What went wrong while reading a message, as stable codes the intake can store and the UI can translate."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

EMPTY_MESSAGE = "empty_message"
UNPARSEABLE = "unparseable"
MIME_DEFECT = "mime_defect"
HEADER_UNREADABLE = "header_unreadable"
HEADER_TOO_LONG = "header_too_long"  # parse.MAX_PARSED_HEADER_LENGTH: only its beginning was read (detail: the header)
MIME_TOO_DEEP = "mime_too_deep"  # parse.MAX_MULTIPART_DEPTH: the deeper parts are shown as raw MIME text
DUPLICATE_HEADER = "duplicate_header"
MISSING_MESSAGE_ID = "missing_message_id"
REUSED_MESSAGE_ID = "reused_message_id"  # by the intake: another message was stored under this id
MISSING_FROM = "missing_from"
INVALID_ADDRESS = "invalid_address"
INVALID_DATE = "invalid_date"
CHARSET = "charset"
PART_UNREADABLE = "part_unreadable"
ATTACHMENT_TOO_LARGE = "attachment_too_large"
HTML_TOO_DEEP = "html_too_deep"  # sanitize.too_deeply_nested: the HTML version is not kept, its text is
ATTACHMENT_REFUSED = "attachment_refused"  # by the intake (a program, an empty file), not the parser
TOO_MANY_RECIPIENTS = "too_many_recipients"  # by the intake: only the first MAX_ADDRESSES of a list are kept
REFUSED_REFERENCE = "refused_reference"  # by the intake: the subject's case reference was not honoured (detail: it)
# By the intake, of a reply threaded by its headers from someone who is neither the case's customer,
# nor in copy on it, nor one of our mailboxes (detail: their address): kept on the case, but our
# replies do not go to them (docs/email-intake.md, "Threading").
SENDER_NOT_ON_CASE = "sender_not_on_case"
# By the intake, of a bounce whose failures were not applied (detail: the addresses it names;
# services/bounces.py): it returns no email of ours, returns one without the delivery mark, or
# with a mark that is not the named address's.
BOUNCE_NOT_OURS = "bounce_not_ours"
BOUNCE_UNMARKED = "bounce_unmarked"
BOUNCE_MISMATCH = "bounce_mismatch"

LABELS = {
    EMPTY_MESSAGE: _("The message is empty."),
    UNPARSEABLE: _("The message could not be read; its raw text was kept."),
    MIME_DEFECT: _("The message structure is damaged (MIME)."),
    HEADER_UNREADABLE: _("A header could not be read."),
    HEADER_TOO_LONG: _("A header is too long to be read whole; only its beginning was read, and the original message keeps it all."),
    MIME_TOO_DEEP: _("The message nests its parts too deeply; the deepest parts are shown as raw text, and the original message keeps them."),
    DUPLICATE_HEADER: _("A header that must appear once appears several times."),
    MISSING_MESSAGE_ID: _("The message has no Message-ID; one was derived from its content."),
    REUSED_MESSAGE_ID: _("Another message was already stored under this Message-ID; this one was kept under an id derived from its content."),
    MISSING_FROM: _("The message has no sender address."),
    INVALID_ADDRESS: _("An address is not a valid email address."),
    INVALID_DATE: _("The date header is not a valid date."),
    CHARSET: _("Some text was in an unknown or wrong character set; it was decoded as best as possible."),
    PART_UNREADABLE: _("A part of the message could not be decoded; it was kept as raw bytes."),
    ATTACHMENT_TOO_LARGE: _("An attachment is larger than the size limit; it is listed but its content was not kept."),
    HTML_TOO_DEEP: _("The HTML version is nested too deeply to be shown safely; its text is shown and the original message keeps it."),
    ATTACHMENT_REFUSED: _("An attachment was refused (a program or script, or an empty file); only the original message keeps it."),
    TOO_MANY_RECIPIENTS: _("The message has more recipients than are kept; the first ones were kept, the original message has them all."),
    REFUSED_REFERENCE: _("The case reference in the subject is unknown or not this sender's case; the message was not added to that case."),
    SENDER_NOT_ON_CASE: _("Sent by someone who is neither the customer nor in copy: our replies do not go to them."),
    BOUNCE_NOT_OURS: _("This delivery failure report does not return an email we sent, so it proves nothing about these "
                       "addresses; they were not marked as undeliverable."),
    BOUNCE_UNMARKED: _("This delivery failure report returns an email of ours without its delivery mark (an email sent before "
                       "marks existed, or a report without the original's headers); these addresses were not marked as "
                       "undeliverable."),
    BOUNCE_MISMATCH: _("This delivery failure report names these addresses, but its delivery mark was made for another "
                       "recipient or altered (it may be forged); they were not marked as undeliverable."),
}


@dataclass(frozen=True)
class ParseProblem:
    code: str
    detail: str = ""

    @property
    def label(self) -> str:
        return str(LABELS[self.code])


def problem_lines(problems) -> list[dict[str, str]]:
    """A message's stored problems ({"code", "detail"}) for a reader: each with its label in the
    active language (a code this version does not know is shown as it is)."""
    lines = []
    for problem in problems or ():
        code = str(problem.get("code", "")) if isinstance(problem, dict) else str(problem)
        label = LABELS.get(code)
        detail = str(problem.get("detail", "")) if isinstance(problem, dict) else ""
        if code == ATTACHMENT_REFUSED:
            from prevenance.cases.services.email_attachments import reader_refusal_detail  # noqa: PLC0415 - it imports this module

            detail = reader_refusal_detail(detail)
        lines.append({"code": code, "label": str(label) if label is not None else code, "detail": detail})
    return lines
