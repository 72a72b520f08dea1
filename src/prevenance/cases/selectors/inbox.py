"""The agent's inbox: built-in and saved views, filters, keyset pages, capped tab counts.

Every query starts from `visible_cases(user)`. Pages are built so that each query walks an
index in order and stops after a page (docs/inbox.md, "Staying fast at 1,000,000 cases"):

- a view lists a few statuses; a B-tree on (status, -priority_score, id) gives the order
  within ONE status only, so each status is read on its own, in index order, `limit + 1`
  rows at most, and the few lists are merged here (a few small index scans instead of
  sorting every open case);
- an agent sees their teams, the triage queue and their own cases: no index gives that OR in
  urgency order, so each of those SOURCES is read on its own too (`_sources`), on
  (team, status, -priority_score, id) or (assignee, status, -priority_score, id), and merged
  the same way; a supervisor's views (every case) are one source;
- "breaching soon" is ordered by the time the case is due: the resolution clock walks
  (status, resolution_due_at, id) or (team, status, resolution_due_at, id) the same way, the
  first-response and reply clocks the partial indexes of the cases still waiting for a first,
  resp. a next answer (see `_due_clocks` and docs/inbox.md).
"""

import heapq
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Collate
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prevenance.cases import sla
from prevenance.cases.choices import CaseStatus, CaseType, Priority
from prevenance.cases.models import Case, SavedView, Team
from prevenance.cases.selectors.visibility import VIEW_ALL_CASES, VIEW_CASE, visible_cases
from prevenance.cases.sla import TimeLeft
from prevenance.cases.workflow import ACTIVE
from prevenance.core.calendars import calendar_specs
from prevenance.core.choices import Channel
from prevenance.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from prevenance.core.query_plans import planned_for_their_values
from prevenance.core.text import next_prefix, search_key
from prevenance.core.validation import MAX_ID, invalid, is_row_id
from prevenance.customers.models import Customer
from prevenance.customers.selectors import load_nameless_addresses

PAGE_SIZE = 25
# Tab counts stop here: counting every open case of a million is not worth a slow page.
COUNT_CAP = 99
# "Breaching soon": a clock due within this many hours, or already overdue.
BREACHING_HOURS = 4

MINE, TEAMS, UNASSIGNED, BREACHING, OPEN, ALL = "mine", "team", "unassigned", "breaching", "open", "all"
BUILTIN_LABELS = {
    MINE: gettext_lazy("Assigned to me"),
    TEAMS: gettext_lazy("My teams"),
    UNASSIGNED: gettext_lazy("Unassigned"),
    BREACHING: gettext_lazy("Overdue or due soon"),
    OPEN: gettext_lazy("All open"),
    ALL: gettext_lazy("All cases"),
}
SAVED_PREFIX = "saved-"
# "Breaching soon" reads the resolution clock in these statuses (a case waiting for the
# customer has it paused), and the first-response and reply clocks, which never pause, in
# these and while waiting for the customer (the SLA check escalates them there too).
RUNNING = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING_INTERNAL)
FIRST_RESPONSE_RUNNING = (*RUNNING, CaseStatus.PENDING_CUSTOMER)
# The statuses each view holds: a tab is the base set, a status filter narrows it (never widens
# it: "All open" filtered on "Resolved" would be an empty intersection, so the status list of
# a tab offers only its own statuses, and resolved or closed cases are under "All cases").
ACTIVE_STATUSES = tuple(status for status in CaseStatus.values if status in ACTIVE)
FINISHED_STATUSES = tuple(status for status in CaseStatus.values if status not in ACTIVE)

FILTER_CHOICES = {
    "channel": Channel.values,
    "status": CaseStatus.values,
    "priority": Priority.values,
    "type": CaseType.values,
}
FILTER_KEYS = (*FILTER_CHOICES, "team", "assignee", "q")
# The assignee filter's words besides agents' numbers (Freshdesk's "Agents" filter): the reader,
# whoever they are (a shared view "mine, resolved" is each reader's own), and nobody.
ME, NOBODY = "me", "none"


@dataclass(frozen=True)
class InboxView:
    """A tab of the inbox: a built-in view or a saved one (its filters applied on top of its base)."""

    key: str
    label: str
    base: str
    filters: dict = field(default_factory=dict)
    saved: SavedView | None = None


@dataclass
class InboxPage:
    view: InboxView
    items: list[Case]
    next_cursor: str | None
    filters: dict


def view_statuses(base: str) -> tuple[str, ...]:
    """The statuses a view (by its base) holds, in workflow order."""
    if base == ALL:
        return tuple(CaseStatus.values)
    if base == BREACHING:
        return tuple(status for status in CaseStatus.values if status in FIRST_RESPONSE_RUNNING)
    return ACTIVE_STATUSES


