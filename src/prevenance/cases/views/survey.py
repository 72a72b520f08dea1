"""The public satisfaction survey page behind the links of the invitation email (no login).

A link in the email only ever *shows* a page (GET, with the answer it stands for preselected);
the answer is recorded by the customer's click on the page (POST). Mail security scanners open
every link of a message to check it: if a GET recorded the answer, every survey sent to a
company behind such a scanner would come back "1" or "5" without the customer doing anything.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_http_methods

from prevenance.cases.selectors.satisfaction import survey_by_token
from prevenance.cases.services.surveys import (
    CES_LABELS,
    CSAT_LABELS,
    answer_survey,
    closes_at,
    is_open,
)


def _score(value, top: int) -> int | None:
    try:
        score = int(value)
    except (TypeError, ValueError):
        return None
    return score if 1 <= score <= top else None


def _step(request, survey) -> str:
    if not is_open(survey):
        return "closed"
    if survey.csat is None or "csat" in request.GET or "edit" in request.GET:
        return "csat"
    return "thanks" if "thanks" in request.GET else "effort"


def _page(request, survey, *, step: str, errors: dict | None = None, status: int = 200, posted: dict | None = None):
    """The page; `posted` (a refused answer) is shown as the customer sent it, not the stored one."""
    posted = posted or {}
    linked = _score(request.GET.get("csat"), 5)  # the score of the email's link, if it opened the page
    context = {
        "survey": survey,
        "step": step,
        "errors": errors or {},
        "csat_choices": [(score, CSAT_LABELS[score]) for score in sorted(CSAT_LABELS)],
        "ces_choices": [(score, CES_LABELS[score]) for score in sorted(CES_LABELS)],
        "chosen_csat": posted.get("csat") or linked or survey.csat,
        # A score preselected by the link, not recorded yet: the page says it must be sent.
        "unsent_choice": linked is not None and linked != survey.csat,
        "chosen_ces": posted.get("ces") or survey.ces,
        "comment": posted["comment"] if "comment" in posted else survey.comment,
        "closes_at": closes_at(survey),
    }
    return render(request, "cases/survey.html", context, status=status)


def _answer(request, survey):
    """Record the step that was posted, then show the next one (post/redirect/get)."""
    step = request.POST.get("step")
    try:
        if step == "csat":
            answer_survey(token=survey.token, csat=request.POST.get("csat") or "0")
            return redirect("cases:survey", token=survey.token)
        if step == "effort":
            answer_survey(token=survey.token, ces=request.POST.get("ces") or None, comment=request.POST.get("comment", ""))
            return redirect(f"{request.path}?thanks=1")
    except ValidationError as exc:
        survey.refresh_from_db()
        if "survey" in exc.message_dict:  # closed meanwhile
            return _page(request, survey, step="closed", status=410)
        posted = {"csat": _score(request.POST.get("csat"), 5), "ces": _score(request.POST.get("ces"), 7)}
        if "comment" in request.POST:
            posted["comment"] = request.POST["comment"]
        return _page(request, survey, step=step, errors=exc.message_dict, status=400, posted=posted)
    return _page(request, survey, step=_step(request, survey), status=400)


def _language(request, survey) -> str:
    """The survey's language, unless the visitor chose one with the page's language switch
    (Django's `set_language` view keeps the choice in the language cookie): that choice wins."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen and translation.check_for_language(chosen):
        try:
            return translation.get_supported_language_variant(chosen)
        except LookupError:
            pass
    return survey.language


@require_http_methods(["GET", "POST"])
def survey_page(request, token: str):
    """The survey in the customer's language (or the one the visitor chose): rating (preselected from the link), then effort
    and an optional comment; answers can be changed until the survey closes (7 days)."""
    survey = survey_by_token(token)
    if survey is None:
        response = render(request, "cases/survey_missing.html", status=404)
        response["Cache-Control"] = "no-store"
        return response
    language = _language(request, survey)
    with translation.override(language):
        if request.method == "POST" and is_open(survey):
            response = _answer(request, survey)
        else:
            step = _step(request, survey)
            response = _page(request, survey, step=step, status=410 if step == "closed" else 200)
    response["Content-Language"] = language
    # The page shows someone's answers: never kept by a shared cache or proxy.
    response["Cache-Control"] = "no-store"
    return response
