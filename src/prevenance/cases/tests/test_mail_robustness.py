"""Bad input: parse_message never raises on bytes, keeps what the customer sent and says what was wrong."""

import base64
from datetime import UTC, datetime

import pytest

from prevenance.cases.mail import MailAddress, ParseProblem, parse, parse_message, sanitize
from prevenance.cases.mail.headers import case_reference, decode_header_text, message_ids


def message(headers: str, body: bytes = b"Bonjour\n", extra: bytes = b"") -> bytes:
    return headers.strip().encode("ascii").replace(b"\n", b"\r\n") + b"\r\n" + extra + b"\r\n" + body


def with_attachment(size: int) -> bytes:
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    encoded = base64.encodebytes(data)
    return (
        b"Message-ID: <big@example.com>\nFrom: a@example.com\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nVoir la piece jointe.\n'
        b'--b\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n'
        b'Content-Disposition: attachment; filename="archive.zip"\n\n' + encoded + b"--b--\n"
    )


@pytest.mark.parametrize("value", ["From: a@example.com\n\nBonjour", None, 42, ["bytes"]])
def test_anything_but_bytes_is_a_type_error(value):
    with pytest.raises(TypeError, match="parse_message expects bytes"):
        parse_message(value)


def test_bytearray_and_memoryview_read_like_bytes():
    raw = message("Message-ID: <x@example.com>\nFrom: a@example.com")

    assert parse_message(bytearray(raw)) == parse_message(raw)
    assert parse_message(memoryview(raw)) == parse_message(raw)


def test_empty_input_is_reported_not_raised():
    result = parse_message(b"")

    assert result.text == ""
    assert result.synthetic_id is True
    assert result.from_ is None
    assert result.parse_errors == (
        ParseProblem("empty_message"),
        ParseProblem("missing_message_id"),
        ParseProblem("missing_from"),
    )


def test_binary_garbage_keeps_its_text_and_flags_the_charset():
    result = parse_message(b"\x00\xff\xfe garbage \x81\x8d")

    assert result.text == "\x00ÿþ garbage \ufffd\ufffd"
    assert result.charset_problems is True
    assert ParseProblem("mime_defect", "MissingHeaderBodySeparatorDefect") in result.parse_errors


def test_internal_failure_still_returns_the_raw_text(monkeypatch):
    # Fault injection: no input known today breaks the standard parser, and the promise must hold
    # the day one does.
    class Exploding:
        def parsebytes(self, raw):
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parse, "_PARSER", Exploding())
    raw = b"From: a@example.com\r\n\r\nMa commande est arriv\xc3\xa9e cass\xc3\xa9e."

    result = parse_message(raw)

    assert result.text == "From: a@example.com\n\nMa commande est arrivée cassée."
    assert result.parse_errors == (ParseProblem("unparseable", "RecursionError"),)
    assert result.synthetic_id is True


def test_attachment_above_the_limit_is_listed_without_its_bytes():
    result = parse_message(with_attachment(5000), max_attachment_bytes=4999)

    (listed,) = result.attachments
    assert (listed.filename, listed.size, listed.too_large, listed.content) == ("archive.zip", 5000, True, b"")
    assert result.text == "Voir la piece jointe."
    assert result.parse_errors == (ParseProblem("attachment_too_large", "archive.zip"),)


def test_attachment_at_the_limit_is_kept_whole():
    result = parse_message(with_attachment(5000), max_attachment_bytes=5000)

    (kept,) = result.attachments
    assert (kept.size, kept.too_large, len(kept.content)) == (5000, False, 5000)
    assert kept.content[:3] == b"\x00\x01\x02"
    assert result.parse_errors == ()


def test_rfc2231_continuations_and_paths_in_filenames():
    raw = message(
        "Message-ID: <f@example.com>\nFrom: a@example.com\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\nCi-joint.\r\n--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*0*=utf-8''bon%20de%20r%C3%A9;\r\n"
        b" filename*1*=ception.pdf\r\n\r\n%PDF\r\n--b\r\nContent-Type: text/plain\r\n"
        b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\nroot\r\n--b\r\n'
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=x-klingon''%E9t%E9.bin\r\n\r\nxx\r\n--b--\r\n",
    )

    result = parse_message(raw)

    assert [item.filename for item in result.attachments] == ["bon de réception.pdf", "passwd", "\ufffdt\ufffd.bin"]
    assert result.text == "Ci-joint."
    assert result.charset_problems is True


def test_raw_latin1_bytes_in_subject_are_decoded_and_flagged():
    raw = message("Message-ID: <s@example.com>\nFrom: a@example.com", extra=b"Subject: Re\xe7u cass\xe9\r\n")

    result = parse_message(raw)

    assert result.subject == "Reçu cassé"
    assert result.charset_problems is True