def clean_filters(raw) -> dict:
    """Filters from a query string or a saved view's JSON, checked: lists of known values.

    Accepts {"channel": "email"} or {"channel": ["email", "phone"]}; "team" holds team ids;
    "q" a reference or words of the subject. Raises ValidationError naming the bad field.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid("filters", _("Filters must be an object of field → values."), "invalid_filters")
    cleaned: dict = {}
    for key, value in raw.items():
        if key == "base":
            continue
        if key not in FILTER_KEYS:
            raise invalid(key, _("Unknown filter “%(key)s”.") % {"key": str(key)[:40]}, "unknown_filter")
        if key == "q":
            text = str(value or "").replace("\x00", "").strip()[:200]  # PostgreSQL refuses NUL in text
            if text:
                cleaned["q"] = text
            continue
        values = [str(v) for v in (value if isinstance(value, list | tuple) else [value]) if str(v).strip()]
        if key == "assignee":
            if values:
                cleaned["assignee"] = _clean_assignees(values)
            continue
        if key == "team":
            try:
                ids = sorted({int(v) for v in values})
            except ValueError:
                ids = [0]
            if not all(is_row_id(team_id) for team_id in ids):
                raise invalid("team", _("A team is given by its number."), "invalid_team")
            if ids:
                cleaned["team"] = ids
            continue
        bad = [v for v in values if v not in FILTER_CHOICES[key]]
        if bad:
            raise invalid(
                key, _("“%(value)s” is not one of: %(choices)s.") % {"value": bad[0][:40], "choices": ", ".join(FILTER_CHOICES[key])},
                "invalid_choice",
            )
        if values:
            cleaned[key] = sorted(set(values))
    return cleaned


def _clean_assignees(values: list[str]) -> list[str]:
    """"me", "none" and agents' numbers, as strings ("me" and "none" first, then the numbers);
    a number nobody has is refused as a status nobody has is (one query, only for numbers)."""
    words = {value.strip().lower() for value in values}
    ids = set()
    for word in words - {ME, NOBODY}:
        if not (word.isdigit() and is_row_id(int(word))):
            raise invalid("assignee", _("An assignee is “me”, “none” or an agent’s number."), "invalid_assignee")
        ids.add(int(word))
    known = set(get_user_model().objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    if ids - known:
        raise invalid("assignee", _("No agent has the number %(number)s.") % {"number": min(ids - known)}, "unknown_assignee")
    return [word for word in (ME, NOBODY) if word in words] + [str(pk) for pk in sorted(ids)]


def saved_views(user) -> QuerySet[SavedView]:
    """The user's own saved views and the shared ones (no owner)."""
    if not getattr(user, "is_authenticated", False):
        return SavedView.objects.none()
    return SavedView.objects.filter(Q(owner=user) | Q(owner__isnull=True)).order_by("position", "name", "id")


