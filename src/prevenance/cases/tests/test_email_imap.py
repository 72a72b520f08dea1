"""`prevenance poll-imap` against a small IMAP4rev1 server run in the test, over real sockets.

The server speaks the subset imaplib uses here (CAPABILITY, LOGIN, SELECT, UID SEARCH / FETCH /
STORE, LOGOUT), keeps its messages in memory, and can be told to fail a STORE, as a server
dropping the connection between our commit and our flag would. It records which messages
were downloaded (BODY.PEEK[]), apart from the sizes asked first (RFC822.SIZE).
"""

import io
import re
import socketserver
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, OperationalError
from django.utils import timezone

from prevenance.cases.models import Attachment, Message, SuspendedMessage
from prevenance.cases.services import imap_poll
from prevenance.cases.services.imap_poll import REFUSED_FLAG

USER, PASSWORD = "service.client", "s3cret"


def ref(n: int) -> str:
    return f"C-{timezone.localdate().year}-{n:06d}"


class Mailbox:
    def __init__(self):
        self.messages: list[dict] = []  # {"uid", "raw", "flags"}
        self.fail_store = 0
        self.permanent_flags = ""  # e.g. "\\Seen \\Flagged": sent in SELECT's PERMANENTFLAGS; others are not kept
        self.downloaded: list[int] = []  # uids whose BODY[] was sent
        self.lock = threading.Lock()

    def add(self, raw: bytes, *flags: str) -> int:
        uid = len(self.messages) + 101
        self.messages.append({"uid": uid, "raw": raw, "flags": set(flags)})
        return uid

    def flags(self, uid: int) -> set[str]:
        return next(m["flags"] for m in self.messages if m["uid"] == uid)


