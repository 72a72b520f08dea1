"""django-helpdesk's side of bench/bench_helpdesk.py; runs in var/bench/helpdesk-venv.

    HELPDESK_BENCH_DB=/path/file.sqlite3 var/bench/helpdesk-venv/bin/python bench/helpdesk/peer_worker.py RUN_ID

Three ways of creating a ticket, all helpdesk's own code:
- "models": what every intake of helpdesk writes at the least: Ticket.objects.create and
  its first FollowUp (the comment and the Message-ID), autocommit as helpdesk runs.
- "email": helpdesk.email.extract_email_metadata(raw, queue, logger), the function its mail
  poller (process_queue) calls for each message: parse, look for a ticket to thread on, create
  the ticket and the follow-up, the CCs, the acknowledgement email to the submitter (rendered
  from helpdesk's templates, sent to memory here), backlinks and signals.
"""

import logging
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.email import extract_email_metadata  # noqa: E402
from helpdesk.forms import PublicTicketForm  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402
from protocol import BODY, MAILBOX, SUBJECT, raw_message, sender, serve  # noqa: E402

RUN = sys.argv[1]
SENT = {"acknowledgements": 0}
LOGGER = logging.getLogger("helpdesk.bench")

call_command("migrate", verbosity=0, interactive=False)
QUEUE, _ = Queue.objects.get_or_create(
    slug="sav", defaults={"title": "Service client", "email_address": MAILBOX, "allow_email_submission": True,
                          "allow_public_submission": True}
)


def create_models(start: int, count: int) -> None:
    for n in range(start, start + count):
        address, _name = sender(n, RUN)
        ticket = Ticket.objects.create(
            title=SUBJECT.format(n=n), queue=QUEUE, submitter_email=address, created=timezone.now(),
            description=BODY.format(n=n), priority=3,
        )
        FollowUp.objects.create(
            ticket=ticket, title=f"E-Mail Received from {address}", date=timezone.now(), public=True,
            comment=BODY.format(n=n), message_id=f"<first-{n}.{RUN}@exemple.fr>",
        )


def create_from_email(start: int, count: int) -> None:
    for n in range(start, start + count):
        # process_queue hands helpdesk the message decoded to text.
        ticket = extract_email_metadata(raw_message(n, RUN).decode("utf-8"), QUEUE, LOGGER)
        if ticket is None:
            raise SystemExit(f"helpdesk created no ticket for message {n}")
    outbox = getattr(mail, "outbox", [])  # the acknowledgements, kept in memory by the locmem backend
    SENT["acknowledgements"] += len(outbox)
    outbox.clear()


def create_from_form(start: int, count: int) -> None:
    for n in range(start, start + count):
        address, _name = sender(n, RUN)
        form = PublicTicketForm(data={
            "queue": str(QUEUE.pk), "title": SUBJECT.format(n=n), "body": BODY.format(n=n), "priority": "3",
            "submitter_email": address,
        })
        if not form.is_valid():
            raise SystemExit(f"helpdesk refused form {n}: {form.errors.as_json()}")
        form.save(user=None)
    outbox = getattr(mail, "outbox", [])
    SENT["acknowledgements"] += len(outbox)
    outbox.clear()


def finish() -> dict:
    return {"items": Ticket.objects.count(), "followups": FollowUp.objects.count(), **SENT, "django": django.get_version()}


serve({"models": create_models, "email": create_from_email, "form": create_from_form}, finish)
