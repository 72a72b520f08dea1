"""The demo company's customer care: teams, agents, routing, SLAs, and a few hundred cases.

Everything goes through the case services, so the demo shows what a real installation
does: routing, priority, acknowledgements, replies, gestures within and above delegation
limits, surveys, tags and root causes. The services stamp "now"; a demo spread over two
months then moves each case's timestamps back to when it happened (`_backdate`), which only
a demo may do; survey answers are given at their own moment, after that. At the end the
periodic jobs (priority refresh, SLA check) run once at the demo's "now", so the inbox is
in order from the first page shown.
"""

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from prevenance.cases.choices import CaseStatus, CaseType, GestureType, MessageKind
from prevenance.cases.models import (
    Case,
    Gesture,
    Message,
    RootCause,
    RoutingRule,
    SatisfactionSurvey,
    SLAPolicy,
    Tag,
    Team,
)
from prevenance.cases.services import (
    add_reply,
    answer_survey,
    change_status,
    ensure_default_limits,
    ensure_default_templates,
    open_case,
    request_gesture,
)
from prevenance.cases.services.labels import set_case_labels
from prevenance.cases.services.outbound import send_due_emails
from prevenance.cases.services.priority import refresh_priority_scores
from prevenance.cases.services.routing import set_availability
from prevenance.cases.services.sla import check_sla_breaches
from prevenance.cases.services.sla_policies import create_sla_policy
from prevenance.cases.services.surveys import ANSWER_WINDOW, send_due_surveys, survey_delay
from prevenance.core.calendars import (
    add_holiday,
    create_business_calendar,
    default_calendar_periods,
)
from prevenance.core.models import BusinessCalendar
from prevenance.core.roles import AGENT, SUPERVISOR, assign_role
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Customer, Identity
from prevenance.customers.services import IdentityInput
from prevenance.demo.case_texts import (
    CASE_TEXTS,
    GESTURE_REASONS,
    REPLIES,
    ROOT_CAUSES,
    SURVEY_COMMENTS,
    TAGS,
    CaseText,
)
from prevenance.demo.emails import emails_nowhere
from prevenance.interactions.models import Interaction

CARE_MAILBOX = "service-client@maison-prevenance.example"
COMPLAINTS_MAILBOX = "reclamations@maison-prevenance.example"
# (username, first name, last name, email, role, team key). The supervisor has an address
# (reserved .example domain) to be told of SLA breaches; without one, every breach would log
# a warning that nobody can be told.
STAFF = [
    ("nadia.supervision", "Nadia", "Benali", "nadia.benali@maison-prevenance.example", SUPERVISOR, "care"),
    ("camille.agent", "Camille", "Martin", "", AGENT, "care"),
    ("lucas.agent", "Lucas", "Bernard", "", AGENT, "care"),
    ("sarah.agent", "Sarah", "Petit", "", AGENT, "complaints"),
    ("hugo.agent", "Hugo", "Moreau", "", AGENT, "complaints"),
]
SPREAD_DAYS = 60
# Survey answers: about half the customers never answer; those who do answer a few hours
# after the invitation (median 3 hours, a few days at most, inside the answer window).
SURVEY_ANSWER_RATE = 0.5
ANSWER_DELAY_MEDIAN_MINUTES = 180
LATEST_ANSWER = ANSWER_WINDOW - timedelta(days=1)
# CSAT 1-5: mostly satisfied, less so after a complaint.
CSAT_WEIGHTS = {"complaint": [10, 8, 12, 32, 38], "other": [3, 3, 8, 34, 52]}


@dataclass
class CaseDemoSummary:
    cases: int = 0
    replied: int = 0
    resolved: int = 0
    gestures: int = 0
    surveys_answered: int = 0
    labelled: int = 0
    sla_events: int = 0


