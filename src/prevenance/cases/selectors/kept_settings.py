"""The care settings every intake reads, kept per process: active reply templates and signatures,
active SLA policies (with their calendars), active routing rules, the teams (with their
calendars and mailboxes), and the figures of the priority score.

They are few and change rarely, but open_case read them all on every case: six queries and
their ORM compilation, a third of an intake (docs/benchmarks.md, "Email intake"). Each process
now keeps them under a version that one raw statement reads: the row count and latest
`updated_at` of each table, and the number of active rows where there is an `active` flag.
Any save or delete through the ORM, in any process, changes it, and so does switching rows on
or off with a queryset update; this process also forgets them on the save and delete signals.
Only a column changed by a queryset update or raw SQL without touching `updated_at` goes
unseen by the other processes. A team's `last_assigned` is such a column on purpose: routing
reads it from the locked row, never from here.

Inside `pinned_settings()` (one intake) the version is read once, not at every look-up.
"""

import contextlib
import contextvars
import copy
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.db.models.signals import post_delete, post_save

from prevenance.cases.models import (
    PrioritySettings,
    ReplyTemplate,
    RoutingRule,
    Signature,
    SLAPolicy,
    Team,
)
from prevenance.cases.priority import PriorityConfig, straight_apostrophes
from prevenance.cases.selectors.case_settings import priority_settings
from prevenance.core.models import BusinessCalendar
from prevenance.core.text import search_key
from prevenance.customers.normalize import email_lookup_key

# (model, has an `active` flag): the tables whose rows are kept, or which kept rows carry.
_VERSIONED = (
    (ReplyTemplate, True), (Signature, True), (SLAPolicy, True), (RoutingRule, True), (Team, False), (BusinessCalendar, False),
    (PrioritySettings, False),
)


@dataclass(frozen=True)
class KeptSettings:
    templates: tuple[ReplyTemplate, ...] = ()
    signatures: tuple[Signature, ...] = ()
    policies: tuple[SLAPolicy, ...] = ()  # with .calendar
    rules: tuple[RoutingRule, ...] = ()  # in position order
    teams: dict[int, Team] = field(default_factory=dict)  # with .calendar
    # Team mailbox address (lower case) -> team id; the lowest id when two teams share one.
    mailboxes: dict[str, int] = field(default_factory=dict)
    # Routing rule id -> its keywords as one whole-word pattern over folded text (None: any text).
    keyword_patterns: dict[int, re.Pattern | None] = field(default_factory=dict)
    # The figures every case is scored with (the admin's Priority settings; the defaults without a row).
    priority: PriorityConfig = field(default_factory=PriorityConfig)

    def team(self, team_id: int | None) -> Team | None:
        """A copy of the team (callers may set it on a case), or None."""
        team = self.teams.get(team_id) if team_id is not None else None
        return copy.copy(team) if team is not None else None


_kept: tuple[tuple, KeptSettings] | None = None
_pinned: contextvars.ContextVar[KeptSettings | None] = contextvars.ContextVar("prevenance_kept_settings", default=None)


@functools.lru_cache(maxsize=4)
def _version_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    parts, columns = [], []
    for number, (model, has_active) in enumerate(_VERSIONED):
        live = f"SUM(CASE WHEN {quote('active')} THEN 1 ELSE 0 END)" if has_active else "0"
        parts.append(f"(SELECT COUNT(*) AS n, MAX({quote('updated_at')}) AS latest, {live} AS live"
                     f" FROM {quote(model._meta.db_table)}) v{number}")
        columns += [f"v{number}.n", f"v{number}.latest", f"v{number}.live"]
    return f"SELECT {', '.join(columns)} FROM {', '.join(parts)}"


def _version() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(_version_sql(connection.vendor))
        return tuple(cursor.fetchone())


def keyword_pattern(keywords: str) -> re.Pattern | None:
    """Any of the comma- or line-separated keywords as whole words, over search_key-folded text
    (apostrophes straightened: a keyword typed with ’ matches a message typed with ' too)."""
    words = [straight_apostrophes(search_key(word)) for word in re.split(r"[,\n]", keywords or "") if search_key(word)]
    if not words:
        return None
    return re.compile("|".join(rf"(?<!\w){re.escape(word)}(?!\w)" for word in words))


def _load() -> KeptSettings:
    teams = {team.pk: team for team in Team.objects.select_related("calendar").order_by("pk")}
    mailboxes: dict[str, int] = {}
    for team in teams.values():  # by id: the lowest id wins a shared address
        if team.email:
            # As written, and as the parser gives addresses (an accented domain in A-labels).
            for address in dict.fromkeys((team.email.lower(), email_lookup_key(team.email))):
                mailboxes.setdefault(address, team.pk)
    rules = tuple(RoutingRule.objects.filter(active=True).order_by("position", "pk"))
    return KeptSettings(
        templates=tuple(ReplyTemplate.objects.filter(active=True)),
        signatures=tuple(Signature.objects.filter(active=True)),
        policies=tuple(SLAPolicy.objects.filter(active=True).select_related("calendar")),
        rules=rules,
        teams=teams,
        mailboxes=mailboxes,
        keyword_patterns={rule.pk: keyword_pattern(rule.keywords) for rule in rules},
        priority=priority_settings().as_priority_config(),
    )


def _current() -> KeptSettings:
    global _kept  # noqa: PLW0603 - the process's copy
    version = _version()
    kept = _kept
    if kept is None or kept[0] != version:
        kept = (version, _load())
        _kept = kept
    return kept[1]


def kept_settings() -> KeptSettings:
    """The settings as they are now (one version statement), or as pinned for this intake.
    The rows are shared: read them, copy one before changing it (KeptSettings.team does)."""
    return _pinned.get() or _current()


def priority_config() -> PriorityConfig:
    """The figures of the priority score as the administrator set them last, from this
    process's copy: free inside an intake (pinned), one version statement outside."""
    return kept_settings().priority


@contextlib.contextmanager
def pinned_settings() -> Iterator[KeptSettings]:
    """Read the version once for a whole intake: every look-up inside sees the same settings."""
    pinned = _pinned.get()
    if pinned is not None:
        yield pinned
        return
    token = _pinned.set(_current())
    try:
        yield _pinned.get()
    finally:
        _pinned.reset(token)


def forget_kept_settings(**kwargs) -> None:
    """Drop this process's copy (connected to the save and delete signals of the kept models)."""
    global _kept  # noqa: PLW0603
    _kept = None


for _model, _has_active in _VERSIONED:
    for _signal in (post_save, post_delete):
        _signal.connect(forget_kept_settings, sender=_model, dispatch_uid=f"prevenance-kept-{_model.__name__}-{_signal is post_save}")
