from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from prevenance.api.services import create_api_key


class Command(BaseCommand):
    help = "Create a personal API key for a user and print it (it is shown this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What or who will use the key.")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user named “%(username)s”.") % {"username": username})
        if not user.is_active:
            raise CommandError(_("User “%(username)s” is inactive: a key for them would not work.") % {"username": username})
        try:
            key, raw = create_api_key(user=user, name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(_("Key %(prefix)s… created for %(username)s; it is not shown again.") % {"prefix": key.prefix, "username": username})
        self.stdout.write(raw)
