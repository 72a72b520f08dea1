"""Display helpers for one message of a case's thread (cases/partials/thread_message_body.html):
its words with the quoted history folded, its files, and the email it came as."""

from typing import NamedTuple

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.safestring import SafeString, mark_safe

from prevenance.cases.choices import MessageKind
from prevenance.cases.mail.quotes import split_reply_html, split_reply_text
from prevenance.cases.mail.sanitize import sanitize_html
from prevenance.cases.templatetags.case_tags import without_survey_links

register = template.Library()


class MessageBody(NamedTuple):
    html: bool  # the message's HTML is shown (else its text)
    new: SafeString  # what the sender wrote, shown first
    quoted: SafeString  # the history their mail client quoted under it, folded; "" when none


def _text_html(text: str) -> SafeString:
    return linebreaksbr(text, autoescape=True)  # escaped, as the |linebreaksbr filter does


@register.filter
def message_body(message) -> MessageBody:
    """The message's words for the thread: its sanitised HTML, else its text, with the survey
    links masked. A customer's message is split where the history their mail client quoted
    starts (mail.quotes): each part is sanitised on its own. The stored body stays whole."""
    fold = message.kind == MessageKind.INBOUND
    if message.body_html:
        html = without_survey_links(message.body_html)
        new, quoted = split_reply_html(html) if fold else (html, "")
        # Sanitised by nh3 on the line itself, each part apart.
        return MessageBody(True, mark_safe(sanitize_html(new)), mark_safe(sanitize_html(quoted)))  # noqa: S308
    text = without_survey_links(message.body_text)
    new, quoted = split_reply_text(text) if fold else (text, "")
    return MessageBody(False, _text_html(new), _text_html(quoted))


@register.filter
def thread_files(message) -> list:
    """The files a person attached to the message, without the raw original of an email."""
    return [file for file in message.attachments.all() if not file.is_original]  # prefetched by case_thread


@register.filter
def original_email(message):
    """The raw original an email came as (Attachment.is_original), or None."""
    return next((file for file in message.attachments.all() if file.is_original), None)
