"""The agent's inbox: views as tabs with capped counts, filters, keyset pages loaded by HTMX."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from prevenance.cases.choices import CaseStatus, CaseType, Priority
from prevenance.cases.models import Team
from prevenance.cases.selectors import VIEW_CASE, case_by_reference
from prevenance.cases.selectors.assignees import assignee_filter_choices
from prevenance.cases.selectors.inbox import (
    ALL,
    BUILTIN_LABELS,
    COUNT_CAP,
    FILTER_KEYS,
    FINISHED_STATUSES,
    ME,
    MINE,
    NOBODY,
    OPEN,
    SAVED_PREFIX,
    UNASSIGNED,
    InboxPage,
    access_saved_view,
    inbox,
    inbox_counts,
    inbox_views,
    resolve_view,
    sla_times,
    view_statuses,
)
from prevenance.cases.services.saved_views import SHARE_VIEW, delete_view, save_view, update_view
from prevenance.cases.views.inbox_bulk import bulk_choices, may_change_in_bulk
from prevenance.core.choices import Channel
from prevenance.core.htmx import htmx_partial, render_page_or_fragment
from prevenance.core.pagination import InvalidCursor

REFERENCE_RE = re.compile(r"[Cc]-\d{4}-\d{6,}")
# "Assigned to me" and "Unassigned" are "All open" with the assignee set: asked for finished
# cases (links and bookmarks from before "All cases"), they become "All cases" with it set.
ASSIGNEE_OF_VIEW = {OPEN: None, MINE: ME, UNASSIGNED: NOBODY}


def _require_agent(user) -> None:
    if not user.has_perm(VIEW_CASE):
        raise PermissionDenied


def filters_from_query(params) -> dict:
    """The filters in a query string: repeated keys become lists; empty values are dropped, but
    a key given only empty ("Any" picked in its list) is kept empty: on a saved view it drops
    the view's own filter on that field."""
    raw = {}
    for key in FILTER_KEYS:
        if key not in params:
            continue
        values = [v for v in params.getlist(key) if v.strip()]
        raw[key] = values if key != "q" else (values[0] if values else "")
    return raw


def _filter_query(filters: dict, view_key: str) -> str:
    pairs = [("view", view_key)]
    for key, value in filters.items():
        if isinstance(value, list):
            pairs += [(key, v) for v in value] or [(key, "")]
        else:
            pairs.append((key, value))
    return urlencode(pairs)


def _case_by_typed_reference(user, text: str):
    """The case when the search box holds exactly a visible case's reference (C-2026-000123)."""
    if not REFERENCE_RE.fullmatch(text.strip()):
        return None
    try:
        return case_by_reference(user, text)
    except Http404:
        return None


def _choices() -> dict:
    return {
        "channel": Channel.choices,
        "status": CaseStatus.choices,
        "priority": Priority.choices,
        "type": CaseType.choices,
        "team": [(str(t.pk), t.name) for t in Team.objects.order_by("name")],
    }


