"""`prevenance poll-imap`: read an IMAP mailbox into the email intake (docs/email-intake.md)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from prevenance.cases.management.commands.ingest_email import describe
from prevenance.cases.services.imap_poll import (
    REFUSED_FLAG,
    ImapError,
    ImapSettings,
    connect,
    disconnect,
    poll_once,
)


class Command(BaseCommand):
    help = (
        "Ingest the unseen messages of an IMAP mailbox (IMAPS by default), marking each read only once it is stored; "
        "--once for a single pass, else every --interval seconds. Settings: PREVENANCE_IMAP_HOST, _PORT, _USER, "
        "_PASSWORD, _FOLDER, _MAILBOX (options win)."
    )

    # Tests stop the loop after this many passes (call_command(..., max_passes=2)).
    stealth_options = ("max_passes",)

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None)
        parser.add_argument("--port", type=int, default=None, help="Default 993 (IMAPS), 143 with --no-tls.")
        parser.add_argument("--user", default=None)
        parser.add_argument("--password", default=None, help="Prefer PREVENANCE_IMAP_PASSWORD: a command line is visible to other users.")
        parser.add_argument("--folder", default=None, help="Default INBOX.")
        parser.add_argument("--mailbox", default=None, help="The address this mailbox receives for (replies are sent from it).")
        parser.add_argument("--no-tls", action="store_true", help="Plain IMAP (a server on this machine or a trusted network only).")
        parser.add_argument("--once", action="store_true", help="One pass, then exit (for cron); errors exit with status 1.")
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between passes (default 60).")
        parser.add_argument("--limit", type=int, default=100, help="Most messages per pass (default 100).")

    def handle(self, *args, **options):
        config = self._settings(options)
        mailbox = options["mailbox"] if options["mailbox"] is not None else settings.PREVENANCE_IMAP_MAILBOX
        if options["interval"] <= 0 or options["limit"] <= 0:
            raise CommandError(_("--interval and --limit must be greater than zero."))
        passes = 0
        while True:
            passes += 1
            try:
                self._pass(config, mailbox, options["limit"])
            except ImapError as exc:
                if options["once"]:
                    raise CommandError(_("IMAP: %(error)s") % {"error": exc}) from exc
                # A mail server blip must not stop the poller: say it, and try again next time.
                self.stderr.write(_("IMAP: %(error)s; trying again in %(seconds)s s") % {"error": exc, "seconds": options["interval"]})
            if options["once"] or passes == options.get("max_passes"):
                return
            time.sleep(options["interval"])

    def _settings(self, options) -> ImapSettings:
        def pick(name):
            return options[name] if options[name] is not None else getattr(settings, f"PREVENANCE_IMAP_{name.upper()}")

        config = ImapSettings(
            host=pick("host"), user=pick("user"), password=pick("password"), folder=pick("folder") or "INBOX",
            port=pick("port") or 0, tls=not options["no_tls"],
        )
        missing = [name for name in ("host", "user", "password") if not getattr(config, name)]
        if missing:
            raise CommandError(
                _("Missing IMAP settings: %(names)s (options --host/--user/--password or PREVENANCE_IMAP_HOST/_USER/_PASSWORD).")
                % {"names": ", ".join(missing)}
            )
        return config

    def _pass(self, config: ImapSettings, mailbox: str, limit: int) -> None:
        client = connect(config)
        try:
            report = poll_once(client, folder=config.folder, mailbox=mailbox, limit=limit, on_result=self._line)
        finally:
            disconnect(client)
        if report.results or report.refused:
            self.stdout.write(
                _("%(stored)d message(s) read, %(refused)d refused") % {"stored": len(report.results), "refused": len(report.refused)}
            )

    def _line(self, uid, result, refusal, flags) -> None:
        if result is None:
            if flags == REFUSED_FLAG:
                line = _("uid %(uid)s: refused: %(reason)s (left unread, flagged $PrevenanceRefused)")
            else:
                line = _("uid %(uid)s: refused: %(reason)s (marked read and starred: this server keeps no keywords)")
            self.stdout.write(line % {"uid": uid, "reason": refusal})
        else:
            self.stdout.write(f"uid {uid}: {describe(result)}")