def _staff() -> dict[str, object]:
    """The demo team's people, without a password: an administrator sets one to log in as them."""
    User = get_user_model()
    users = {}
    for username, first, last, email, role, _team in STAFF:
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last,
                                                                                "email": email})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        assign_role(user=user, role=role)  # the supervisor is staff: SLA policies, templates in the admin
        users[username] = user
    return users


def _office_hours(now: datetime) -> BusinessCalendar:
    """The service's opening hours (Paris, Monday to Friday 09:00–12:30 and 13:30–18:00) and
    French public holidays: the teams' SLA clocks run in business hours, as the README says.
    Holidays are entered year by year, as a real service does: those of the demo's year, the
    one before (its story) and the next (due times), for each of those years that has none."""
    calendar = BusinessCalendar.objects.filter(name=OFFICE_HOURS).first()
    if calendar is None:
        calendar = create_business_calendar(name=OFFICE_HOURS, time_zone="Europe/Paris", periods=default_calendar_periods())
    for year in range(now.year - 1, now.year + 2):
        if not calendar.holidays.filter(date__year=year).exists():
            for day, name in french_public_holidays(year):
                add_holiday(calendar=calendar, date=day, name=name)
    return calendar


def _teams(users: dict, now: datetime) -> dict[str, Team]:
    hours = _office_hours(now)
    care, _created = Team.objects.get_or_create(name="Service client", defaults={"email": CARE_MAILBOX, "calendar": hours})
    complaints, _created = Team.objects.get_or_create(
        name="Réclamations", defaults={"email": COMPLAINTS_MAILBOX, "calendar": hours})
    teams = {"care": care, "complaints": complaints}
    for username, _first, _last, _email, _role, team_key in STAFF:
        teams[team_key].members.add(users[username])
    # The supervisor watches both teams.
    supervisor = users[STAFF[0][0]]
    complaints.members.add(supervisor)
    # A member of both teams to see their cases, but routing gives her none: she supervises.
    set_availability(user=supervisor, available=False, actor=supervisor)
    return teams


def _routing(teams: dict[str, Team]) -> None:
    RoutingRule.objects.get_or_create(
        name="Réclamations et incidents", defaults={"position": 10, "case_type": CaseType.COMPLAINT, "team": teams["complaints"]}
    )
    RoutingRule.objects.get_or_create(
        name="Réseaux sociaux", defaults={"position": 20, "channel": "social", "team": teams["complaints"]}
    )
    RoutingRule.objects.get_or_create(name="Tout le reste", defaults={"position": 1000, "team": teams["care"]})


# Targets in business hours, on the teams' calendar (8 hours a day, _office_hours): an answer
# within a working day and a resolution within three; complaints answered within half a day
# and settled within two (docs/cases.md, "SLA policies"). Never timedelta(days=...): a day of
# business time is 24 business hours, three working days.
DEMO_SLA_POLICIES = [
    ("Standard", {"first_response_target": timedelta(hours=8), "resolution_target": timedelta(hours=24)}),
    ("Réclamations", {"case_type": CaseType.COMPLAINT, "first_response_target": timedelta(hours=4),
                      "resolution_target": timedelta(hours=16)}),
]


def _sla_policies(supervisor) -> None:
    wanted = DEMO_SLA_POLICIES
    for name, values in wanted:
        if not SLAPolicy.objects.filter(name=name).exists():
            create_sla_policy(actor=supervisor, name=name, **values)


def _labels() -> tuple[dict[str, Tag], dict[tuple[str, str], RootCause]]:
    """The demo's tags and its root-cause tree (demo/case_texts.py), kept as they are if there."""
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}
    causes = {}
    for category, names in ROOT_CAUSES.items():
        parent, _created = RootCause.objects.get_or_create(name=category, parent=None)
        for name in names:
            causes[(category, name)] = RootCause.objects.get_or_create(name=name, parent=parent)[0]
    return tags, causes