def test_invalid_date_and_unknown_time_zone():
    invalid = parse_message(message("From: a@example.com\nDate: le 32 novembre vers midi"))
    unknown_zone = parse_message(message("From: a@example.com\nDate: Mon, 23 Nov 2026 10:00:00 -0000"))

    assert invalid.date is None
    assert ParseProblem("invalid_date", "le 32 novembre vers midi") in invalid.parse_errors
    assert unknown_zone.date == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_invalid_sender_and_recipients_are_reported_and_skipped():
    result = parse_message(message("From: Jean sans adresse\nTo: ok@example.com, pas une adresse, <@>"))

    assert result.from_ is None
    assert result.to == (MailAddress("", "ok@example.com"),)
    assert ParseProblem("missing_from") in result.parse_errors
    assert [item.code for item in result.parse_errors].count("invalid_address") >= 2


def test_undecodable_base64_part_is_kept():
    raw = message(
        "Message-ID: <b64@example.com>\nFrom: a@example.com\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
        b"Qm9uam91ciw gbWEgY29t!!!bWFuZGU=\r\n",
    )

    result = parse_message(raw)

    assert result.text.startswith("Bonjour,")
    assert any(item.code == "mime_defect" for item in result.parse_errors)


def test_several_text_parts_are_all_kept_and_a_second_html_becomes_an_attachment():
    raw = message(
        "Message-ID: <multi@example.com>\nFrom: a@example.com\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\nPremier paragraphe.\r\n--b\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Un</p>\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: inline\r\n\r\nSecond.\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>Deux</p>\r\n--b--\r\n",
    )

    result = parse_message(raw)

    assert result.text == "Premier paragraphe.\n\nSecond."
    assert result.html == "<p>Un</p>"
    assert [(item.filename, item.content) for item in result.attachments] == [("part-1.html", b"<p>Deux</p>")]


def test_message_ids_are_normalised():
    # The local part is case-sensitive (RFC 5322); only the domain is folded.
    assert message_ids(" <ABC.123@Mail.Example.COM> <ABC.123@mail.example.com>\r\n <abc.123@X.FR>") == [
        "ABC.123@mail.example.com",
        "abc.123@x.fr",
    ]
    assert message_ids("no brackets@Example.ORG") == ["brackets@example.org"]
    assert message_ids("") == []
    result = parse_message(message("Message-ID: Bare.Id@Host.Example\nFrom: a@example.com"))
    assert (result.message_id, result.synthetic_id) == ("Bare.Id@host.example", False)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[C-2026-000123] Nous avons bien reçu votre demande", "C-2026-000123"),
        ("Re: Fwd: suivi du dossier C-2026-000123 svp", "C-2026-000123"),
        ("RE: dossier c-2026-000042", "C-2026-000042"),
        ("(C-2027-999999)", "C-2027-999999"),
        ("C-2026-0001234 trop long", None),
        ("XC-2026-000123 collé", None),
        ("C-26-000123 année courte", None),
        ("Commande 2026-000123", None),
        ("", None),
    ],
)
def test_case_reference_in_subject(subject, expected):
    assert case_reference(subject) == expected


def test_encoded_words_adjacent_split_and_broken():
    assert decode_header_text("=?utf-8?q?Caf=C3?= =?UTF-8?q?=A9?=") == ("Café", False)
    assert decode_header_text("=?utf-8?b?w4k=?=\r\n =?utf-8?b?dMOp?= chaud") == ("Été chaud", False)
    assert decode_header_text("=?iso-8859-1?q?cr=E8me?= et =?windows-1252?q?=80?=") == ("crème et €", False)
    assert decode_header_text("=?utf-8?b?***?=") == ("=?utf-8?b?***?=", True)
    assert decode_header_text(None) == ("", False)


@pytest.mark.parametrize(
    ("headers", "reasons"),
    [
        ("Auto-Submitted: auto-generated; owner=x", ("auto-submitted:auto-generated",)),
        ("Auto-Submitted: no", ()),
        ("X-Autoreply: yes", ("x-autoreply",)),
        ("X-Autorespond: Vacation", ("x-autorespond",)),
        ("Precedence: junk", ("precedence:junk",)),
        ("Precedence: first-class", ()),
        ("List-Id: <clients.lumiere.example>", ("list-id",)),
        ("Subject: Out of Office: votre demande", ()),
        ("Subject: Out of Office: votre demande\nX-Vacation: yes", ("subject",)),
        ('Content-Type: multipart/report; report-type=disposition-notification; boundary="r"', ("read-receipt",)),
    ],
)
def test_auto_reply_headers(headers, reasons):
    result = parse_message(message(f"Message-ID: <a@example.com>\nFrom: a@example.com\n{headers}"))

    assert result.auto_reply_reasons == reasons
    assert result.is_auto_reply is bool(reasons)
    assert result.is_bounce is False


@pytest.mark.parametrize(
    ("headers", "reasons"),
    [
        ("From: postmaster@mx.example.com", ("daemon-sender",)),
        ("From: a@example.com\nReturn-Path: <>", ("null-return-path",)),
        ("From: a@example.com\nX-Failed-Recipients: gone@example.com", ("x-failed-recipients",)),
        ("From: postmaster.client@example.com\nReturn-Path: <b@example.com>", ()),
    ],
)
def test_bounce_headers(headers, reasons):
    result = parse_message(message(f"Message-ID: <b@example.com>\n{headers}"))

    assert result.bounce_reasons == reasons
    assert result.is_bounce is bool(reasons)


