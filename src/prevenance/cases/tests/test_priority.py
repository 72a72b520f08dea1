"""The priority score: each rule on its own, the level it gives, what the intake stores, and the
periodic refresh of the time rules (age, SLA time left)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from prevenance.cases import events as case_events
from prevenance.cases import priority
from prevenance.cases import tasks as case_tasks
from prevenance.cases.choices import CaseAuditKind, CaseStatus, CaseType, Priority
from prevenance.cases.models import Case, PrioritySettings, SLAPolicy
from prevenance.cases.selectors import inbox
from prevenance.cases.selectors.kept_settings import priority_config
from prevenance.cases.services import change_status
from prevenance.cases.services import priority as priority_services
from prevenance.cases.services.case_settings import update_priority_settings
from prevenance.cases.services.updates import change_priority
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import OrderStatus
from prevenance.customers.models import Customer
from prevenance.customers.tests.factories import OrderFactory

H = timedelta(hours=1)
# The figures a new installation starts with (the admin's Priority settings change them).
DEFAULTS = priority.PriorityConfig()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def signals(text: str = "", **fields) -> priority.Signals:
    case_type, channel = fields.pop("case_type", CaseType.QUESTION), fields.pop("channel", Channel.EMAIL)
    return priority.Signals(case_type=case_type, channel=channel, text=text, **fields)


def codes(text: str = "", **fields) -> dict[str, int]:
    return {reason.code: reason.points for reason in priority.score(signals(text, **fields), DEFAULTS).reasons}


# Rules, one by one (pure) -----------------------------------------------------------------


def test_a_plain_question_scores_zero_and_is_normal():
    result = priority.score(signals("Bonjour, quand arrive ma commande ?"), DEFAULTS)
    assert (result.points, result.level, result.reasons) == (0, Priority.NORMAL, ())


@pytest.mark.parametrize(("total", "points"), [("0", 0), ("499.99", 0), ("500", 10), ("1500", 20), ("4999", 20), ("5000", 30)])
def test_customer_value_thresholds(total, points):
    assert codes(order_total=Decimal(total)).get("customer_value", 0) == points


def test_vip_adds_its_points():
    assert codes(is_vip=True) == {"vip": 25}


def test_complaints_and_incidents_come_before_requests_before_questions():
    points = {kind: codes(case_type=kind).get("case_type", 0) for kind in CaseType.values}
    assert points == {"complaint": 20, "incident": 20, "request": 10, "question": 0}


@pytest.mark.parametrize("channel", [Channel.SOCIAL, Channel.FORUM])
def test_public_channels_add_points(channel):
    assert codes(channel=channel) == {"public_channel": 20}


def test_private_channels_add_nothing():
    assert codes(channel=Channel.PHONE) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Je suis furieux", {"sentiment_negative": 12}),
        ("I am furious", {"sentiment_negative": 12}),
        ("Je suis très déçu", {"sentiment_negative": 9}),  # intensifier: 2 × 1.5 × 3
        ("Je suis déçu", {"sentiment_negative": 6}),
        ("je ne suis pas content", {"sentiment_negative": 6}),  # a negated positive word
        ("I am not happy", {"sentiment_negative": 6}),
        ("Merci", {}),  # politeness alone changes nothing
        ("Merci beaucoup, c'est parfait", {"sentiment_positive": -6}),
        ("C'est INADMISSIBLE, SCANDALEUX et HONTEUX", {"sentiment_negative": 30, "capitals": 5}),  # capped at 30
    ],
)
def test_sentiment_in_french_and_english_with_negation_and_intensifiers(text, expected):
    assert codes(text) == expected


def test_a_negated_negative_word_is_not_counted_as_anger():
    assert priority.sentiment("not bad at all").polarity > 0


def test_exclamations_and_capitals():
    assert codes("Where is my parcel!!!") == {"exclamations": 5}
    assert codes("WHERE IS THE PARCEL I ORDERED") == {"capitals": 5}
    assert codes("My SNCF TGV ticket, order ABC123") == {}  # a few acronyms are not shouting


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Je vais résilier mon abonnement", "churn_threat"),
        ("I will cancel my subscription", "churn_threat"),
        ("Je vais aller voir ailleurs", "churn_threat"),
        ("Je ne commanderai plus jamais chez vous", "churn_threat"),
        ("Mon avocat vous contactera", "legal_threat"),
        ("I will call my lawyer", "legal_threat"),
        ("Je vais saisir UFC Que Choisir", "legal_threat"),
    ],
)
def test_threats_to_leave_or_go_to_court(text, code):
    assert code in codes(text)


def test_a_negated_threat_is_no_threat():
    assert "churn_threat" not in codes("Je ne veux pas résilier, juste changer d'adresse")
    assert "legal_threat" not in codes("I don't want a lawyer involved, just fix it")


# Review fixes: clauses, number signs, apostrophes, "cancel my", plurals, the reader's language.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jamais reçu. Inadmissible.", {"sentiment_negative": 12}),
        ("Rien reçu. Scandaleux.", {"sentiment_negative": 12}),
        ("Pas reçu ; scandaleux", {"sentiment_negative": 12}),
        ("Never arrived!\nUnacceptable", {"sentiment_negative": 12}),
        ("Rien à dire, parfait et merci", {"sentiment_positive": -6}),
        ("Jamais reçu\n\nInadmissible", {"sentiment_negative": 12}),  # a blank line ends a clause
    ],
)
def test_a_negation_stops_at_the_end_of_its_clause(text, expected):
    assert codes(text) == expected


def test_a_negation_still_reaches_within_its_clause():
    assert codes("je ne suis pas content") == {"sentiment_negative": 6}
    # A single line break is the mail client's wrapping, not the end of the clause
    assert codes("Bonjour,\nje ne suis pas\ncontent du tout de votre service.") == {"sentiment_negative": 6}
    assert codes("I am not\r\nhappy with the delivery") == {"sentiment_negative": 6}
    assert "churn_threat" in codes("Hello, I will cancel my\nsubscription if nothing happens this week.")
    assert codes("Je n'ai jamais été satisfait") == {"sentiment_negative": 6}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Commande n° 4521 : inadmissible", {"sentiment_negative": 12}),
        ("Commande n° 4521 inadmissible", {"sentiment_negative": 12}),
        ("Commande nº 4521 inadmissible", {"sentiment_negative": 12}),
        ("Commande N°4521 inadmissible", {"sentiment_negative": 12}),
        ("Order No. 4521 damaged", {"sentiment_negative": 3}),
        ("Order No 4521 damaged", {"sentiment_negative": 3}),
        ("Order № 4521 damaged", {"sentiment_negative": 3}),
    ],
)
def test_a_number_sign_is_no_negation(text, expected):
    assert codes(text) == expected


def test_no_and_the_elision_n_are_still_negations():
    assert codes("No happy ending with this parcel") == {"sentiment_negative": 6}
    assert codes("Je n’étais pas content") == {"sentiment_negative": 6}
    assert "n" not in priority.NEGATORS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I wasn’t happy with the delivery", {"sentiment_negative": 6}),
        ("I wasn‘t happy with the delivery", {"sentiment_negative": 6}),
        ("I don’t want to cancel my subscription", {}),
        ("Je ne veux pas résilier, c’est parfait et merci", {"sentiment_positive": -6}),
    ],
)
def test_a_typographic_apostrophe_reads_as_a_straight_one(text, expected):
    assert codes(text) == expected


@pytest.mark.parametrize(
    ("text", "threat"),
    [
        ("Please cancel my order, I ordered the wrong size", False),
        ("Can you cancel my appointment on Monday?", False),
        ("I will cancel my subscription", True),
        ("I am going to cancel my account", True),
        ("I will cancel my contract tomorrow", True),
        ("Merci d'annuler mon abonnement", True),
        ("Je vais annuler ma commande", False),
    ],
)
def test_only_cancelling_the_relationship_threatens_to_leave(text, threat):
    assert ("churn_threat" in codes(text)) is threat


def test_the_age_reason_says_day_or_days():
    assert priority.Reason(priority.AGE, 5, {"days": 1}).label() == "Waiting for 1 day or more"
    assert priority.Reason(priority.AGE, 10, {"days": 3}).label() == "Waiting for 3 days or more"
    opened = utc(2026, 12, 1, 9)
    age = next(r for r in priority.score(signals(opened_at=opened, now=opened + 25 * H), DEFAULTS).reasons if r.code == priority.AGE)
    assert age.label() == "Waiting for 1 day or more"


def test_reasons_store_codes_and_are_named_in_the_readers_language():
    # Scored in a worker whose language is English, read by a French agent.
    with translation.override("en"):
        result = priority.score(signals("Bonjour", case_type=CaseType.COMPLAINT, channel=Channel.SOCIAL), DEFAULTS)
        stored = result.stored_reasons()
        _points, stored = priority.with_level_floor(stored, Priority.URGENT, DEFAULTS)
    by_code = {reason["code"]: reason for reason in stored}
    assert by_code["case_type"]["params"] == {"type": "complaint"}
    assert by_code["public_channel"]["params"] == {"channel": "social"}
    assert by_code[priority.LEVEL_FLOOR]["params"] == {"level": "urgent"}
    assert by_code["case_type"]["label"] == "Case type: Complaint"
    with translation.override("fr"):
        assert priority.reason_label(by_code["case_type"]) == "Type de dossier : Réclamation"
        assert priority.reason_label(by_code["public_channel"]) == "Canal public : Réseau social"
        assert priority.reason_label(by_code[priority.LEVEL_FLOOR]) == "Priorité relevée à Urgente"


def test_reasons_stored_with_names_are_still_shown():
    # Stored before the codes: the name in the language of the process that scored the case.
    old = [
        {"code": "case_type", "points": 20, "label": "Case type: Complaint", "params": {"type": "Complaint"}},
        {"code": "public_channel", "points": 20, "label": "Canal public : Réseau social", "params": {"channel": "Réseau social"}},
        {"code": "level_floor", "points": 5, "label": "Priority raised to Urgent", "params": {"level": "Urgent"}},
    ]
    with translation.override("fr"):
        assert [priority.reason_label(reason) for reason in old] == [
            "Type de dossier : Complaint", "Canal public : Réseau social", "Priorité relevée à Urgent",
        ]
    assert priority.with_level_floor(old, Priority.URGENT, DEFAULTS)[0] == 60  # and they still count


def test_reasons_name_the_words_as_the_customer_wrote_them_while_matching_folded_text():
    text = "Canapé livré avec un pied CASSÉ, tissu abîmé. Cassé ! Je vais porter plainte auprès de l’UFC-Que Choisir et résilier"
    reasons = {reason.code: reason for reason in priority.score(signals(text), DEFAULTS).reasons}
    assert reasons["sentiment_negative"].params == {"words": "CASSÉ, abîmé, plainte"}  # the first "cassé" as written
    assert reasons["legal_threat"].params == {"words": "porter plainte, Que Choisir"}
    assert reasons["churn_threat"].params == {"words": "résilier"}
    with translation.override("fr"):
        assert reasons["sentiment_negative"].label() == "Ton négatif : CASSÉ, abîmé, plainte"


def test_reasons_stored_with_folded_words_are_still_shown():
    old = {"code": "sentiment_negative", "points": 6, "label": "Negative tone: cassee, abimee", "params": {"words": "cassee, abimee"}}
    with translation.override("fr"):
        assert priority.reason_label(old) == "Ton négatif : cassee, abimee"


def test_age_steps():
    opened = utc(2026, 12, 1, 9)
    assert codes(opened_at=opened, now=opened + 23 * H) == {}
    assert codes(opened_at=opened, now=opened + 25 * H) == {"age": 5}
    assert codes(opened_at=opened, now=opened + timedelta(days=3)) == {"age": 10}
    assert codes(opened_at=opened, now=opened + timedelta(days=9)) == {"age": 20}


def test_sla_time_left():
    assert codes(sla_state="near") == {"sla_near": 15}
    assert codes(sla_state="breached") == {"sla_breached": 30}


def test_levels_follow_the_score():
    assert [priority.level_for(p, DEFAULTS) for p in (-1, 0, 29, 30, 59, 60)] == ["low", "normal", "normal", "high", "high", "urgent"]


def test_an_angry_vip_complaint_on_twitter_is_urgent_and_every_reason_is_shown():
    result = priority.score(signals(
        "Colis jamais arrivé, c'est inadmissible !! Je vais résilier.", case_type=CaseType.COMPLAINT, channel=Channel.SOCIAL,
        is_vip=True,
    ), DEFAULTS)
    assert result.level == Priority.URGENT
    assert {r.code for r in result.reasons} == {"vip", "case_type", "sentiment_negative", "exclamations", "churn_threat", "public_channel"}
    assert result.points == sum(r.points for r in result.reasons)
    stored = result.stored_reasons()
    assert all(set(item) == {"code", "points", "label", "params"} for item in stored)
    assert "Threatens to leave: résilier" in [item["label"] for item in stored]  # as written
    assert [priority.reason_label(item) for item in stored] == [item["label"] for item in stored]


@pytest.mark.django_db
def test_the_figures_are_the_admins(admin_user):
    update_priority_settings(actor=admin_user, vip_points=70, public_channels=[Channel.SOCIAL, Channel.CHAT])
    conf = priority_config()
    assert priority.score(signals(is_vip=True), conf).level == Priority.URGENT
    assert {r.code: r.points for r in priority.score(signals(channel=Channel.CHAT), conf).reasons} == {"public_channel": 20}


def test_the_default_figures_are_the_settings_row_defaults():
    assert PrioritySettings().as_priority_config() == DEFAULTS


# What the intake stores -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_intake_stores_score_reasons_and_level():
    case = open_email_case(
        "angry@example.com", subject="Réclamation", body="Je suis furieux, je vais résilier !!", type=CaseType.COMPLAINT
    ).case
    case = Case.objects.get(pk=case.pk)
    assert case.priority_score == 20 + 12 + 5 + 20
    assert [r["code"] for r in case.priority_reasons] == ["case_type", "sentiment_negative", "exclamations", "churn_threat"]
    assert case.priority == Priority.HIGH
    assert case.language == "fr"


@pytest.mark.django_db
def test_customer_value_counts_twelve_months_of_sold_orders_in_the_currency():
    now = timezone.now()
    customer = open_email_case("buyer@example.com", subject="Question", body="Bonjour").case.customer
    OrderFactory(customer=customer, amount=Decimal("400"), ordered_at=now - timedelta(days=30))
    OrderFactory(customer=customer, amount=Decimal("300"), ordered_at=now - timedelta(days=200))
    OrderFactory(customer=customer, amount=Decimal("5000"), ordered_at=now - timedelta(days=400))  # too old
    OrderFactory(customer=customer, amount=Decimal("5000"), ordered_at=now - timedelta(days=3), status=OrderStatus.CANCELLED)
    OrderFactory(customer=customer, amount=Decimal("5000"), ordered_at=now - timedelta(days=3), currency="USD")
    assert priority_services.order_total(customer, now=now, currency="EUR") == Decimal("700")
    case = open_email_case("buyer@example.com", subject="Question", body="Bonjour").case
    assert {r["code"]: r["points"] for r in Case.objects.get(pk=case.pk).priority_reasons} == {"customer_value": 10}


@pytest.mark.django_db
def test_a_vip_customer_raises_the_priority():
    customer = open_email_case("vip@example.com", subject="Question", body="Bonjour").case.customer
    Customer.objects.filter(pk=customer.pk).update(is_vip=True)
    case = Case.objects.get(pk=open_email_case("vip@example.com", subject="Question", body="Bonjour").case.pk)
    assert case.priority_reasons[0]["code"] == "vip"


@pytest.mark.django_db
def test_a_priority_given_at_intake_is_a_floor():
    urgent = open_email_case("a@example.com", subject="Question", body="Bonjour", priority=Priority.URGENT).case
    low = open_email_case("b@example.com", body="C'est inadmissible, je vais résilier !!", priority=Priority.LOW).case
    polite = open_email_case("c@example.com", body="Merci beaucoup, parfait").case
    assert Case.objects.get(pk=urgent.pk).priority == Priority.URGENT
    assert Case.objects.get(pk=low.pk).priority == Priority.HIGH
    assert Case.objects.get(pk=polite.pk).priority == Priority.LOW


@pytest.mark.django_db
def test_a_level_above_the_score_tops_the_score_up_to_its_threshold():
    urgent = Case.objects.get(pk=open_email_case("a@example.com", subject="Question", body="Bonjour", priority=Priority.URGENT).case.pk)
    floor = [reason for reason in urgent.priority_reasons if reason["code"] == priority.LEVEL_FLOOR]
    assert urgent.priority_score == 60 and floor[0]["label"] == "Priority raised to Urgent"
    assert priority.reason_label(floor[0]) == "Priority raised to Urgent"


@pytest.mark.django_db
def test_a_case_set_urgent_by_hand_comes_first_in_the_inbox_and_lowering_it_takes_the_top_up_away(supervisor):
    angry = open_email_case("a@example.com", subject="Réclamation", body="C'est inadmissible !!", type=CaseType.COMPLAINT).case
    quiet = open_email_case("b@example.com", subject="Question", body="Bonjour").case
    assert Case.objects.get(pk=angry.pk).priority_score > Case.objects.get(pk=quiet.pk).priority_score
    change_priority(case=quiet, priority=Priority.URGENT, actor=supervisor)
    first = inbox(supervisor, view="open").items[0]
    assert (first.pk, first.priority, first.priority_score) == (quiet.pk, Priority.URGENT, 60)
    change_priority(case=quiet, priority=Priority.NORMAL, actor=supervisor)
    quiet = Case.objects.get(pk=quiet.pk)
    assert quiet.priority_score == 0 and not any(r["code"] == priority.LEVEL_FLOOR for r in quiet.priority_reasons)


@pytest.mark.django_db
def test_a_bad_priority_at_intake_is_refused_and_nothing_is_written():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        open_email_case(priority="asap")
    assert "priority" in raised.value.message_dict
    assert not Case.objects.exists()


# The periodic refresh ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_refresh_adds_age_points_once_and_is_idempotent():
    opened = utc(2026, 12, 1, 9)
    case = open_email_case(subject="Question", body="Bonjour", received_at=opened).case
    assert priority_services.refresh_priority_scores(now=opened + 2 * H) == 0
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=3, hours=1)) == 1
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=3, hours=2)) == 0
    case = Case.objects.get(pk=case.pk)
    assert (case.priority_score, [r["code"] for r in case.priority_reasons]) == (10, ["age"])
    # A day older, same step: nothing to rewrite (the reason names the step, not the age).
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=4, hours=1)) == 0
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=8)) == 1
    assert Case.objects.get(pk=case.pk).priority_reasons == [
        {"code": "age", "points": 20, "label": "Waiting for 7 days or more", "params": {"days": 7}}
    ]
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=30)) == 0


@pytest.mark.django_db
def test_a_top_up_never_counts_towards_the_next_level(supervisor):
    SLAPolicy.objects.create(name="Standard", first_response_target=2 * H, resolution_target=8 * H)
    opened = utc(2026, 12, 21, 8)
    case = open_email_case(subject="Question", body="Bonjour", received_at=opened).case  # 0 points, normal
    change_priority(case=case, priority=Priority.HIGH, actor=supervisor)  # topped up to 30
    assert priority_services.refresh_priority_scores(now=opened + 3 * H) == 1  # first response overdue: +30
    case = Case.objects.get(pk=case.pk)
    # The rules now give 30 (high) on their own: high, not urgent, and no top-up is needed any more.
    assert (case.priority, case.priority_score) == (Priority.HIGH, 30)
    assert [r["code"] for r in case.priority_reasons] == ["sla_breached"]


@pytest.mark.django_db
def test_the_refresh_follows_the_sla_clock_and_raises_the_level_with_an_audit_row(monkeypatch):
    sent = []
    monkeypatch.setattr(case_events, "emit_event", lambda kind, data: sent.append((kind, data)))
    SLAPolicy.objects.create(name="Standard", first_response_target=2 * H, resolution_target=8 * H)
    opened = utc(2026, 12, 21, 8)
    case = open_email_case(subject="Réclamation", body="Je suis déçu", received_at=opened, type=CaseType.COMPLAINT).case  # 20 + 6
    assert Case.objects.get(pk=case.pk).priority == Priority.NORMAL
    # Around the clock: first response due at 10:00, "due soon" from 09:36
    assert priority_services.refresh_priority_scores(now=opened + 100 * timedelta(minutes=1)) == 1
    near = Case.objects.get(pk=case.pk)
    assert (near.priority_score, near.priority) == (26 + 15, Priority.HIGH)
    assert priority_services.refresh_priority_scores(now=opened + 3 * H) == 1
    late = Case.objects.get(pk=case.pk)
    assert (late.priority_score, late.priority) == (26 + 30, Priority.HIGH)
    # The rise to high is sent to the webhooks too.
    assert {"priority": {"from": "normal", "to": "high"}} in [data["changes"] for kind, data in sent if kind == "case.updated"]
    assert [r["code"] for r in late.priority_reasons][-1] == "sla_breached"
    audits = AuditEvent.objects.filter(kind=CaseAuditKind.PRIORITY_RAISED, subject_id=str(case.pk))
    assert [(a.payload["priority_from"], a.payload["priority_to"]) for a in audits] == [("normal", "high")]


@pytest.mark.django_db
def test_the_refresh_never_lowers_a_level_and_leaves_closed_cases_alone(agent, monkeypatch):
    opened = utc(2026, 12, 1, 9)
    kept = open_email_case("a@example.com", subject="Question", body="Bonjour", received_at=opened, priority=Priority.URGENT).case
    done = open_email_case("b@example.com", subject="Question", body="Bonjour", received_at=opened).case
    change_status(case=done, status=CaseStatus.RESOLVED, actor=agent)
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=2)) == 1
    assert Case.objects.get(pk=kept.pk).priority == Priority.URGENT
    assert Case.objects.get(pk=done.pk).priority_reasons == []


@pytest.mark.django_db
def test_the_refresh_reads_in_batches(monkeypatch):
    opened = utc(2026, 12, 1, 9)
    for n in range(5):
        open_email_case(f"c{n}@example.com", subject="Question", body="Bonjour", received_at=opened)
    assert priority_services.refresh_priority_scores(now=opened + timedelta(days=1, hours=1), batch_size=2) == 5
    assert set(Case.objects.values_list("priority_score", flat=True)) == {5}


@pytest.mark.django_db
def test_the_beat_task_runs_the_refresh(monkeypatch):
    opened = utc(2026, 12, 1, 9)
    open_email_case(subject="Question", body="Bonjour", received_at=opened)
    monkeypatch.setattr(timezone, "now", lambda: opened + timedelta(days=1, hours=1))
    assert case_tasks.refresh_priority_scores() == 1
    assert case_tasks.refresh_priority_scores() == 0
