"""Mail servers that refuse, for the tests of what a failed send leaves behind.

`RefusingBackend` (the `refusing_mail` fixture of the root conftest) answers chosen
recipients with an SMTP refusal; `make_smtp_unreachable` points Django's real SMTP backend at
a port nothing listens on, so the send fails as it does in production with the server down.
"""

import smtplib
from typing import ClassVar

from django.core.mail.backends import locmem

# What a server says with a code alone in `RefusingBackend.rejected`: a 4xx is "for now",
# a 5xx for good.
TRY_LATER = b"4.7.1 Try again later"
REJECTED = b"Message rejected"


class RefusingBackend(locmem.EmailBackend):
    """The test outbox (mail.outbox), with a server that refuses some recipients, however often
    a copy is sent to them. Set before sending (addresses, each copy has one recipient):

    - `refused`: refused at RCPT TO (550 5.1.1 User unknown);
    - `rejected`: {address: SMTP code, or (code, text)}: the message itself is refused (DATA);
    - `drops`: the connection drops once when a copy goes to the address.

    `tried` lists the recipient of every copy sent, taken or not. A batch is sent whole or not
    at all: its first refusal raises before any copy of it is put in the outbox."""

    refused: ClassVar[set[str]] = set()
    rejected: ClassVar[dict[str, int | tuple[int, bytes]]] = {}
    drops: ClassVar[set[str]] = set()
    tried: ClassVar[list[str]] = []

    @classmethod
    def reset(cls) -> None:
        cls.refused, cls.rejected, cls.drops, cls.tried = set(), {}, set(), []

    def send_messages(self, messages):
        for message in messages:
            [recipient] = message.recipients()
            self.tried.append(recipient)
            if recipient in self.refused:
                raise smtplib.SMTPRecipientsRefused({recipient: (550, b"5.1.1 User unknown")})
            if recipient in self.rejected:
                answer = self.rejected[recipient]
                code, text = answer if isinstance(answer, tuple) else (answer, TRY_LATER if answer < 500 else REJECTED)
                raise smtplib.SMTPDataError(code, text)
            if recipient in self.drops:
                self.drops.discard(recipient)
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


# Django's real SMTP backend, aimed at a port nothing listens on.
UNREACHABLE_SMTP = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "127.0.0.1",
    "EMAIL_PORT": 1,
    "EMAIL_TIMEOUT": 5,
}


def make_smtp_unreachable(settings) -> None:
    """From now on in the test (pytest-django's `settings`), every send fails to connect."""
    for name, value in UNREACHABLE_SMTP.items():
        setattr(settings, name, value)