@login_required
@require_GET
def inbox_page(request):
    """The inbox; an HTMX request with a cursor gets the next rows only."""
    user = request.user
    _require_agent(user)
    view_key = request.GET.get("view") or OPEN
    raw = filters_from_query(request.GET)
    found = _case_by_typed_reference(user, raw.get("q", ""))
    if found is not None:
        return redirect("cases:case", case_id=found.pk)
    implied = ASSIGNEE_OF_VIEW.get(view_key)
    if (view_key in ASSIGNEE_OF_VIEW and set(raw.get("status", [])) & set(FINISHED_STATUSES) and not request.GET.get("cursor")
            and not (implied and raw.get("assignee"))):
        # "All open" holds no resolved or closed case: asking it for them (a link or bookmark
        # from before "All cases") gets the same filters on "All cases", which holds them;
        # "Assigned to me" and "Unassigned" likewise, with the assignee they stand for.
        return redirect(reverse("cases:inbox") + "?" + _filter_query({**raw, **({"assignee": [implied]} if implied else {})}, ALL))
    context = {"view_key": view_key, "raw_filters": raw, "choices": _choices(), "errors": {},
               # A refused "save as a view" comes back here with what was typed (saved_view_create),
               # a refused edit of a saved view likewise (saved_view_update).
               "view_name": request.GET.get("view_name", "")[:100], "view_shared": request.GET.get("view_shared") == "on",
               "edit_name": request.GET.get("edit_name", "")[:100]}
    try:
        page = inbox(user, view=view_key, filters=raw, cursor=request.GET.get("cursor"))
    except InvalidCursor:
        return HttpResponseBadRequest(_("This page link is not valid; reload the page."))
    except ValidationError as exc:
        # Bad filters (typed, or stored in a saved view): say why, list nothing.
        context["errors"] = exc.message_dict
        page = InboxPage(view=resolve_view(user, view_key), items=[], next_cursor=None, filters={})
    context.update(page=page, sla=sla_times(page.items), query=_filter_query(raw, view_key), view_filters=page.filters)
    # The status list offers the tab's own statuses only: a filter narrows its tab, never widens it.
    held = view_statuses(page.view.base)
    context["choices"]["status"] = [(value, text) for value, text in CaseStatus.choices if value in held]
    # The Assignee list, but on the tabs that set the assignee themselves ("Assigned to me", "Unassigned").
    context["assignee_filter"] = page.view.base not in (MINE, UNASSIGNED)
    if context["assignee_filter"] and (not request.GET.get("cursor") or not htmx_partial(request)):
        shown = page.filters.get("assignee") or raw.get("assignee") or []
        context["choices"]["assignee"] = assignee_filter_choices(user, [str(value) for value in shown])
    context["filtered"] = any(raw.values())  # filters picked on the page (a saved view's own are part of its tab)
    if not request.GET.get("cursor") or not htmx_partial(request):
        views = inbox_views(user)
        context.update(views=views, counts=inbox_counts(user, views), count_cap=COUNT_CAP, can_share=user.has_perm(SHARE_VIEW),
                       builtin=BUILTIN_LABELS, saved_prefix=SAVED_PREFIX)
        # The bulk bar's lists (views/inbox_bulk.py), for those who may change cases.
        context["bulk"] = bulk_choices() if may_change_in_bulk(user) else None
    status = 400 if context["errors"] else 200
    response = render_page_or_fragment(request, "cases/inbox.html", "cases/partials/inbox_rows.html", context)
    response.status_code = status
    return response


@login_required
@require_POST
def saved_view_create(request):
    """Save the filters shown under a name (own view; shared with everyone if asked and allowed)."""
    user = request.user
    _require_agent(user)
    raw = filters_from_query(request.POST)
    base = request.POST.get("base") or OPEN
    name, shared = request.POST.get("name", ""), request.POST.get("shared") == "on"
    try:
        saved = save_view(user=user, name=name, filters=raw, base=base, shared=shared)
    except ValidationError as exc:
        for field_errors in exc.message_dict.values():
            for error in field_errors:
                messages.error(request, error)
        # Back to the same cases, with the name (and the sharing box) as typed, to correct them.
        kept = urlencode({"view_name": name[:100], **({"view_shared": "on"} if shared else {})})
        return redirect(reverse("cases:inbox") + "?" + _filter_query(raw, base) + "&" + kept)
    messages.success(request, _("View “%(name)s” saved.") % {"name": saved.name})
    return redirect(reverse("cases:inbox") + "?" + urlencode({"view": f"{SAVED_PREFIX}{saved.pk}"}))


@login_required
@require_POST
def saved_view_update(request, view_id: int):
    """Rename a saved view, share it or take it back, and with "Update view with current
    filters" replace its filters with those shown (who may: as for deleting it)."""
    user = request.user
    _require_agent(user)
    saved = access_saved_view(user, view_id)
    raw = filters_from_query(request.POST)
    replace_filters = request.POST.get("action") == "filters"
    base = request.POST.get("base") or OPEN
    name = request.POST.get("name", "")
    # The sharing box is on the form only for those who may share: without it, sharing is left as it is.
    shared = request.POST.get("shared") == "on" if request.POST.get("sharing_shown") else None
    view_key = f"{SAVED_PREFIX}{saved.pk}"
    try:
        updated = update_view(user=user, view=saved, name=name, shared=shared,
                              filters=raw if replace_filters else None, base=base if replace_filters else None)
    except ValidationError as exc:
        for field_errors in exc.message_dict.values():
            for error in field_errors:
                messages.error(request, error)
        # Back to the same cases, the edit form open with the name as typed.
        return redirect(reverse("cases:inbox") + "?" + _filter_query(raw, view_key) + "&" + urlencode({"edit_name": name[:100]}))
    messages.success(request, _("View “%(name)s” updated.") % {"name": updated.name})
    if replace_filters:
        return redirect(reverse("cases:inbox") + "?" + urlencode({"view": view_key}))
    # Renamed only: the filters picked on top of the view stay picked.
    return redirect(reverse("cases:inbox") + "?" + _filter_query(raw, view_key))


@login_required
@require_POST
def saved_view_delete(request, view_id: int):
    user = request.user
    _require_agent(user)
    saved = access_saved_view(user, view_id)
    delete_view(user=user, view=saved)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": saved.name})
    return redirect("cases:inbox")