def _customers_to_write(count: int, rng: random.Random) -> list[tuple[Customer, str]]:
    """Customers with an email address and at least one order, with that address."""
    rows = list(
        Identity.objects.filter(kind=IdentityKind.EMAIL, customer__orders__isnull=False, customer__erased_at__isnull=True,
                                customer__merged_into__isnull=True)
        .values_list("customer_id", "value").distinct().order_by("customer_id")[: count * 3]
    )
    rng.shuffle(rows)
    chosen = {}
    for customer_id, email in rows:
        chosen.setdefault(customer_id, email)
        if len(chosen) == count:
            break
    customers = Customer.objects.in_bulk(list(chosen))
    return [(customers[pk], email) for pk, email in chosen.items()]


def _moment(rng: random.Random, now: datetime) -> datetime:
    # Office hours, more recent days more likely (the backlog of a live service).
    days_ago = min(int(rng.expovariate(1 / 18)), SPREAD_DAYS) + 1
    return (now - timedelta(days=days_ago)).replace(hour=rng.randint(8, 19), minute=rng.randint(0, 59), second=0, microsecond=0)


def _backdate(case: Case, *, replied_at: datetime | None, resolved_at: datetime | None) -> None:
    """Move what the services stamped "now" back to when it happened in the demo story: the
    acknowledgement a minute after the message, the first reply at `replied_at`, the closing
    reply at `resolved_at`."""
    case.refresh_from_db()
    acknowledged_at = case.created_at + timedelta(minutes=1)
    times = [acknowledged_at] if case.acknowledged_at else []
    times += [when for when in (replied_at, resolved_at) if when]
    outbound = list(case.messages.filter(kind=MessageKind.OUTBOUND).order_by("created_at", "id"))
    # Anything after the closing reply (the survey invitation) follows it by a minute.
    times += [times[-1] + timedelta(minutes=1)] * (len(outbound) - len(times))
    for message, when in zip(outbound, times, strict=False):
        Message.objects.filter(pk=message.pk).update(created_at=when, sent_at=when if message.sent_at else None)
        if message.interaction_id:
            Interaction.objects.filter(pk=message.interaction_id).update(occurred_at=when)
    fields = {"acknowledged_at": acknowledged_at} if case.acknowledged_at else {}
    if case.first_response_at and replied_at:
        fields["first_response_at"] = replied_at
    if resolved_at:
        fields["resolved_at"] = fields["first_resolved_at"] = resolved_at
        SatisfactionSurvey.objects.filter(case=case).update(sent_at=resolved_at)
    Gesture.objects.filter(case=case).update(created_at=replied_at or case.created_at)
    Gesture.objects.filter(case=case, decided_at__isnull=False).update(decided_at=replied_at)
    if fields:
        Case.objects.filter(pk=case.pk).update(**fields)


@dataclass
class CaseStory:
    """What _write_case did, for what follows its commit: the backdating, labels and survey."""

    case: Case
    text: CaseText
    language: str
    agent: object | None = None
    replied_at: datetime | None = None
    resolved_at: datetime | None = None


