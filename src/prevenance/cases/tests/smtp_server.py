"""A small SMTP server run in the test, over real sockets, for Django's SMTP backend.

It speaks the subset smtplib uses without TLS or login (EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT), keeps what it was given in memory, counts the connections made to it, and can
be told to refuse some recipients at RCPT, as a server not knowing an address does, to refuse
others for now (greylisting), or to drop the connection once it has read a message for some.
Told to (smtp_server(smtputf8=True)), it offers SMTPUTF8 and 8BITMIME, reads its commands as
UTF-8 and keeps the MAIL parameters of each message (RFC 6531).
"""

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_ADDRESS_RE = re.compile(r"<([^>]*)>")


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    data: bytes
    options: list[str] = field(default_factory=list)  # the MAIL parameters (SMTPUTF8, BODY=8BITMIME)


@dataclass
class Mailbox:
    refused: set[str] = field(default_factory=set)  # answered 550 at RCPT
    greylisted: set[str] = field(default_factory=set)  # answered 450 at RCPT
    hangs_up_on: set[str] = field(default_factory=set)  # the connection drops once their message is read
    smtputf8: bool = False  # offers SMTPUTF8 (and 8BITMIME), reads commands as UTF-8
    connections: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        box: Mailbox = self.server.mailbox
        with box.lock:
            box.connections += 1
        self.reply("220 mx.prevenance.test ESMTP")
        sender, recipients, options = None, [], []
        while line := self.rfile.readline():
            command = line.decode("utf-8" if box.smtputf8 else "ascii", "replace").strip()
            verb = command[:4].upper()
            found = _ADDRESS_RE.search(command)
            address = found.group(1).lower() if found else ""
            if verb == "EHLO" and box.smtputf8:
                for extension in ("mx.prevenance.test", "8BITMIME"):
                    self.reply(f"250-{extension}")
                self.reply("250 SMTPUTF8")
            elif verb in ("EHLO", "HELO"):
                self.reply("250 mx.prevenance.test")
            elif verb == "MAIL":
                sender, recipients, options = address, [], command[found.end():].split() if found else []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT" and sender is None:
                self.reply("503 5.5.1 MAIL first")
            elif verb == "RCPT" and address in box.refused:
                self.reply(f"550 5.1.1 <{address}>: Recipient address rejected: User unknown")
            elif verb == "RCPT" and address in box.greylisted:
                self.reply(f"450 4.2.0 <{address}>: Recipient address rejected: Greylisted, try again later")
            elif verb == "RCPT":
                recipients.append(address)
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA" and not recipients:
                self.reply("554 5.5.1 No valid recipients")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                if set(recipients) & box.hangs_up_on:
                    return  # gone without an answer
                with box.lock:
                    box.delivered.append(Delivered(sender, recipients, data, options))
                sender, recipients = None, []
                self.reply("250 2.0.0 Ok: queued")
            elif verb == "RSET":
                sender, recipients = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Command not recognized")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def smtp_server(settings, *, smtputf8: bool = False, backend: str = "django.core.mail.backends.smtp.EmailBackend") -> Iterator[Mailbox]:
    """Run the server on a free port of 127.0.0.1 and point Django's SMTP backend (or `backend`) at it."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mailbox = Mailbox(smtputf8=smtputf8)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = backend
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server.mailbox
    finally:
        server.shutdown()
        server.server_close()
