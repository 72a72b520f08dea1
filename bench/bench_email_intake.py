"""Throughput of ingest_email: raw RFC 822 bytes in, message stored on its case.

    .venv/bin/python bench/bench_email_intake.py                  # a fresh SQLite file in var/bench/
    .venv/bin/python bench/bench_email_intake.py --database-url postgres://postgres@127.0.0.1:5432/prevenance_bench

One process, one message after the other, each through the whole service: parse, look for
the thread, resolve the customer (new ones), open the case (triage: priority and routing,
SLA due times, webhook event) or add the reply, write the timeline interaction, keep the raw
message through Django's storage (a temporary MEDIA_ROOT), and for a new case store the
acknowledgement in the email outbox, for the worker's sweep to send (the default templates
are installed first; a temporary var folder, which no worker reads). Half
the messages are first messages from new senders (a new customer and a new case each), half
are replies threaded by In-Reply-To.

The machine is shared: besides the wall-clock rate, the CPU time of this process is printed
(messages per CPU-second), which other processes disturb much less.
"""

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from benchdb import django_on

ROOT = Path(__file__).resolve().parent.parent

BODY = (
    "Bonjour,\r\n\r\nJ'ai commandé le 12 novembre une lampe de bureau (commande n° {n}) et je n'ai "
    "toujours rien reçu.\r\nLe suivi indique « en cours d'acheminement » depuis dix jours.\r\n"
    "Pouvez-vous me dire où en est ma commande ?\r\n\r\nMerci d'avance,\r\nClaire\r\n"
)


def message(*, sender: str, name: str, message_id: str, subject: str, n: int, in_reply_to: str = "") -> bytes:
    threading = f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n" if in_reply_to else ""
    return (
        f"Return-Path: <{sender}>\r\nFrom: {name} <{sender}>\r\nTo: Service client <service.client@boutique-lumiere.fr>\r\n"
        f"Subject: =?UTF-8?Q?{subject}?=\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n"
        f"{threading}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + BODY.format(n=n)
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--messages", type=int, default=4_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-email-var-") as var:
        # The embedded broker's folder (var/celery/): tasks the intake queues must not wait
        # for the next worker of this checkout.
        os.environ["PREVENANCE_VAR_DIR"] = var
        with django_on(args.database_url, "email-intake"):
            measure(args)


def measure(args) -> None:
    from django.conf import settings

    with tempfile.TemporaryDirectory(prefix="bench-email-media-") as media:
        settings.MEDIA_ROOT = media  # before the storage is first used
        ingest_all(args)


def ingest_all(args) -> None:
    from django.db import connection

    from prevenance.cases.models import Case
    from prevenance.cases.services import ensure_default_templates, ingest_email
    from prevenance.cases.services.email_intake import Outcome

    ensure_default_templates()
    run = uuid.uuid4().hex[:10]  # every run new senders and ids, so a shared database stays usable
    half = args.messages // 2
    firsts = [
        message(sender=f"client{n}.{run}@exemple.fr", name="Claire Martin", message_id=f"first-{n}.{run}@exemple.fr",
                subject="Commande_n=C2=B0_48213_jamais_re=C3=A7ue", n=n)
        for n in range(half)
    ]
    replies = [
        message(sender=f"client{n}.{run}@exemple.fr", name="Claire Martin", message_id=f"reply-{n}.{run}@exemple.fr",
                subject="Re:_Commande_jamais_re=C3=A7ue", n=n, in_reply_to=f"first-{n}.{run}@exemple.fr")
        for n in range(half)
    ]
    for n in range(50):  # warm-up: imports, caches, the connection
        ingest_email(raw=message(sender=f"warm{n}.{run}@exemple.fr", name="W U", message_id=f"warm-{n}.{run}@x", subject="w", n=n))

    started, cpu_started = time.perf_counter(), time.process_time()
    outcomes = [ingest_email(raw=raw).outcome for raw in firsts]
    first_elapsed = time.perf_counter() - started
    outcomes += [ingest_email(raw=raw).outcome for raw in replies]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    vendor = connection.vendor
    expected = [Outcome.CREATED] * half + [Outcome.APPENDED] * half
    if outcomes != expected:
        raise SystemExit("unexpected outcomes: " + ", ".join(sorted(set(outcomes) - {Outcome.CREATED, Outcome.APPENDED})))
    reply_elapsed = elapsed - first_elapsed
    acknowledged = Case.objects.filter(acknowledged_at__isnull=False).count()
    print(f"acknowledgements stored, in the outbox: {acknowledged} of {Case.objects.count()} cases")
    print(f"{vendor}: {2 * half} messages in {elapsed:.2f} s = {2 * half / elapsed:,.0f} messages/s "
          f"(new cases {half / first_elapsed:,.0f}/s, threaded replies {half / reply_elapsed:,.0f}/s); "
          f"this process used {cpu:.2f} s of CPU = {2 * half / cpu:,.0f} messages per CPU-second")


if __name__ == "__main__":
    main()