def access_saved_view(user, view_id) -> SavedView:
    """A saved view the user may use (own or shared); the same 404 for missing and someone else's."""
    try:
        pk = int(view_id)
    except (TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc
    view = saved_views(user).filter(pk=pk).first() if 0 < pk < 2**63 else None
    if view is None:
        raise Http404
    return view


def _saved_inbox_view(saved: SavedView) -> InboxView:
    filters = saved.filters if isinstance(saved.filters, dict) else {}
    base = filters.get("base") if filters.get("base") in BUILTIN_LABELS else OPEN
    statuses = filters.get("status")
    if base == OPEN and isinstance(statuses, list) and set(statuses) & set(FINISHED_STATUSES):
        # Saved before "All cases" existed, when a status filter replaced the open statuses:
        # it listed those resolved or closed cases, and still does, from "All cases".
        base = ALL
    return InboxView(key=f"{SAVED_PREFIX}{saved.pk}", label=saved.name, base=base, filters=filters, saved=saved)


def inbox_views(user) -> list[InboxView]:
    """The tabs: the built-in views, then the saved ones (own and shared)."""
    builtins = [InboxView(key=key, label=str(label), base=key) for key, label in BUILTIN_LABELS.items()]
    return builtins + [_saved_inbox_view(saved) for saved in saved_views(user)]


def resolve_view(user, view: str | None) -> InboxView:
    """The view named by its key ("mine", "saved-12"...); Http404 for a saved view not the user's."""
    key = view or OPEN
    if key in BUILTIN_LABELS:
        return InboxView(key=key, label=str(BUILTIN_LABELS[key]), base=key)
    if key.startswith(SAVED_PREFIX):
        return _saved_inbox_view(access_saved_view(user, key[len(SAVED_PREFIX):]))
    raise Http404


def _view_condition(user, base: str) -> Q:
    if base == MINE:
        return Q(assignee=user)
    if base == TEAMS:
        return Q(team__in=Team.objects.filter(members=user).values("pk"))
    if base == UNASSIGNED:
        return Q(assignee__isnull=True)
    return Q()


def _filtered(user, view: InboxView, filters: dict) -> tuple[QuerySet[Case], list[str]]:
    """The view's cases before ordering, and the statuses to read one by one."""
    queryset = visible_cases(user).filter(_view_condition(user, view.base))
    assignees = narrowed_assignees(view.base, filters)
    if assignees:
        queryset = queryset.filter(_assignee_condition(user, assignees))
    queryset, statuses = _narrowed(queryset, view, filters)
    return _without_spam(queryset, statuses), statuses


def _without_spam(queryset: QuerySet[Case], statuses: list[str]) -> QuerySet[Case]:
    """Cases closed as spam leave every view (services/spam.py); only closed cases can be spam.

    Counts and exports leave them out here, in their query. A page leaves them out of the rows
    it shows, after the walks (`inbox`): the condition in the walks cost them their index-only
    reads, and PostgreSQL then walked the wrong index for an agent's closed cases (an agent's
    "All cases" p50 18 -> 25 ms, p95 over 50 ms at 1M cases; docs/benchmarks.md, "Nineteenth
    session"). A page holding spam cases shows fewer rows; its cursor still goes on after
    them, so nothing is skipped or shown twice."""
    return queryset.filter(spam=False) if CaseStatus.CLOSED in statuses else queryset


def _assignee_condition(user, assignees: list[str]) -> Q:
    """The assignee filter as one condition (counts and exports; the pages split it, `_sources`)."""
    condition = Q(pk__in=[])
    for value in assignees:
        condition |= Q(assignee=user) if value == ME else Q(assignee__isnull=True) if value == NOBODY else Q(assignee_id=int(value))
    return condition


def narrowed_assignees(base: str, filters: dict) -> list[str]:
    """The assignee filter as it narrows the view: [] when it does not narrow it ("Assigned to
    me" and "Unassigned" already set the assignee: "me", resp. "none", among the values changes
    nothing); refused (ValidationError on "assignee") when it would leave such a view empty."""
    wanted = filters.get("assignee") or []
    implied = {MINE: ME, UNASSIGNED: NOBODY}.get(base)
    if implied is None or not wanted:
        return list(wanted)
    if implied in wanted:
        return []
    raise invalid(
        "assignee",
        _("“%(view)s” already sets the assignee: filter on it from another tab, such as “%(all)s”.")
        % {"view": BUILTIN_LABELS[base], "all": BUILTIN_LABELS[ALL]},
        "assignee_outside_view",
    )


def _narrowed(queryset: QuerySet[Case], view: InboxView, filters: dict) -> tuple[QuerySet[Case], list[str]]:
    """`queryset` with the filters applied, and the statuses to read one by one."""
    for key, column in (("channel", "channel"), ("priority", "priority"), ("type", "type"), ("team", "team_id")):
        if filters.get(key):
            queryset = queryset.filter(**{f"{column}__in": filters[key]})
    text = filters.get("q")
    if text:
        queryset = queryset.filter(search_condition(text))
    return queryset, narrowed_statuses(view.base, filters)


def narrowed_statuses(base: str, filters: dict) -> list[str]:
    """The view's statuses narrowed by the status filter; a status the view does not hold is
    refused (ValidationError on "status") rather than shown as an empty list without a reason."""
    held = view_statuses(base)
    wanted = filters.get("status")
    if not wanted:
        return list(held)
    outside = [status for status in wanted if status not in held]
    if outside:
        raise invalid(
            "status",
            _("“%(status)s” is not in this view: resolved and closed cases are under “%(all)s”.")
            % {"status": CaseStatus(outside[0]).label, "all": BUILTIN_LABELS[ALL]},
            "status_outside_view",
        )
    return [status for status in held if status in wanted]


# --- the search box ("q") ---------------------------------------------------------------------

# A case number as agents type it: "24", "000024", "C-2026-24", "2026-000024", "c-2026-000024".
_NUMBER_RE = re.compile(r"(?:C-?)?(?:(?P<year>\d{4})-)?(?P<number>\d{1,9})", re.IGNORECASE)
_REFERENCE_RE = re.compile(r"C-(\d{4})-(\d+)")
# Around a word: punctuation typed with it ("armoire," "(colis)"). Inside one: apostrophes,
# straight or typographic, after which French elides ("l'armoire", "d’échange").
_EDGE_PUNCTUATION = "".join(sorted(set(string.punctuation) | set("«»“”‘’…"))) + "\u00a0"
_APOSTROPHE_RE = re.compile(r"['’]")
_EDGE_PUNCTUATION_BUT_APOSTROPHES = _EDGE_PUNCTUATION.replace("'", "").replace("’", "")
MAX_SEARCH_WORDS = 8
# A name prefix matching more customers than this is checked case by case (joined) instead.
NAME_MATCHES_MAX = 500


def _case_year_span() -> range:
    """The years case references exist for, from the first and last reference (two lookups
    on the unique index: references sort by year, C-YYYY-…)."""
    references = Case.objects.order_by().values_list("reference", flat=True)
    first, last = references.order_by("reference").first(), references.order_by("-reference").first()
    years = [int(match[1]) for match in (_REFERENCE_RE.fullmatch(ref or "") for ref in (first, last)) if match]
    return range(years[0], years[-1] + 1) if years else range(0)


def searched_references(text: str) -> list[str]:
    """The references a search for a case number may mean, in their stored form: "C-2026-24"
    means C-2026-000024; a number alone that number in every year cases exist for."""
    match = _NUMBER_RE.fullmatch(text.strip().lstrip("#").rstrip("."))  # "#24" and "24." as agents write them
    if match is None or int(match["number"]) == 0:
        return []
    number = int(match["number"])
    years = [int(match["year"])] if match["year"] else _case_year_span()
    return [f"C-{year}-{number:06d}" for year in years]


def search_words(text: str) -> list[str]:
    """The folded words of a search (core.text.search_key, as Case.subject_key and the
    customers' name keys), without the punctuation around them nor French elisions."""
    words: list[str] = []
    for raw in search_key(text).split():
        before, *after = _APOSTROPHE_RE.split(raw.strip(_EDGE_PUNCTUATION_BUT_APOSTROPHES))
        if after == [""] and len(before) <= 2:
            continue  # an elision alone ("l'", "qu’"): nothing to search for, not every "l"
        word = raw.strip(_EDGE_PUNCTUATION) or raw  # a word of punctuation only is searched as typed
        parts = _APOSTROPHE_RE.split(word)
        # "l'armoire" -> "armoire", "qu'il" -> "il"; "aujourd'hui" keeps both halves.
        kept = [part for i, part in enumerate(parts) if part and not (i < len(parts) - 1 and len(part) <= 2)]
        words += [part for part in kept or [word] if part not in words]
    return words[:MAX_SEARCH_WORDS]


def _name_key_range(key: str, word: str) -> Q:
    """Customers whose folded name key `key` starts with `word`, as a range the key's index
    answers (as customers.selectors._prefix_scan: byte order, hence "C" on PostgreSQL)."""
    column = f"_{key}_c" if connection.vendor == "postgresql" else key
    end = next_prefix(word)
    return Q(**{f"{column}__gte": word}) & (Q(**{f"{column}__lt": end}) if end is not None else Q())


def _customers_named(word: str) -> Q:
    """Cases of a customer whose last or first name (or company name) starts with `word`, as
    customer search matches names (the name keys, folded like the search words).

    The customers are looked up first on the name keys' indexes, so each case read checks its
    customer id against a short list; a prefix shared by more than NAME_MATCHES_MAX customers
    ("m") is checked on the customer joined to each case read instead."""
    customers = Customer.objects.order_by()
    if connection.vendor == "postgresql":
        customers = customers.alias(_sort_key_c=Collate("sort_key", "C"), _alt_key_c=Collate("alt_key", "C"))
    ids: set[int] = set()
    for key in ("sort_key", "alt_key"):
        ids.update(customers.filter(_name_key_range(key, word)).values_list("pk", flat=True)[: NAME_MATCHES_MAX + 1])
        if len(ids) > NAME_MATCHES_MAX:
            return Q(customer__sort_key__startswith=word) | Q(customer__alt_key__startswith=word)
    return Q(customer_id__in=sorted(ids)) if ids else Q(pk__in=[])


def search_condition(text: str) -> Q:
    """What the search box finds: every word, in any order, somewhere in the subject or at
    the start of the customer's last or first name, accents and case aside; and a case
    number ("24", "000024", "C-2026-24") the case with that number (`reference IN` the
    references it may mean, see `searched_references`).

    The subject is matched on `Case.subject_key` (the folded subject) with LIKE '%word%', the
    name through `_customers_named`: the reads still walk the inbox's indexes in urgency
    order, checking each case (docs/inbox.md, "Still slow").
    """
    words = search_words(text)
    condition = Q() if words else Q(pk__in=[])
    for word in words:
        condition &= Q(subject_key__contains=word) | _customers_named(word)
    whole = search_key(text).strip(_EDGE_PUNCTUATION)
    if whole and words != [whole]:
        # A name of several words or with an apostrophe ("Le Goff", "O'Brien") as customer
        # search reads it, with either apostrophe (a name is stored as it was typed)
        for spelling in dict.fromkeys((whole, whole.replace("’", "'"), whole.replace("'", "’"))):
            condition |= _customers_named(spelling)
    references = searched_references(text)
    if references:
        condition = Q(reference__in=references) | condition
    return condition


def _own(user) -> Q:
    """The user's own cases: an agent's workload (about a hundred active cases), so read for
    every status in one query and sorted by the database, rather than one short read per status."""
    return Q(assignee=user)


def _sources(user, base: str, filters: dict) -> tuple[QuerySet[Case], list[Q], list[Q]]:
    """Where a view's cases are read from: a queryset and its parts, each read on its own and
    walking an index in urgency (or due) order; and those of the parts that are one person's
    cases (read on (assignee, status, ...): see `_per_status`).

    Together the parts hold exactly the cases of `visible_cases(user)` in the view
    (`_view_condition`); they may overlap (a case of the agent's team assigned to them), the
    merge drops the repeats. No parts: the view is empty (an agent in no team, "my teams").

    For a user who does not see every case, the parts ARE the visibility rule of
    `visible_cases` split up (their teams, the triage queue, their own cases), so they are read
    from all cases: repeating the rule's `team IN (subquery) OR ...` in each short read cost
    SQLite 3 ms of planning a query against 0.3 ms without (1M cases, 13 indexes).
    test_each_source_split_holds_exactly_the_visible_cases checks the two stay the same.
    """
    visible = visible_cases(user)
    if not user.has_perm(VIEW_CASE):
        return visible, [], []
    assignees = narrowed_assignees(base, filters)
    if assignees:
        return _assignee_sources(user, base, filters, assignees)
    wanted = filters.get("team")
    sees_all = user.has_perm(VIEW_ALL_CASES)
    if base == MINE:  # one part, already in order on (assignee, status, -priority_score, id)
        return Case.objects.all(), [_own(user)], [_own(user)]
    if sees_all and base != TEAMS:
        return visible.filter(_view_condition(user, base)), [Q(team_id=pk) for pk in wanted] if wanted else [Q()], []
    teams = _own_teams(user, wanted)
    if base == TEAMS:
        return Case.objects.all(), [Q(team_id=pk) for pk in teams], []
    parts = [Q(team_id=pk) for pk in teams]
    if not wanted:
        parts.append(Q(team__isnull=True))  # the triage queue
    if base != UNASSIGNED:
        # Their own cases, wherever they are (a team filter still applies to them).
        parts.append(_own(user))
    return Case.objects.filter(_view_condition(user, base)), parts, [_own(user)]


def _own_teams(user, wanted: list[int] | None) -> list[int]:
    """The ids of the user's teams, those of the team filter only if there is one."""
    teams = list(Team.objects.filter(members=user).order_by("pk").values_list("pk", flat=True))
    return [pk for pk in teams if pk in wanted] if wanted else teams


def _assignee_sources(user, base: str, filters: dict, assignees: list[str]) -> tuple[QuerySet[Case], list[Q], list[Q]]:
    """`_sources` of a view ("all", "open", "team", "breaching") narrowed by the assignee filter.

    Each person's cases are one part read on (assignee, status, -priority_score, id), the index
    of "Assigned to me", with what the reader may see of them: all of the reader's own (they are
    visible wherever they are) and, for an agent, another person's in the agent's teams or the
    triage queue (`visible_cases`, split as in `_sources`); on "my teams", those of the reader's
    teams. "none" is the view's own parts (`_sources`) with nobody assigned. The parts hold the
    whole rule, so they are read from all cases."""
    sees_all = user.has_perm(VIEW_ALL_CASES)
    people = sorted({user.pk if value == ME else int(value) for value in assignees if value != NOBODY})
    # The user's teams, unless only their own cases are asked for outside "my teams" (all visible).
    needs_teams = base == TEAMS or (not sees_all and bool(people) and people != [user.pk])
    teams = _own_teams(user, filters.get("team")) if needs_teams else []
    own = _own(user)
    assigned = []
    for pk in people:
        if base == TEAMS:
            part = Q(assignee_id=pk, team_id__in=teams) if teams else None
        elif pk == user.pk:
            part = own
        elif sees_all:
            part = Q(assignee_id=pk)
        else:
            part = Q(assignee_id=pk) & (Q(team_id__in=teams) | Q(team__isnull=True)) if teams else Q(assignee_id=pk, team__isnull=True)
        if part is not None:
            assigned.append(part)
    parts = list(assigned)
    if NOBODY in assignees:
        # For the bases read here, `_sources` puts the view's condition in its parts too (its
        # queryset is every case): the parts are enough.
        _cases, unassigned, _people = _sources(user, base, {**filters, "assignee": []})
        parts += [part & Q(assignee__isnull=True) for part in unassigned if part != own]
    return Case.objects.all(), parts, assigned


def _combined_filters(view: InboxView, filters: dict | None) -> dict:
    """A saved view's own filters, narrowed by what the user picked on top (the user's choice
    wins per field; a field given empty, "Any" picked in its list, drops the view's own)."""
    combined = clean_filters(view.filters) if view.saved is not None else {}
    for key, value in (filters or {}).items():
        if key in FILTER_KEYS and value in ([], (), "", None):
            combined.pop(key, None)
    combined.update(clean_filters(filters))
    return combined


# --- ordering: most urgent first -----------------------------------------------------------


def _per_status(rows: QuerySet[Case], source: Q, statuses: list[str], assigned: list[Q]) -> list[QuerySet[Case]]:
    """One read per status (each in index order); for one person's cases (`assigned`: the
    user's own, or an agent's picked in the assignee filter), one read for all the
    active statuses (about a hundred cases, sorted by the database) and one per finished status
    (their resolved and closed cases are thousands: read in index order)."""
    if source not in assigned:
        return [rows.filter(status=status) for status in statuses]
    active = [status for status in statuses if status in ACTIVE]
    reads = [rows.filter(status__in=active)] if active else []
    return reads + [rows.filter(status=status) for status in statuses if status not in ACTIVE]


def _urgency_sources(queryset: QuerySet[Case], sources: list[Q], statuses: list[str], after: tuple | None,
                     limit: int, assigned: list[Q]) -> list[tuple]:
    """(-score, id) keys of the first `limit` cases of each source and status after the cursor, merged."""
    reads = []
    for source in sources:
        # Built once per source, narrowed per status: building the conditions is most of a short read's time.
        rows = queryset.filter(source)
        if after is not None:
            score, pk = after
            rows = rows.filter(Q(priority_score__lt=score) | Q(priority_score=score, pk__gt=pk))
        rows = rows.order_by("-priority_score", "id")
        reads += [read.values_list("priority_score", "id") for read in _per_status(rows, source, statuses, assigned)]
    # A set: a case reached through two sources is listed once.
    return heapq.nsmallest(limit, {(-score, pk) for score, pk in _first_rows(reads, limit)})


def _due_clocks() -> list[tuple[str, Q, tuple[str, ...]]]:
    """The clocks "breaching soon" reads: (due column, rows it applies to, statuses it runs in).

    A case is read from exactly one clock, the one due first, so it never shows twice. The
    first-response clock walks `case_awaiting_first_idx` or `case_team_awaiting_first_idx`
    (cases still waiting for a first answer), the reply clock of a reopened case
    `case_awaiting_reply_idx` or `case_team_awaiting_reply_idx` (cases waiting for the next
    answer), the resolution clock `case_status_due_id_idx` or `case_team_status_due_idx`. A
    case waiting for the customer has its resolution clock paused; its first-response and reply
    clocks never pause (sla.py), so a case put to wait without an answer is still breaching on
    those. The reply clock runs only on answered cases (services/sla.py); `first_response_at`
    is checked anyway so that the two clocks stay apart whatever a row holds.
    """
    resolution_running = Q(sla_paused_at__isnull=True, resolution_due_at__isnull=False)
    first_running = Q(first_response_at__isnull=True, first_response_due_at__isnull=False)
    first_is_sooner = Q(first_response_due_at__lt=F("resolution_due_at"))
    reply_running = Q(next_reply_due_at__isnull=False, first_response_at__isnull=False)
    reply_is_sooner = Q(next_reply_due_at__lt=F("resolution_due_at"))
    return [
        ("resolution_due_at", resolution_running & ~(first_running & first_is_sooner) & ~(reply_running & reply_is_sooner),
         RUNNING),
        ("first_response_due_at", first_running & (~resolution_running | first_is_sooner), FIRST_RESPONSE_RUNNING),
        ("next_reply_due_at", reply_running & (~resolution_running | reply_is_sooner), FIRST_RESPONSE_RUNNING),
    ]


# The clocks whose rows are few enough to be read in one go for all their statuses, sorted by
# the database, rather than one walk per status: the reply clock's partial indexes hold only the
# reopened cases still waiting for an answer (a small share of the open cases). One read per
# part instead of four keeps "breaching soon" at about the number of reads it had without it.
FEW_ROWS_CLOCKS = frozenset({"next_reply_due_at"})


def _due_sources(queryset: QuerySet[Case], sources: list[Q], statuses: list[str], after: tuple | None, limit: int,
                 horizon: datetime, assigned: list[Q]) -> list[tuple]:
    """(due, id) keys of the cases whose clock is due before `horizon`, soonest first, merged.

    Each list (source × status × clock) walks its due column in order and stops after `limit` rows.
    """
    reads = []
    for source in sources:
        for column, running, runs_in in _due_clocks():
            clock_statuses = [status for status in statuses if status in runs_in]
            if not clock_statuses:
                continue
            # Built once per source and clock, narrowed per status (as in _urgency_sources).
            rows = queryset.filter(source, running, **{f"{column}__lte": horizon})
            if after is not None:
                due, pk = after
                rows = rows.filter(Q(**{f"{column}__gt": due}) | Q(**{column: due, "pk__gt": pk}))
            rows = rows.order_by(column, "id")
            if column in FEW_ROWS_CLOCKS:
                reads.append(rows.filter(status__in=clock_statuses).values_list(column, "id"))
                continue
            reads += [read.values_list(column, "id") for read in _per_status(rows, source, clock_statuses, assigned)]
    # A set: a case reached through two sources is listed once.
    return heapq.nsmallest(limit, set(_first_rows(reads, limit)))


def _first_rows(reads: list[QuerySet], limit: int) -> list[tuple]:
    """The first `limit` rows of each read (a `values_list` in index order), together.

    Where the database takes a LIMIT inside each branch of a UNION (PostgreSQL), the reads go
    as one statement, `(SELECT ... LIMIT 26) UNION ALL (SELECT ... LIMIT 26) ...`: each
    branch still walks its own index and stops after `limit` rows, and the page costs one
    round trip to the server instead of one per read (an agent's "breaching soon" is 16 to 30
    reads; at 1,000,000 cases each runs in 0.01 to 0.2 ms, less than the round trip around
    it). SQLite refuses a LIMIT in a compound's branch (Django raises) and runs in the
    process, with no round trip to save: the reads go one by one.
    """
    reads = [read[:limit] for read in reads]
    if len(reads) > 1 and connection.features.supports_slicing_ordering_in_compound:
        return list(reads[0].union(*reads[1:], all=True))
    return [row for read in reads for row in read]


def _parse_after(cursor: str | None, *, by_due: bool) -> tuple | None:
    values = decode_cursor(cursor, 2)
    if values is None:
        return None
    first, pk = values
    if not isinstance(pk, int) or isinstance(pk, bool) or not is_row_id(pk):
        raise InvalidCursor("cursor is not one this server issued")
    if by_due:
        try:
            due = parse_datetime(first) if isinstance(first, str) else None
        except ValueError:  # well-formed but impossible, such as month 13
            due = None
        if due is None or due.tzinfo is None:
            raise InvalidCursor("cursor is not one this server issued")
        return due, pk
    if not isinstance(first, int) or isinstance(first, bool) or abs(first) > MAX_ID:
        raise InvalidCursor("cursor is not one this server issued")
    return first, pk


def inbox(user, *, view: str | None = OPEN, filters: dict | None = None, cursor: str | None = None,
          limit: int = PAGE_SIZE, now: datetime | None = None) -> InboxPage:
    """One page of an inbox view, most urgent first ("breaching soon": the soonest due first).

    `view`: "mine", "team", "unassigned", "breaching", "open", "all" or "saved-<id>"; `filters`:
    see `clean_filters` (ValidationError on a bad one); `cursor`: the previous page's
    `next_cursor` (InvalidCursor if tampered with). Http404 for a saved view not the user's.
    """
    inbox_view = resolve_view(user, view)
    combined = _combined_filters(inbox_view, filters)
    limit = max(1, min(int(limit), 100))
    cases, sources, assigned = _sources(user, inbox_view.base, combined)
    queryset, statuses = _narrowed(cases, inbox_view, combined)
    by_due = inbox_view.base == BREACHING
    after = _parse_after(cursor, by_due=by_due)
    if by_due:
        horizon = (now or timezone.now()) + timedelta(hours=BREACHING_HOURS)
        keys = _due_sources(queryset, sources, statuses, after, limit + 1, horizon, assigned)
    else:
        keys = _urgency_sources(queryset, sources, statuses, after, limit + 1, assigned)
    page_keys = keys[:limit]
    rows = Case.objects.select_related("customer", "team", "assignee", "sla_policy").in_bulk([pk for _key, pk in page_keys])
    items = [rows[pk] for _key, pk in page_keys if pk in rows and not rows[pk].spam]  # _without_spam
    load_nameless_addresses(case.customer for case in items)
    next_cursor = None
    if len(keys) > limit:
        key, pk = page_keys[-1]
        next_cursor = encode_cursor([key.isoformat() if by_due else -key, pk])
    return InboxPage(view=inbox_view, items=items, next_cursor=next_cursor, filters=combined)


def view_queryset(user, *, view: str | None, filters: dict | None) -> QuerySet[Case]:
    """Every case of a view with its filters, unordered, through `visible_cases` (for exports).
    ValidationError on bad filters; Http404 for a saved view that is not the user's."""
    inbox_view = resolve_view(user, view)
    queryset, statuses = _filtered(user, inbox_view, _combined_filters(inbox_view, filters))
    return queryset.filter(status__in=statuses)


def inbox_count(user, *, view: InboxView, filters: dict | None = None, now: datetime | None = None, cap: int = COUNT_CAP) -> int:
    """How many cases a view holds, counted up to `cap` (cap + 1 means "more than cap")."""
    combined = _combined_filters(view, filters)
    queryset, statuses = _filtered(user, view, combined)
    # order_by(): without it the model's default ordering makes the database sort every row
    # first. One count per status, like the pages: "status IN (...)" led SQLite to scan the table.
    queryset = queryset.order_by()
    horizon = (now or timezone.now()) + timedelta(hours=BREACHING_HOURS)
    total = 0
    for status in statuses:
        if view.base == BREACHING:  # the clocks are disjoint: their counts add up
            parts = [queryset.filter(running, status=status, **{f"{column}__lte": horizon})
                     for column, running, runs_in in _due_clocks() if status in runs_in]
        else:
            parts = [queryset.filter(status=status)]
        for rows in parts:
            total += rows.values("id")[: cap + 1 - total].count()
            if total > cap:
                return total
    return total


def inbox_counts(user, views: list[InboxView], *, filters: dict | None = None, now: datetime | None = None) -> dict[str, int]:
    """The tabs' counts (each capped); a saved view whose stored filters are broken counts 0."""
    counts = {}
    # A count per status: a generic plan, blind to which status, would scan the table.
    with planned_for_their_values():
        for view in views:
            try:
                counts[view.key] = inbox_count(user, view=view, filters=filters, now=now)
            except ValidationError:
                counts[view.key] = 0
    return counts


# --- SLA time left, for display --------------------------------------------------------------


# Beyond this distance from the due time, the due date is shown instead of the business time
# left. Counting skips whole weeks (about 0.1 ms a row for 30 days, 1.4 ms for a year), so the
# window covers every target a company sets (a 24 h target opened on a Friday is due 4 days
# later) and only cases weeks overdue or not due for weeks read as a date.
EXACT_WINDOW = timedelta(days=30)


def _far_clock(case: Case, now: datetime) -> TimeLeft | None:
    """The running clock in wall-clock time when its due time is beyond EXACT_WINDOW, else None.

    Same clock as sla.sla_time_left; "near" is left false: that far from the due time only a
    target over 15 days could be near its threshold (20 % of the target by default)."""
    if (running := sla.running_clock(case, case.sla_policy)) is None:
        return None
    clock, due, target, paused_at = running
    moment = paused_at or now
    if abs(due - moment) <= EXACT_WINDOW:
        return None
    return TimeLeft(clock=clock, due_at=due, left=due - moment, target=target, paused=paused_at is not None, near=False)


def sla_times(cases: Iterable[Case], now: datetime | None = None) -> dict[int, TimeLeft]:
    """Time left on each case's running SLA clock, by case id: business time
    (cases.sla.sla_time_left) within EXACT_WINDOW of the due time, wall-clock time beyond.

    The calendars of the whole page are loaded at once (three queries, whatever the number of
    cases); pass cases fetched with their `sla_policy` and `team` to avoid a query per row.
    """
    now = now or timezone.now()
    cases = [case for case in cases if case.sla_policy_id is not None and case.resolved_at is None and case.closed_at is None]
    if not cases:
        return {}

    def calendar_id(case: Case) -> int | None:
        return case.sla_policy.calendar_id or (case.team.calendar_id if case.team_id is not None else None)

    specs = calendar_specs({cid for cid in map(calendar_id, cases) if cid is not None})
    times = {}
    for case in cases:
        left = _far_clock(case, now)
        if left is None:
            spec = specs.get(calendar_id(case))
            left = sla.sla_time_left(case, now, sla.usable(spec) if spec is not None else sla.around_the_clock())
            if left is not None and spec is not None and spec.has_opening:
                left = replace(left, business_hours=True)
        if left is not None:
            times[case.pk] = left
    return times
