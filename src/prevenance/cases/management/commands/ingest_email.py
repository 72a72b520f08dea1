import sys

from django.core.exceptions import SuspiciousOperation, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DataError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prevenance.cases.choices import SuspensionReason
from prevenance.cases.mail.problems import BOUNCE_MISMATCH, BOUNCE_NOT_OURS, BOUNCE_UNMARKED
from prevenance.cases.services import ingest_email
from prevenance.cases.services.email_intake import IntakeResult, Outcome, database_reason

LABELS = {
    Outcome.CREATED: gettext_lazy("created %(reference)s"),
    Outcome.APPENDED: gettext_lazy("appended to %(reference)s"),
    Outcome.FOLLOW_UP: gettext_lazy("follow-up case %(reference)s opened"),
    Outcome.DUPLICATE: gettext_lazy("duplicate of a stored message (%(reference)s)"),
    Outcome.AUTOMATIC_ON_CASE: gettext_lazy("%(automatic)s stored on %(reference)s, not answered"),
    Outcome.AUTOMATIC_ON_TIMELINE: gettext_lazy("%(automatic)s stored on the customer's timeline, not answered"),
    Outcome.AUTOMATIC_IGNORED: gettext_lazy("%(automatic)s from an unknown sender, not stored"),
    Outcome.SUSPENDED: gettext_lazy("kept aside for review (suspended messages): %(reason)s"),
}
AUTOMATIC = {"auto_reply": gettext_lazy("auto-reply"), "bounce": gettext_lazy("bounce"), "": gettext_lazy("message")}
# Why a bounce changed none of the addresses it names, by the problem stored with it.
NOT_APPLIED = {
    BOUNCE_NOT_OURS: gettext_lazy("it returns no email we sent"),
    BOUNCE_UNMARKED: gettext_lazy("the email of ours it returns has no delivery mark"),
    BOUNCE_MISMATCH: gettext_lazy("its delivery mark is not theirs (made for another recipient, or altered)"),
}


def describe(result: IntakeResult) -> str:
    reference = result.case.reference if result.case is not None else "-"
    reason = SuspensionReason(result.reason).label if result.reason else ""
    line = LABELS[result.outcome] % {"reference": reference, "automatic": AUTOMATIC[result.automatic], "reason": reason}
    if result.refused_reference:
        line += " " + _("(subject reference %(reference)s refused: not this sender's case)") % {"reference": result.refused_reference}
    if result.bounced:
        line += " " + _("(undeliverable from now on: %(addresses)s)") % {"addresses": ", ".join(result.bounced)}
    for problem in result.problems:
        if problem.code in NOT_APPLIED:
            line += " " + _("(failure not applied to %(addresses)s: %(reason)s)") % {
                "addresses": problem.detail, "reason": NOT_APPLIED[problem.code]}
    return line


class Command(BaseCommand):
    help = "Ingest raw RFC 822 email messages from files (or - for standard input), one line of outcome per file."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--mailbox", default="", help="The address the messages were delivered to.")
        parser.add_argument(
            "--keep-dates", action="store_true",
            help="Date each message by its Date header (when readable, not in the future and not before 1990) instead of now: for replays and migrations.",
        )
        parser.add_argument(
            "--no-acknowledge", action="store_true",
            help="Queue no acknowledgement for the cases these messages open: for replays and migrations of old mail.",
        )

    def handle(self, *args, files: list[str], mailbox: str, keep_dates: bool = False, no_acknowledge: bool = False, **options):
        intake = {"mailbox": mailbox, "keep_date": keep_dates, "acknowledge": not no_acknowledge}
        unreadable = 0
        for name in files:
            try:
                raw = self._read(name, options.get("stdin"))
            except OSError as exc:
                unreadable += 1
                self.stderr.write(_("%(file)s: cannot be read (%(reason)s)") % {"file": name, "reason": exc.strerror or exc})
                continue
            try:
                line = describe(ingest_email(raw=raw, **intake))
            except ValidationError as exc:
                line = _("refused: %(reasons)s") % {"reasons": "; ".join(exc.messages)}
            except SuspiciousOperation as exc:  # about this message, not the database: go on with the next file
                line = _("refused: %(reasons)s") % {"reasons": exc}
            except DataError as exc:
                # A value of this message the database cannot hold (its transaction rolled back
                # whole): refused, and the next files go on. The database being down
                # (OperationalError) stops the command.
                line = _("refused: the database could not store it: %(reason)s") % {"reason": database_reason(exc)}
            self.stdout.write(f"{name}: {line}")
        if unreadable:
            raise CommandError(_("%(count)d file(s) could not be read.") % {"count": unreadable})

    @staticmethod
    def _read(name: str, stdin) -> bytes:
        if name == "-":
            return (stdin or sys.stdin.buffer).read()
        with open(name, "rb") as handle:
            return handle.read()