def test_problems_carry_a_label_for_people():
    result = parse_message(b"")

    assert [problem.label for problem in result.parse_errors] == [
        "The message is empty.",
        "The message has no Message-ID; one was derived from its content.",
        "The message has no sender address.",
    ]


def test_html_nested_too_deep_to_sanitise_in_time_keeps_its_text_and_is_flagged():
    # 40,000 nested <dl><dd> (320 KB): the sanitiser's parser took about 18 s on it (square of the depth)
    html = b"<dl><dd>" * 40_000 + b"Mon colis est arriv\xc3\xa9 ab\xc3\xaem\xc3\xa9."
    raw = message("Message-ID: <deep-html@example.com>\nFrom: a@example.com\nContent-Type: text/html; charset=utf-8", html)
    parsed = parse_message(raw)
    assert (parsed.html, parsed.text) == ("", "Mon colis est arrivé abîmé.")
    assert ParseProblem("html_too_deep") in parsed.parse_errors


@pytest.mark.parametrize(
    ("html", "too_deep"),
    [
        ("<blockquote><div>" * 300 + "réponse" + "</div></blockquote>" * 300, False),  # a long quoted thread
        ("<div></div>" * 5_000 + "<p>ligne<li>point<br>" * 2_000, False),  # many elements, shallow; unclosed <p>, <li>
        ("<div></span>" * 1_001, True),  # an end tag that closes nothing does not hide the depth
    ],
)
def test_html_nesting_limit(html, too_deep):
    assert sanitize.too_deeply_nested(html) is too_deep
    assert (sanitize.sanitize_html(html) == "") is too_deep


def test_a_recipient_header_of_nested_comments_loses_only_itself():
    # Both address parsers recurse once per "(": the whole message fell back to raw text, sender lost
    raw = message("Message-ID: <parens@example.com>\nFrom: Claire <claire@example.com>\nTo: " + "(" * 5_000 + ")" * 5_000 + " sc@boutique.fr")
    parsed = parse_message(raw)
    assert (parsed.from_, parsed.to, parsed.text) == (MailAddress("Claire", "claire@example.com"), (), "Bonjour")
    assert ParseProblem("header_unreadable", "to") in parsed.parse_errors


LONG_PARAMETERS = "".join(f"; p{i}=v{i}" for i in range(20_000))  # 180 KB


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Content-Type", "text/plain; charset=utf-8" + LONG_PARAMETERS),
        ("Content-Disposition", "inline" + LONG_PARAMETERS),
        ("To", "sc@boutique.fr, " + ", ".join(f"u{i}@example.com" for i in range(12_000))),
    ],
)
def test_a_header_too_long_to_parse_is_read_from_its_beginning_and_flagged(name, value):
    # The header registry takes time in the square of a header's length: 15 s for this Content-Type
    raw = message(f"Message-ID: <long@example.com>\nFrom: Claire <claire@example.com>\n{name}: {value}", "Ma commande est arrivée cassée.".encode())
    parsed = parse_message(raw)
    assert (parsed.from_, parsed.text) == (MailAddress("Claire", "claire@example.com"), "Ma commande est arrivée cassée.")
    assert ParseProblem("header_too_long", name.lower()) in parsed.parse_errors
    assert parsed.to[:1] == ((MailAddress("", "sc@boutique.fr"),) if name == "To" else ())


def test_a_forwarded_message_with_a_too_long_header_is_kept_as_it_came():
    # Writing the forward back out refolded and re-parsed its Content-Type in full: 30 s
    forwarded = message("Message-ID: <inner@example.com>\nFrom: b@example.com\nContent-Type: text/plain" + LONG_PARAMETERS, b"Transfert")
    raw = message(
        'Message-ID: <outer@example.com>\nFrom: a@example.com\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\nVoir le message joint.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" + forwarded + b"\r\n--b--\r\n",
    )
    parsed = parse_message(raw)
    (kept,) = parsed.attachments
    assert (parsed.text, kept.content_type, kept.content) == ("Voir le message joint.", "message/rfc822", forwarded)


def test_multiparts_nested_past_the_depth_limit_are_kept_as_text_and_flagged():
    depth = 52  # parse.MAX_MULTIPART_DEPTH + 2
    body = b"".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{i + 1}\"\r\n\r\n".encode() for i in range(1, depth))
    body += f"--b{depth}\r\nContent-Type: text/plain\r\n\r\nTout au fond.\r\n".encode()
    body += b"".join(f"--b{i}--\r\n".encode() for i in range(depth, 0, -1))
    raw = message('Message-ID: <deep-mime@example.com>\nFrom: a@example.com\nContent-Type: multipart/mixed; boundary="b1"', body)
    parsed = parse_message(raw)
    assert "Tout au fond." in parsed.text
    assert ParseProblem("mime_too_deep") in parsed.parse_errors