class Handler(socketserver.StreamRequestHandler):
    def send(self, line: str | bytes) -> None:
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def handle(self):
        box: Mailbox = self.server.mailbox
        self.send("* OK IMAP4rev1 test server ready")
        while line := self.rfile.readline():
            tag, _sp, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _sp, args = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1")
                self.send(f"{tag} OK done")
            elif command == "LOGIN":
                user, password = [part.strip('"') for part in args.split(" ", 1)]
                self.send(f"{tag} OK logged in" if (user, password) == (USER, PASSWORD) else f"{tag} NO [AUTHENTICATIONFAILED] bad login")
            elif command == "SELECT":
                if args.strip('"') != "INBOX":
                    self.send(f"{tag} NO no such folder")
                    continue
                self.send(f"* {len(box.messages)} EXISTS")
                if box.permanent_flags:
                    self.send(f"* OK [PERMANENTFLAGS ({box.permanent_flags})] Limited")
                self.send(f"{tag} OK [READ-WRITE] selected")
            elif command == "UID":
                self.uid(tag, args, box)
            elif command == "LOGOUT":
                self.send("* BYE")
                self.send(f"{tag} OK bye")
                return
            else:
                self.send(f"{tag} BAD unknown command")

    def uid(self, tag: str, args: str, box: Mailbox) -> None:
        verb, _sp, rest = args.partition(" ")
        with box.lock:
            if verb.upper() == "SEARCH":
                keyword = re.search(r"UNKEYWORD (\S+)", rest)
                found = [str(m["uid"]) for m in box.messages
                         if "\\Seen" not in m["flags"] and (keyword is None or keyword.group(1) not in m["flags"])]
                self.send("* SEARCH " + " ".join(found))
            elif verb.upper() == "FETCH":
                uid_set, _sp, items = rest.partition(" ")
                wanted = {int(uid) for uid in uid_set.split(",")}
                for seq, message in enumerate(box.messages, 1):
                    if message["uid"] not in wanted:
                        continue
                    if items == "(RFC822.SIZE)":
                        self.send(f"* {seq} FETCH (RFC822.SIZE {len(message['raw'])} UID {message['uid']})")
                        continue
                    assert items == "(BODY.PEEK[])"  # fetching must not mark it read
                    box.downloaded.append(message["uid"])
                    self.wfile.write(f"* {seq} FETCH (UID {message['uid']} BODY[] {{{len(message['raw'])}}}\r\n".encode()
                                     + message["raw"] + b")\r\n")
            elif verb.upper() == "STORE":
                if box.fail_store:
                    box.fail_store -= 1
                    self.send(f"{tag} NO [UNAVAILABLE] try later")
                    return
                uid = int(rest.split(" ")[0])
                flags = re.search(r"\((.+)\)", rest).group(1).split()
                kept = box.permanent_flags.split()
                # As RFC 3501 allows, a flag the server cannot keep is accepted for the session only.
                box.flags(uid).update(flag for flag in flags if not kept or "\\*" in kept or flag in kept)
            self.send(f"{tag} OK done")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def imap(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    server = Server(("127.0.0.1", 0), Handler)
    server.mailbox = Mailbox()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PREVENANCE_IMAP_HOST = "127.0.0.1"
    settings.PREVENANCE_IMAP_PORT = server.server_address[1]
    settings.PREVENANCE_IMAP_USER, settings.PREVENANCE_IMAP_PASSWORD = USER, PASSWORD
    yield server.mailbox
    server.shutdown()
    server.server_close()


def eml(message_id: str, sender: str = "claire@example.com", body: str = "Mon colis est arrivé abîmé.") -> bytes:
    return (f"From: {sender}\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: Colis\r\nMessage-ID: <{message_id}>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def poll(*args: str) -> str:
    out = io.StringIO()
    call_command("poll-imap", "--no-tls", "--once", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_unseen_messages_are_ingested_then_marked_read(imap):
    first = imap.add(eml("c1@example.com"))
    read_before = imap.add(eml("old@example.com"), "\\Seen")
    second = imap.add(eml("p1@example.com", sender="paul@example.com"))
    output = poll("--mailbox", "service.client@boutique-lumiere.fr")
    assert output.splitlines() == [f"uid {first}: created {ref(1)}", f"uid {second}: created {ref(2)}", "2 message(s) read, 0 refused"]
    assert "\\Seen" in imap.flags(first) and "\\Seen" in imap.flags(second)
    assert sorted(Message.objects.values_list("message_id", flat=True)) == ["c1@example.com", "p1@example.com"]
    assert set(Message.objects.values_list("mailbox", flat=True)) == {"service.client@boutique-lumiere.fr"}
    assert imap.flags(read_before) == {"\\Seen"}
    # A second pass finds nothing new
    assert poll() == ""


@pytest.mark.django_db
def test_a_failure_after_the_commit_leaves_it_unread_and_the_next_pass_finds_it_stored(imap):
    uid = imap.add(eml("c1@example.com"))
    imap.fail_store = 1  # the server refuses the \Seen flag once, as if the connection dropped
    with pytest.raises(CommandError, match=r"IMAP: flagging message \d+ failed: NO \[UNAVAILABLE\] try later"):
        poll()
    assert "\\Seen" not in imap.flags(uid)
    assert Message.objects.count() == 1  # stored: the commit came first
    # The next pass reads it again: a duplicate, stored once, now marked read
    assert poll().splitlines()[0] == f"uid {uid}: duplicate of a stored message ({ref(1)})"
    assert "\\Seen" in imap.flags(uid)
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_a_message_the_intake_refuses_stays_unread_flagged_and_is_not_retried(imap):
    huge = imap.add(eml("big@example.com", body="x" * 1_000_001))
    fine = imap.add(eml("c1@example.com"))
    output = poll()
    assert output.splitlines()[0].startswith(f"uid {huge}: refused: At most 1000000 characters")
    assert imap.flags(huge) == {REFUSED_FLAG}
    assert "\\Seen" in imap.flags(fine)
    assert poll() == ""  # not read again


@pytest.mark.django_db
def test_a_message_over_the_size_limit_is_not_downloaded_and_stays_unread_flagged(imap, settings, caplog):
    # Given the relay endpoint's limit, a message just over it and one just within it
    settings.PREVENANCE_INBOUND_EMAIL_MAX_BYTES = 4000
    def sized(message_id: str, size: int, **kwargs) -> bytes:
        return eml(message_id, body="x" * (size - len(eml(message_id, body="", **kwargs))), **kwargs)

    big = imap.add(sized("big@example.com", 4001))
    fits = imap.add(sized("fits@example.com", 4000, sender="paul@example.com"))
    assert len(imap.messages[0]["raw"]) == 4001 and len(imap.messages[1]["raw"]) == 4000
    output = poll().splitlines()
    # then the big one is never downloaded, left unread and flagged for a person, and named in the log
    assert output[0] == (f"uid {big}: refused: The message is 4001 bytes, larger than the 4000 bytes the intake takes:"
                         " not downloaded. (left unread, flagged $PrevenanceRefused)")
    assert imap.flags(big) == {REFUSED_FLAG}
    assert f"IMAP message {big} not downloaded: 4001 bytes, over the limit of 4000" in caplog.text
    # and the one within the limit is stored as before
    assert output[1] == f"uid {fits}: created {ref(1)}" and output[2] == "1 message(s) read, 1 refused"
    assert imap.downloaded == [fits]
    assert list(Message.objects.values_list("message_id", flat=True)) == ["fits@example.com"]
    # A later pass neither downloads it nor deletes it
    assert poll() == ""
    assert imap.downloaded == [fits] and len(imap.messages) == 2


@pytest.mark.django_db
def test_a_message_over_the_size_limit_on_a_server_without_keywords_is_marked_read_and_starred(imap, settings):
    settings.PREVENANCE_INBOUND_EMAIL_MAX_BYTES = 1024
    imap.permanent_flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    big = imap.add(eml("big@example.com", body="x" * 2000))
    assert poll().splitlines()[0].endswith("not downloaded. (marked read and starred: this server keeps no keywords)")
    assert imap.flags(big) == {"\\Seen", "\\Flagged"}
    assert imap.downloaded == []
    assert poll() == ""


@pytest.mark.django_db
def test_a_server_that_keeps_no_keywords_gets_a_refused_message_marked_read_and_starred(imap):
    imap.permanent_flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    huge = imap.add(eml("big@example.com", body="x" * 1_000_001))
    output = poll()
    assert output.splitlines()[0].endswith("(marked read and starred: this server keeps no keywords)")
    assert imap.flags(huge) == {"\\Seen", "\\Flagged"}
    assert poll() == ""  # not read again at every pass


@pytest.mark.django_db
def test_a_server_that_takes_new_keywords_gets_the_refusal_keyword(imap):
    imap.permanent_flags = "\\Seen \\Flagged \\*"
    huge = imap.add(eml("big@example.com", body="x" * 1_000_001))
    assert poll().splitlines()[0].endswith("(left unread, flagged $PrevenanceRefused)")
    assert imap.flags(huge) == {REFUSED_FLAG}
    assert poll() == ""


@pytest.mark.django_db
def test_a_message_the_database_refuses_is_flagged_by_the_poller_and_the_mailbox_goes_on(imap, monkeypatch):
    # Given a message whose intake the database refuses (a value it cannot hold), then a good one
    bad = imap.add(eml("bad@orange.fr"))
    good = imap.add(eml("good@orange.fr", sender="paul@example.com"))
    real = imap_poll.ingest_email

    def refusing(*, raw, **kwargs):
        if b"bad@orange.fr" in raw:
            raise DataError("value too long for type character varying(255)\nCONTEXT: ...")
        return real(raw=raw, **kwargs)

    monkeypatch.setattr(imap_poll, "ingest_email", refusing)
    output = poll().splitlines()
    # then it is refused and flagged for a person, and the next message is still read
    assert output[0] == (f"uid {bad}: refused: The database could not store it: value too long for type character varying(255)"
                         " (left unread, flagged $PrevenanceRefused)")
    assert imap.flags(bad) == {REFUSED_FLAG}
    assert "\\Seen" in imap.flags(good)
    assert list(Message.objects.values_list("message_id", flat=True)) == ["good@orange.fr"]


@pytest.mark.django_db
def test_the_database_being_down_stops_the_poller_and_leaves_the_message_unseen(imap, monkeypatch):
    uid = imap.add(eml("m@orange.fr"))

    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(imap_poll, "ingest_email", down)
    with pytest.raises(OperationalError):
        poll()
    assert imap.flags(uid) == set()


def with_attachment(message_id: str, filename_header: str) -> bytes:
    return (f"From: claire@example.com\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: Photo\r\nMessage-ID: <{message_id}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Voici la photo.\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; {filename_header}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUg==\r\n--b--\r\n").encode()


@pytest.mark.django_db
def test_attachments_named_with_nothing_a_file_name_can_keep_are_stored_all_the_same(imap):
    # An emoji, a lone "?", a broken RFC 2231 name: the storage's name would be empty, which
    # Django refuses; it once stopped the poller on that message at every pass.
    uids = [imap.add(with_attachment(f"a{n}@example.com", header))
            for n, header in enumerate(['filename="🎉"', 'filename="?"', "filename*=utf-8''%FF%FE"])]
    output = poll().splitlines()
    assert output[-1] == "3 message(s) read, 0 refused"
    assert all("\\Seen" in imap.flags(uid) for uid in uids)
    photos = Attachment.objects.exclude(filename="message.eml")
    assert photos.count() == 3 and "?" in set(photos.values_list("filename", flat=True))


@pytest.mark.django_db
def test_a_message_without_a_readable_sender_is_kept_aside_for_a_person_and_not_read_again(imap):
    nameless = imap.add(eml("n1@example.com", sender="undisclosed-recipients:;"))
    output = poll()
    assert output.splitlines()[0] == f"uid {nameless}: kept aside for review (suspended messages): No readable sender address"
    assert REFUSED_FLAG not in imap.flags(nameless)
    assert SuspendedMessage.objects.get().sender == "undisclosed-recipients:;"
    assert poll() == ""


@pytest.mark.django_db
def test_a_wrong_password_is_a_clear_error(imap):
    imap.add(eml("c1@example.com"))
    with pytest.raises(CommandError, match="IMAP: login refused for service.client on 127.0.0.1: .*bad login"):
        poll("--password", "wrong")
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_folder_is_a_clear_error(imap):
    with pytest.raises(CommandError, match="IMAP: selecting the folder 'Archives' failed: NO no such folder"):
        poll("--folder", "Archives")


@pytest.mark.django_db
def test_a_server_that_does_not_answer_is_a_clear_error(imap, settings):
    settings.PREVENANCE_IMAP_PORT = 1  # nothing listens there
    with pytest.raises(CommandError, match="IMAP: cannot connect to 127.0.0.1:1"):
        poll()


@pytest.mark.django_db
def test_missing_settings_are_named(settings):
    settings.PREVENANCE_IMAP_HOST = settings.PREVENANCE_IMAP_PASSWORD = ""
    with pytest.raises(CommandError, match="Missing IMAP settings: host, password"):
        call_command("poll-imap", "--once", "--user", "x")


@pytest.mark.django_db
def test_the_loop_reports_an_imap_error_and_goes_on(imap, settings):
    # Given a password the server refuses at first, the loop says so and tries again
    settings.PREVENANCE_IMAP_PASSWORD = "wrong"
    imap.add(eml("c1@example.com"))
    out, err = io.StringIO(), io.StringIO()
    call_command("poll-imap", "--no-tls", "--interval", "0.01", max_passes=2, stdout=out, stderr=err)
    assert err.getvalue().count("IMAP: login refused for service.client on 127.0.0.1") == 2
    assert "trying again in 0.01 s" in err.getvalue()
    assert Message.objects.count() == 0
    # and once the password is right, the next pass stores the message
    settings.PREVENANCE_IMAP_PASSWORD = PASSWORD
    call_command("poll-imap", "--no-tls", "--interval", "0.01", max_passes=1, stdout=out, stderr=err)
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_interval_and_limit_must_be_positive(imap):
    with pytest.raises(CommandError, match="--interval and --limit must be greater than zero"):
        poll("--limit", "0")