def _write_case(
    customer: Customer, email: str, *, rng: random.Random, now: datetime, users: dict, summary: CaseDemoSummary
) -> CaseStory:
    """One case's story, up to its resolution (the survey is answered later, _answer_survey)."""
    language = "en" if customer.language == "en" else "fr"
    text = rng.choice(CASE_TEXTS[language])
    case_type, channel, subject, body = text.type, text.channel, text.subject, text.body
    order = customer.orders.order_by("-ordered_at").first()
    opened_at = _moment(rng, now)
    intake = open_case(
        identities=[IdentityInput(kind=IdentityKind.EMAIL, value=email)], channel=channel, subject=subject,
        body=body.format(order=order.reference if order else ""), type=case_type, order=order, received_at=opened_at,
        sender_address=email if channel == "email" else "",
        mailbox=COMPLAINTS_MAILBOX if case_type == CaseType.COMPLAINT and channel == "email" else CARE_MAILBOX if channel == "email" else "",
    )
    story = CaseStory(case=intake.case, text=text, language=language)
    summary.cases += 1
    age = now - opened_at
    if age < timedelta(days=1) or rng.random() < 0.12:
        return story  # still waiting for its first answer: the inbox's work
    agent = story.agent = story.case.assignee or users[rng.choice([s[0] for s in STAFF[1:]])]
    story.replied_at = opened_at + timedelta(minutes=rng.randint(20, 60 * 30))
    # Agents answer by email whatever the channel the customer came through (they gave it).
    add_reply(case=story.case, author=agent, body=REPLIES[language][0].format(first_name=customer.first_name or ""), channel="email")
    summary.replied += 1
    if case_type == CaseType.COMPLAINT and rng.random() < 0.6:
        amount = Decimal(rng.choice([15, 20, 30, 45, 80, 150]))
        request_gesture(case=story.case, type=rng.choice([GestureType.VOUCHER, GestureType.REFUND]), amount=amount,
                        currency="EUR", reason=GESTURE_REASONS[language], actor=agent)
        summary.gestures += 1
    if age > timedelta(days=2) and rng.random() < 0.85:
        # Before "now", with room for the survey invitation a minute after (replied at most
        # 30 hours after opening, over 2 days ago: always before this bound).
        story.resolved_at = min(story.replied_at + timedelta(hours=rng.randint(1, 72)), now - timedelta(hours=1))
        if rng.random() < 0.5:  # the other half was settled by the first answer ("once and done")
            add_reply(case=story.case, author=agent, body=REPLIES[language][1].format(first_name=customer.first_name or ""),
                      channel="email")
        change_status(case=story.case, status=CaseStatus.RESOLVED, actor=agent)
        summary.resolved += 1
    return story


def _label(story: CaseStory, *, rng: random.Random, tags: dict[str, Tag], causes: dict[tuple[str, str], RootCause],
           summary: CaseDemoSummary) -> None:
    """Most answered cases carry their topic's tags; most resolved ones their root cause too
    (often only known once the case is settled). Cases nobody has answered are not filed yet."""
    if story.agent is None:
        return
    chosen = [tags[name] for name in story.text.tags] if rng.random() < 0.8 else []
    cause = causes[story.text.root_cause] if story.resolved_at and rng.random() < 0.8 else None
    if chosen or cause:
        set_case_labels(case=story.case, tags=chosen, root_cause=cause, actor=story.agent)
        summary.labelled += 1


def _answer_survey(story: CaseStory, *, rng: random.Random, now: datetime, summary: CaseDemoSummary) -> None:
    """The customer's answer to the survey sent at resolution (already moved back to then),
    given some hours after it; a survey sent too recently for that is still waiting."""
    survey = SatisfactionSurvey.objects.filter(case=story.case).first()
    if survey is None or rng.random() >= SURVEY_ANSWER_RATE:
        return
    delay = timedelta(minutes=rng.lognormvariate(math.log(ANSWER_DELAY_MEDIAN_MINUTES), 1.3))
    answered_at = survey.sent_at + min(delay, LATEST_ANSWER)
    if answered_at >= now:
        return  # not answered yet: the invitation is still in the customer's inbox
    csat = rng.choices([1, 2, 3, 4, 5], weights=CSAT_WEIGHTS["complaint" if story.text.type == CaseType.COMPLAINT else "other"])[0]
    # Effort (CES 2.0, 7 = very easy) goes with satisfaction, loosely; one customer in five
    # only clicks a score in the email and never fills in the rest of the page.
    ces = max(1, min(7, round(1.5 * csat - 0.5 + rng.gauss(0, 1)))) if rng.random() < 0.8 else None
    tone = "happy" if csat >= 4 else "neutral" if csat == 3 else "unhappy"
    comment = None
    if ces is not None and rng.random() < (0.3 if tone == "happy" else 0.6):
        comment = rng.choice(SURVEY_COMMENTS[story.language][tone])
    answer_survey(token=survey.token, csat=csat, ces=ces, comment=comment, now=answered_at)
    summary.surveys_answered += 1


