"""The public contact form (/cases/contact/): no login, French and English.

What the view adds to the service (docs/contact-form.md): a size cap read before the body is
parsed, CSRF, the per-IP rate limit shared by every worker, the honeypot, and the senders
blocked as spam (kept aside, as the honeypot's are).
"""

import logging
import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from prevenance.cases.choices import SuspensionReason
from prevenance.cases.forms import ContactForm
from prevenance.cases.ratelimit import client_ip, client_key, hit, peek
from prevenance.cases.selectors.blocked_senders import is_blocked_sender
from prevenance.cases.services.attachments import check_uploads
from prevenance.cases.services.suspension import keep_contact_form
from prevenance.cases.services.web_form import submit_contact_form
from prevenance.core.formats import format_file_size
from prevenance.customers.choices import Language

logger = logging.getLogger(__name__)

RATE_SCOPE = "contact-form"
SESSION_REFERENCE = "cases.contact_reference"
# Room for the text fields and the multipart envelope around the files.
TEXT_ALLOWANCE = 1024 * 1024


def _limit() -> dict:
    return {"count": settings.PREVENANCE_CONTACT_FORM_LIMIT, "window": settings.PREVENANCE_CONTACT_FORM_WINDOW}


def _max_request_bytes() -> int:
    return settings.PREVENANCE_CONTACT_FORM_MAX_FILES * settings.PREVENANCE_ATTACHMENT_MAX_BYTES + TEXT_ALLOWANCE


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _language() -> str:
    code = (translation.get_language() or "")[:2]
    return code if code in Language.values else ""


def _page(request, form, *, status=200, problem=""):
    return render(request, "cases/contact.html", {"form": form, "problem": problem}, status=status)


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _rate_limited(request, form, retry_after: int):
    """429 with the reason and the wait; the form comes back filled in, so nothing typed is lost."""
    problem = _(
        "You have already sent %(count)d messages in the last %(window)s. Please wait %(wait)s and send it again: "
        "your text is kept below (attached files have to be chosen again)."
    ) % {"count": settings.PREVENANCE_CONTACT_FORM_LIMIT, "window": _minutes(settings.PREVENANCE_CONTACT_FORM_WINDOW),
         "wait": _minutes(retry_after)}
    response = _page(request, form, status=429, problem=problem)
    response["Retry-After"] = str(retry_after)
    return response


@csrf_exempt  # the CSRF check runs in _contact, once the size is known to be sane (it reads the body)
@require_http_methods(["GET", "POST"])
def contact(request):
    if request.method == "POST" and _content_length(request) > _max_request_bytes():
        problem = _("What you sent is too large (at most %(size)s in all). Please attach fewer or smaller files.") % {
            "size": format_file_size(_max_request_bytes())
        }
        return _page(request, ContactForm(), status=413, problem=problem)
    return _contact(request)


@csrf_protect
def _contact(request):
    if request.method != "POST":
        return _page(request, ContactForm())
    form = ContactForm(request.POST, request.FILES)
    client = client_key(client_ip(request))
    verdict = peek(RATE_SCOPE, client, **_limit())
    if not verdict.allowed:
        return _rate_limited(request, form, verdict.retry_after)
    if form.is_robot:
        # Pretend it went through, so the robot learns nothing; it still uses up its allowance.
        hit(RATE_SCOPE, client, **_limit())
        # Kept aside, not dropped: a person's password manager may have filled it in.
        kept = keep_contact_form(data=request.POST, files=request.FILES.getlist("attachments"), language=_language(), client=client)
        logger.warning("Contact form: honeypot filled in from %s; kept aside for review (suspended message %s).", client, kept.pk)
        request.session.pop(SESSION_REFERENCE, None)
        return redirect("cases:contact_thanks")
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        # Refused files use no slot of the limit either: the visitor chooses others and sends again.
        check_uploads(form.cleaned_data["attachments"], max_files=settings.PREVENANCE_CONTACT_FORM_MAX_FILES)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _page(request, form, status=400)
    verdict = hit(RATE_SCOPE, client, **_limit())
    if not verdict.allowed:
        return _rate_limited(request, form, verdict.retry_after)
    data = form.cleaned_data
    if is_blocked_sender(data["email"]):
        # Answered as any form is (the sender learns nothing), kept aside rather than a case:
        # no acknowledgement goes to the address (services/spam.py).
        kept = keep_contact_form(data=request.POST, files=data["attachments"], language=_language(), client=client,
                                 reason=SuspensionReason.SENDER_BLOCKED)
        logger.info("Contact form from a blocked sender; kept aside for review (suspended message %s).", kept.pk)
        request.session.pop(SESSION_REFERENCE, None)
        return redirect("cases:contact_thanks")
    try:
        intake = submit_contact_form(
            submission_id=data["submission_id"], first_name=data["first_name"], last_name=data["last_name"],
            email=data["email"], phone=data["phone"], type=data["type"], subject=data["subject"], body=data["body"],
            order_reference=data["order"], files=data["attachments"], language=_language(),
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _page(request, form, status=400)
    request.session[SESSION_REFERENCE] = intake.case.reference
    return redirect("cases:contact_thanks")


@require_GET
def contact_thanks(request):
    return render(request, "cases/contact_thanks.html", {"reference": request.session.get(SESSION_REFERENCE, "")})
