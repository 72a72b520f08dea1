"""Django's SMTP email backend, able to send to international addresses (RFC 6531, SMTPUTF8).

Django writes an address whose local part is not ASCII (clàire@exämple.com) as an RFC 2047
word, `=?utf-8?b?Y2zDoGlyZQ==?=@xn--exmple-cua.com`, in the envelope and in the headers: a
valid ASCII address, of a mailbox that does not exist. SMTPUTF8EmailBackend sends such a
message with the SMTPUTF8 option instead, its addresses in UTF-8 (the domain in A-labels, as
Django writes every domain), when the server offers it; when it does not, the message cannot
reach that address, and the backend refuses the recipient as a server would (553 5.6.7, RFC
6531 section 3.2), so that a caller sending one copy per recipient records that copy as not
delivered and sends the others. Any other message is sent by Django's code, unchanged.
"""

import logging
import re
import smtplib
from email._policybase import Compat32
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address
from email.utils import getaddresses
from io import BytesIO

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import ADDRESS_HEADERS, sanitize_address
from django.utils.encoding import force_str, punycode
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# RFC 6531 section 3.2: what a client answers for a recipient it cannot send to without SMTPUTF8.
REFUSED_CODE = 553
_FOLDING_SPACE = re.compile(r"[ \t]*\r?\n[ \t]*|[ \t]+")


def _mailboxes(value) -> list[tuple[str, str]]:
    """(display name, address) of each address in a header value or envelope address."""
    if isinstance(value, tuple):  # Django also takes (name, address) pairs
        return [value]
    return getaddresses([force_str(value)])


def is_international(value) -> bool:
    """Whether an address (or one of several, as in a To header) has a non-ASCII local part:
    a domain is put in A-labels by Django already, a local part cannot be."""
    return any(not address.rpartition("@")[0].isascii() for _name, address in _mailboxes(value))


def _address_headers(email_message):
    """(name, value) of the address headers Django's EmailMessage.message() sets, from what it sets them."""
    extra = email_message.extra_headers
    yield "From", extra.get("From", email_message.from_email)
    for name, values in (("To", email_message.to), ("Cc", email_message.cc), ("Reply-To", email_message.reply_to)):
        yield name, extra[name] if name in extra else ", ".join(str(value) for value in values)
    for name, value in extra.items():
        if name.lower() in ADDRESS_HEADERS and name.lower() not in {"from", "to", "cc", "reply-to"}:
            yield name, value


def _envelope_address(value, encoding: str) -> str:
    if not is_international(value):
        return sanitize_address(value, encoding)
    _name, address = _mailboxes(value)[0]
    local, _at, domain = address.rpartition("@")
    return Address(username=local, domain=punycode(domain)).addr_spec


def _header_address(name: str, address: str, encoding: str) -> str:
    if address.rpartition("@")[0].isascii():
        return sanitize_address((name, address), encoding)
    local, _at, domain = address.rpartition("@")
    # The display name as Django writes it (RFC 2047 when it is not ASCII), on one line.
    name = "".join(Header(name, "ascii" if name.isascii() else encoding).encode().splitlines())
    return str(Address(display_name=name, username=local, domain=punycode(domain)))


class _UTF8AddressesPolicy(Compat32):
    """What Django writes a message with (compat32), but for address headers holding UTF-8:
    written as they are (RFC 6532), folded between words, where compat32 would make RFC 2047
    words of them. Every other header and part comes out as Django makes it."""

    def fold_binary(self, name, value):
        if isinstance(value, str) and name.lower() in ADDRESS_HEADERS and not value.isascii():
            try:
                return self._fold_words(name, value).encode("utf-8")
            except UnicodeEncodeError:  # undecodable bytes (surrogates): compat32's way
                pass
        return super().fold_binary(name, value)

    def _fold_words(self, name: str, value: str) -> str:
        lines, line = [], f"{name}:"
        for word in _FOLDING_SPACE.split(value.strip()):
            if len(line) + 1 + len(word) > self.max_line_length and line != f"{name}:":
                lines.append(line)
                line = ""
            line = f"{line} {word}"
        return self.linesep.join([*lines, line]) + self.linesep


_UTF8_ADDRESSES = _UTF8AddressesPolicy()


class SMTPUTF8EmailBackend(EmailBackend):
    """django.core.mail.backends.smtp.EmailBackend, sending a message whose envelope or address
    headers have a non-ASCII local part with SMTPUTF8 when the server offers it."""

    def _send(self, email_message):
        recipients = email_message.recipients()
        if not recipients or not self._international(email_message):
            return super()._send(email_message)
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        try:
            self.connection.ehlo_or_helo_if_needed()
            if self.connection.has_extn("smtputf8"):
                self._send_smtputf8(email_message, recipients, encoding)
                return True
            unreachable = self._unreachable(email_message, recipients)
            # The others get the message as Django sends it: an international address in its
            # To or Cc is an RFC 2047 word there, all a message without SMTPUTF8 can hold.
            self.connection.sendmail(
                sanitize_address(email_message.from_email, encoding),
                [sanitize_address(address, encoding) for address in recipients if address not in unreachable],
                email_message.message().as_bytes(linesep="\r\n"),
            )
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        if unreachable:
            logger.warning("Not sent to %s: the SMTP server does not offer SMTPUTF8", ", ".join(unreachable))
        return True

    @staticmethod
    def _international(email_message) -> bool:
        envelope = [email_message.from_email, *email_message.recipients()]
        return any(is_international(value) for value in envelope) or any(
            is_international(value) for _name, value in _address_headers(email_message) if value
        )

    def _unreachable(self, email_message, recipients: list[str]) -> list[str]:
        """The recipients this server cannot take (international ones, without SMTPUTF8); raises
        as a server refusing them would when that is all of them, or the sender."""
        if is_international(email_message.from_email):
            reason = _("The outgoing mail server does not accept international addresses (SMTPUTF8): "
                       "it cannot send from %(address)s.") % {"address": email_message.from_email}
            raise smtplib.SMTPSenderRefused(REFUSED_CODE, f"5.6.7 {reason}".encode(), email_message.from_email)
        unreachable = [address for address in recipients if is_international(address)]
        if len(unreachable) == len(recipients):
            raise smtplib.SMTPRecipientsRefused({address: (REFUSED_CODE, self._refusal(address)) for address in unreachable})
        return unreachable

    @staticmethod
    def _refusal(address: str) -> bytes:
        reason = _("The outgoing mail server does not accept international addresses (SMTPUTF8): "
                   "it cannot send to %(address)s.") % {"address": address}
        return f"5.6.7 {reason}".encode()

    def _send_smtputf8(self, email_message, recipients: list[str], encoding: str) -> None:
        message = email_message.message()
        for name, value in _address_headers(email_message):
            if value and name in message and is_international(value):
                # replace_header, not message[name] =: Django's __setitem__ would encode it again.
                addresses = [_header_address(display, address, encoding) for display, address in _mailboxes(value)]
                message.replace_header(name, ", ".join(addresses))
        data = BytesIO()
        BytesGenerator(data, mangle_from_=False, policy=_UTF8_ADDRESSES).flatten(message, linesep="\r\n")
        options = ["SMTPUTF8", *(["BODY=8BITMIME"] if self.connection.has_extn("8bitmime") else [])]
        self.connection.sendmail(
            _envelope_address(email_message.from_email, encoding),
            [_envelope_address(address, encoding) for address in recipients],
            data.getvalue(),
            mail_options=options,
        )