OFFICE_HOURS = "Horaires du service client"
# French public holidays on fixed dates (month, day); three more follow Easter.
FRENCH_HOLIDAYS = [((1, 1), "Jour de l'an"), ((5, 1), "Fête du travail"), ((5, 8), "Victoire 1945"),
                   ((7, 14), "Fête nationale"), ((8, 15), "Assomption"), ((11, 1), "Toussaint"),
                   ((11, 11), "Armistice 1918"), ((12, 25), "Noël")]
AFTER_EASTER = [(1, "Lundi de Pâques"), (39, "Ascension"), (50, "Lundi de Pentecôte")]


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous algorithm of Meeus, Jones and Butcher)."""
    a, (b, c) = year % 19, divmod(year, 100)
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def french_public_holidays(year: int) -> list[tuple[date, str]]:
    """France's eleven public holidays of `year`, in date order."""
    easter = easter_sunday(year)
    days = [(date(year, *month_day), name) for month_day, name in FRENCH_HOLIDAYS]
    return sorted(days + [(easter + timedelta(days=offset), name) for offset, name in AFTER_EASTER])


def _settle(now: datetime, summary: CaseDemoSummary) -> None:
    """What the periodic jobs would do first thing (cases/tasks.py): score the cases again for
    their age and SLA time left, and record and escalate the SLA breaches, once, at the demo's
    "now". Otherwise an inbox freshly loaded shows a case days late as "Normal · 0" until the
    next refresh. The supervisor's breach notices go to the dummy backend of the caller."""
    refresh_priority_scores(now=now)
    summary.sla_events = check_sla_breaches(now=now)


def build_demo_cases(
    *, count: int, seed: int, now: datetime, progress: bool = False, settle_at: datetime | None = None,
) -> CaseDemoSummary:
    """`count` cases over the last two months on existing demo customers, with the care set-up they need.

    The priority refresh and the SLA check run once at the end, at `settle_at` (default `now`):
    a demo loaded during the day it tells passes the real time, so that what fell due since
    its midnight is caught now, with the load's emails going nowhere, not by the first live
    check (which mailed the supervisor a dozen notices)."""
    rng = random.Random(seed)
    # Labels and survey answers draw from a sequence of their own: changing how they are
    # drawn leaves the cases' story as it was.
    after = random.Random(f"demo-case-aftermath-{seed}")
    summary = CaseDemoSummary()
    if Case.objects.exists():
        return summary  # built once: a re-run (demo --force) or a live service adds none
    ensure_default_limits()
    ensure_default_templates()
    users = _staff()
    teams = _teams(users, now)
    _routing(teams)
    _sla_policies(users[STAFF[0][0]])
    tags, causes = _labels()
    customers = _customers_to_write(count, rng)
    # Fictional people: acknowledgements, replies, surveys and the supervisor's SLA notices go
    # nowhere, and are marked sent at once (eager tasks) instead of queueing hundreds of emails
    # for the first worker start.
    with emails_nowhere():
        for customer, email in tqdm(customers, disable=not progress, unit="case", desc="demo cases"):
            with transaction.atomic():
                story = _write_case(customer, email, rng=rng, now=now, users=users, summary=summary)
            # After the commit: the (eager) sending tasks run on commit and stamp sent_at;
            # the acknowledgement waits in the outbox for a sweep, run here at once, and so does
            # the survey of a resolved case, as if its delay had passed (then moved back below).
            send_due_emails()
            send_due_surveys(now=timezone.now() + survey_delay())
            with transaction.atomic():
                _backdate(story.case, replied_at=story.replied_at, resolved_at=story.resolved_at)
                _label(story, rng=after, tags=tags, causes=causes, summary=summary)
                if story.resolved_at:
                    _answer_survey(story, rng=after, now=now, summary=summary)
        _settle(settle_at or now, summary)
    return summary
