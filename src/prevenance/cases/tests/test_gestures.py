"""Commercial gestures: delegation limits, approval, vouchers, bad input, GDPR."""

import re
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.utils import translation

from prevenance.cases.choices import GestureStatus, GestureType
from prevenance.cases.models import DelegationLimit, Gesture
from prevenance.cases.selectors import (
    delegation_limit,
    gesture_approval_queue,
    gestures_beyond_my_limit,
    remaining_delegation,
)
from prevenance.cases.services import (
    approve_gesture,
    cancel_gesture,
    ensure_default_limits,
    merge_cases,
    new_voucher_code,
    refuse_gesture,
    request_gesture,
)
from prevenance.cases.services import gestures as gesture_services
from prevenance.cases.tests.factories import (
    an_approver_who_leaves,
    gesture_waiting_without_limit,
    limits_in,
    open_email_case,
    trust_without_proof,
)
from prevenance.core.models import AuditEvent
from prevenance.customers.services import erase_customer, export_customer_data, merge_customers
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

VOUCHER = re.compile(r"PRV-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def ask(actor, amount="20.00", *, case=None, type=GestureType.REFUND, currency="EUR", reason="Colis abîmé"):  # noqa: A002
    case = case or open_email_case().case
    return request_gesture(case=case, type=type, amount=amount, currency=currency, reason=reason, actor=actor)


def gesture_audits(gesture=None):
    rows = AuditEvent.objects.filter(kind__startswith="gesture.")
    if gesture is not None:
        rows = rows.filter(subject_type="cases.gesture", subject_id=str(gesture.pk))
    return list(rows.order_by("id").values_list("kind", flat=True))


# --- defaults and limits -------------------------------------------------------------------

def test_the_default_limits_exist_after_migrate():
    limits = {(limit.group.name, limit.currency): limit.max_amount for limit in DelegationLimit.objects.select_related("group")}
    assert limits == {("agent", "EUR"): Decimal("50.00"), ("supervisor", "EUR"): Decimal("2000.00")}


def test_ensure_default_limits_leaves_an_edited_limit_alone():
    DelegationLimit.objects.filter(group__name="agent").update(max_amount=Decimal("80.00"))
    ensure_default_limits()
    assert DelegationLimit.objects.get(group__name="agent").max_amount == Decimal("80.00")
    assert DelegationLimit.objects.count() == 2


def test_an_agent_grants_up_to_their_limit_at_once(agent):
    gesture = ask(agent, "50.00")
    assert (gesture.status, gesture.decided_by, gesture.requested_by) == (GestureStatus.GRANTED, agent, agent)
    assert gesture.decided_at is not None
    assert gesture_audits(gesture) == ["gesture.requested", "gesture.granted"]
    audit = AuditEvent.objects.get(kind="gesture.granted")
    assert audit.payload == {"case": gesture.case_id, "type": "refund", "amount": "50.00", "currency": "EUR", "limit": "50.00",
                             "granted_on_case": "0.00"}
    assert audit.actor == agent


def test_a_limit_is_per_case_so_small_gestures_do_not_add_up_beyond_it(agent, client):
    case = open_email_case().case
    assert ask(agent, "30", case=case).status == GestureStatus.GRANTED
    second = ask(agent, "30", case=case)  # 60 on this case: above the agent's 50
    assert second.status == GestureStatus.REQUESTED
    assert AuditEvent.objects.filter(kind="gesture.requested").order_by("pk").last().payload["granted_on_case"] == "30.00"
    assert ask(agent, "20", case=case).status == GestureStatus.GRANTED  # 50 in all: still within it
    assert ask(agent, "30").status == GestureStatus.GRANTED  # another case starts from nothing
    assert remaining_delegation(agent, case.pk) == {"EUR": Decimal("0.00")}
    client.force_login(agent)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "On this case you can still grant on your own:" in page and "0.00 EUR" in page


def test_above_the_agents_limit_the_gesture_waits_for_approval(agent, supervisor):
    gesture = ask(agent, "50.01")
    gesture.refresh_from_db()
    assert (gesture.status, gesture.decided_by, gesture.decided_at) == (GestureStatus.REQUESTED, None, None)
    assert gesture_audits(gesture) == ["gesture.requested"]
    assert list(gesture_approval_queue(supervisor)) == [gesture]


def test_a_supervisor_grants_up_to_2000_eur(supervisor):
    assert ask(supervisor, "2000").status == GestureStatus.GRANTED
    assert ask(supervisor, "2000.01").status == GestureStatus.REQUESTED


def test_a_limit_in_euros_does_not_cover_another_currency(agent):
    limits_in("USD")  # someone's: a gesture can be asked for in dollars
    assert ask(agent, "5.00", currency="usd").status == GestureStatus.REQUESTED
    assert Gesture.objects.get().currency == "USD"


def test_a_per_user_override_raises_a_senior_agents_limit(agent):
    senior = UserFactory(username="senior", role="agent")
    DelegationLimit.objects.create(user=senior, currency="EUR", max_amount=Decimal("200"))
    assert delegation_limit(senior, "EUR") == Decimal("200.00")
    assert ask(senior, "150").status == GestureStatus.GRANTED
    assert ask(agent, "150").status == GestureStatus.REQUESTED


def test_a_custom_group_limit_counts_and_the_highest_limit_wins():
    group = Group.objects.create(name="senior agent")
    DelegationLimit.objects.create(group=group, currency="EUR", max_amount=Decimal("200"))
    senior = UserFactory(username="senior", role="agent")
    senior.groups.add(group)
    DelegationLimit.objects.create(user=senior, currency="EUR", max_amount=Decimal("10"))
    assert delegation_limit(senior, "EUR") == Decimal("200.00")
    assert ask(senior, "200").status == GestureStatus.GRANTED


def test_no_role_no_limit_and_no_gesture(nobody, marketer):
    assert delegation_limit(nobody, "EUR") == Decimal("0.00")
    case = open_email_case().case
    for user in (nobody, marketer):
        with pytest.raises(PermissionDenied):
            ask(user, "1", case=case)
    assert Gesture.objects.count() == 0


# --- approval, refusal, cancellation ---------------------------------------------------------

def test_a_supervisor_approves_an_agents_request(agent, supervisor):
    gesture = ask(agent, "120")
    approved = approve_gesture(gesture=gesture, actor=supervisor, reason="Client fidèle")
    assert (approved.status, approved.decided_by, approved.decision_reason) == (GestureStatus.GRANTED, supervisor, "Client fidèle")
    assert approved.decided_at is not None
    assert gesture_audits(gesture) == ["gesture.requested", "gesture.granted"]
    assert AuditEvent.objects.get(kind="gesture.granted").actor == supervisor
    assert list(gesture_approval_queue(supervisor)) == []


def test_nobody_approves_their_own_request(supervisor):
    DelegationLimit.objects.create(user=supervisor, currency="USD", max_amount=Decimal("10"))
    gesture = ask(supervisor, "2500")
    with pytest.raises(ValidationError) as refused:
        approve_gesture(gesture=gesture, actor=supervisor)
    assert refused.value.message_dict == {"actor": ["You cannot decide on a gesture you asked for."]}
    with pytest.raises(ValidationError):
        refuse_gesture(gesture=gesture, actor=supervisor, reason="non")
    gesture.refresh_from_db()
    assert (gesture.status, gesture.decided_by) == (GestureStatus.REQUESTED, None)
    assert gesture_audits() == ["gesture.requested"]
    assert list(gesture_approval_queue(supervisor)) == []


def test_approval_needs_a_limit_that_covers_the_amount(agent, supervisor, admin_user):
    DelegationLimit.objects.create(user=admin_user, currency="EUR", max_amount=Decimal("5000"))
    gesture = ask(agent, "3000")
    with pytest.raises(ValidationError) as refused:
        approve_gesture(gesture=gesture, actor=supervisor)
    assert refused.value.message_dict == {"actor": ["Your delegation limit (2,000.00 EUR) does not cover this gesture."]}
    assert gesture_approval_queue(supervisor).count() == 0
    assert list(gesture_approval_queue(admin_user)) == [gesture]
    assert approve_gesture(gesture=gesture, actor=admin_user).status == GestureStatus.GRANTED


def test_an_approval_counts_what_the_case_was_already_granted(agent, supervisor, client):
    # As for a request, a limit is per case: a 2,000 EUR supervisor cannot grant 1,500 and
    # then 1,500 again on one case; refusing gives nothing away and stays theirs to do.
    case = open_email_case().case
    first, second, third = ask(agent, "1500", case=case), ask(agent, "1500", case=case), ask(agent, "400", case=case)
    other_case = ask(agent, "1500")
    assert [(g, g.granted_before) for g in gesture_approval_queue(supervisor)] == [
        (first, Decimal("0.00")), (second, Decimal("0.00")), (third, Decimal("0.00")), (other_case, Decimal("0.00"))]
    approve_gesture(gesture=first, actor=supervisor)
    queue = {g: g.granted_before for g in gesture_approval_queue(supervisor)}
    assert queue == {third: Decimal("1500.00"), other_case: Decimal("0.00")}
    with pytest.raises(ValidationError) as refused:
        approve_gesture(gesture=second, actor=supervisor)
    assert refused.value.error_dict["actor"][0].code == "over_limit"
    assert refused.value.message_dict == {"actor": [
        "Your delegation limit (2,000.00 EUR) does not cover this gesture together with the 1,500.00 EUR already granted on this case."]}
    second.refresh_from_db()
    assert second.status == GestureStatus.REQUESTED
    waiting = {item.gesture: (item.gesture.granted_before, item.decider_exists, item.highest_limit)
               for item in gestures_beyond_my_limit(supervisor)}
    assert waiting == {second: (Decimal("1500.00"), False, Decimal("2000.00"))}
    assert [(item.refusable, item.over_on_case) for item in gestures_beyond_my_limit(supervisor)] == [(True, True)]
    client.force_login(supervisor)
    page = client.get("/cases/gestures/approvals/").content.decode()
    assert f'id="waiting-{second.pk}"' in page and "1,500.00 EUR already granted on this case" in page  # grouped as elsewhere
    assert "Nobody can grant it on this case: with what was already granted" in page
    granted = approve_gesture(gesture=third, actor=supervisor)  # 1,500 + 400 fits
    assert AuditEvent.objects.filter(kind="gesture.granted", subject_id=str(granted.pk)).get().payload["granted_on_case"] == "1500.00"
    # From the page: granting it is refused with the reason, refusing it works.
    tried = client.post(f"/cases/gestures/{second.pk}/decide/", {"decision": "approve"}, follow=True)
    assert tried.redirect_chain == [("/cases/gestures/approvals/", 302)]
    assert "already granted on this case" in tried.content.decode().split('class="messages"')[1].split("</ul>")[0]
    done = client.post(f"/cases/gestures/{second.pk}/decide/", {"decision": "refuse", "reason": "Déjà dédommagé"})
    assert done.status_code == 302
    second.refresh_from_db()
    assert second.status == GestureStatus.REFUSED


def test_a_refusal_writes_amounts_as_the_readers_language_does(agent, supervisor):
    # The queue page says "1 500,00 EUR déjà accordés"; its refusal above it said "1500.00 EUR".
    case = open_email_case().case
    first, second = ask(agent, "1500", case=case), ask(agent, "1500", case=case)
    approve_gesture(gesture=first, actor=UserFactory(username="boss2", role="supervisor"))
    with translation.override("fr"), pytest.raises(ValidationError) as refused:
        approve_gesture(gesture=second, actor=supervisor)
    assert refused.value.messages == [
        "Votre plafond de délégation (2\u00a0000,00 EUR) ne couvre pas ce geste ajouté aux 1\u00a0500,00 EUR déjà "
        "accordés sur ce dossier."]
    with translation.override("fr"), pytest.raises(ValidationError) as refused:
        ask(agent, "10000000000")
    assert refused.value.messages == ["Le montant ne peut pas dépasser 9\u00a0999\u00a0999\u00a0999,99."]


def test_an_agent_cannot_approve_even_within_their_limit(agent):
    other = UserFactory(username="other", role="agent")
    gesture = ask(other, "60", currency="EUR")
    DelegationLimit.objects.create(user=agent, currency="EUR", max_amount=Decimal("100"))
    with pytest.raises(PermissionDenied):
        approve_gesture(gesture=gesture, actor=agent)
    assert list(gesture_approval_queue(agent)) == []
    gesture.refresh_from_db()
    assert gesture.status == GestureStatus.REQUESTED


def test_refusal_needs_a_reason_and_is_final(agent, supervisor):
    gesture = ask(agent, "80")
    with pytest.raises(ValidationError) as refused:
        refuse_gesture(gesture=gesture, actor=supervisor, reason="  ")
    assert refused.value.message_dict == {"reason": ["Give a reason."]}
    assert Gesture.objects.get().status == GestureStatus.REQUESTED
    done = refuse_gesture(gesture=gesture, actor=supervisor, reason="Déjà remboursé le 3 mars")
    assert (done.status, done.decided_by, done.decision_reason) == (GestureStatus.REFUSED, supervisor, "Déjà remboursé le 3 mars")
    with pytest.raises(ValidationError) as again:
        approve_gesture(gesture=gesture, actor=supervisor)
    assert again.value.message_dict == {"status": ["This gesture is already refused."]}
    assert gesture_audits(gesture) == ["gesture.requested", "gesture.refused"]


def test_the_requester_cancels_a_waiting_request_and_only_they_can(agent, supervisor):
    gesture = ask(agent, "80")
    with pytest.raises(PermissionDenied):
        cancel_gesture(gesture=gesture, actor=supervisor)
    cancelled = cancel_gesture(gesture=gesture, actor=agent, reason="Le client a retrouvé le colis")
    assert cancelled.status == GestureStatus.CANCELLED
    with pytest.raises(ValidationError):
        approve_gesture(gesture=gesture, actor=supervisor)
    assert gesture_audits(gesture) == ["gesture.requested", "gesture.cancelled"]


def test_a_granted_gesture_cannot_be_cancelled(agent):
    gesture = ask(agent, "10")
    with pytest.raises(ValidationError) as refused:
        cancel_gesture(gesture=gesture, actor=agent)
    assert refused.value.message_dict == {"status": ["This gesture is already granted."]}


def test_the_queue_lists_what_the_user_may_decide_oldest_first(agent, supervisor):
    first = ask(agent, "60")
    second = ask(agent, "1999.99")
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        ask(agent, "2500")  # above the supervisor's limit
    gesture_waiting_without_limit(actor=agent, amount="60", currency="GBP")  # no limit in that currency (any more)
    ask(agent, "10")  # granted at once
    refuse_gesture(gesture=ask(agent, "70"), actor=supervisor, reason="non")
    ask(supervisor, "2100")  # their own
    assert list(gesture_approval_queue(supervisor)) == [first, second]


def test_gestures_nobody_may_decide_on_are_shown_with_the_reason(client, agent, supervisor):
    # Above every limit, in a currency without any, or the only approver's own: they must not
    # wait where nobody looks.
    with an_approver_who_leaves():  # above every limit left: waiting since before the check
        big = ask(agent, "2500")
    pounds = gesture_waiting_without_limit(actor=agent, amount="60", currency="GBP")
    mine = ask(supervisor, "2100")
    decidable = ask(agent, "60")
    waiting = {item.gesture: (item.decider_exists, item.highest_limit, item.limit_in_currency)
               for item in gestures_beyond_my_limit(supervisor)}
    assert waiting == {big: (False, Decimal("2000.00"), True), pounds: (False, None, False), mine: (False, None, True)}
    assert decidable not in waiting
    client.force_login(supervisor)
    page = client.get("/cases/gestures/approvals/").content.decode()
    assert "Nobody: above the highest limit (2,000.00 EUR). An administrator must raise one." in page
    assert "Nobody: no delegation limit in GBP. An administrator must set one." in page
    assert "Nobody else may approve it. An administrator must give another person a limit." in page
    assert gestures_beyond_my_limit(agent) == []  # not an approver

    # An approver with a lower limit sees who else may decide.
    junior = UserFactory(username="jules", role="agent")
    junior.user_permissions.add(Permission.objects.get(codename="approve_gesture"))
    DelegationLimit.objects.create(user=junior, currency="EUR", max_amount="100")
    middle = ask(agent, "150")
    waiting = {item.gesture: item.decider_exists for item in gestures_beyond_my_limit(junior)}
    assert waiting[middle] is True and waiting[big] is False
    client.force_login(junior)
    row = client.get("/cases/gestures/approvals/").content.decode().split(f'id="waiting-{middle.pk}"')[1].split("</tr>")[0]
    assert '<span class="deciders">supervisor</span>' in row  # the one who may decide, by name


# --- trust without proof -------------------------------------------------------------------

def test_small_gestures_are_flagged_as_made_without_proof(agent):
    limits_in("USD")
    assert ask(agent, "30").without_proof is True
    assert ask(agent, "30.01").without_proof is False
    assert ask(agent, "5", currency="USD").without_proof is False


def test_the_trust_threshold_is_set_per_currency(agent):
    limits_in("USD")
    trust_without_proof(EUR="5", USD="10")
    assert ask(agent, "6").without_proof is False
    assert ask(agent, "10", currency="USD").without_proof is True


# --- vouchers ------------------------------------------------------------------------------

def test_a_granted_voucher_gets_a_code_other_gestures_none(agent, supervisor):
    voucher = ask(agent, "15", type=GestureType.VOUCHER)
    assert VOUCHER.fullmatch(voucher.voucher_code)
    assert ask(agent, "15", type=GestureType.REFUND).voucher_code is None
    waiting = ask(agent, "100", type=GestureType.VOUCHER)
    assert Gesture.objects.get(pk=waiting.pk).voucher_code is None
    approved = approve_gesture(gesture=waiting, actor=supervisor)
    assert VOUCHER.fullmatch(approved.voucher_code)
    assert approved.voucher_code != voucher.voucher_code


def test_voucher_codes_avoid_ambiguous_characters():
    codes = {new_voucher_code() for _ in range(2000)}
    assert all(VOUCHER.fullmatch(code) for code in codes)
    assert not set("".join(codes)) & set("01OI")
    assert len(codes) == 2000


def test_a_colliding_voucher_code_is_drawn_again(agent, supervisor, monkeypatch):
    taken = ask(agent, "15", type=GestureType.VOUCHER).voucher_code
    draws = iter([taken, taken, "PRV-AAAA-2222", taken, "PRV-BBBB-3333"])
    monkeypatch.setattr(gesture_services, "new_voucher_code", lambda: next(draws))
    assert ask(agent, "15", type=GestureType.VOUCHER).voucher_code == "PRV-AAAA-2222"
    waiting = ask(agent, "100", type=GestureType.VOUCHER)
    assert approve_gesture(gesture=waiting, actor=supervisor).voucher_code == "PRV-BBBB-3333"


def test_when_every_draw_collides_nothing_is_written(agent, monkeypatch):
    taken = ask(agent, "15", type=GestureType.VOUCHER).voucher_code
    monkeypatch.setattr(gesture_services, "new_voucher_code", lambda: taken)
    case = open_email_case("other@example.com").case
    with pytest.raises(ValidationError) as refused:
        ask(agent, "15", type=GestureType.VOUCHER, case=case)
    assert refused.value.message_dict == {"voucher_code": ["No free voucher code was found; try again."]}
    assert Gesture.objects.count() == 1
    assert gesture_audits() == ["gesture.requested", "gesture.granted"]


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "10000000000"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": True}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "€"}, "currency"),
        ({"currency": ""}, "currency"),
        ({"currency": None}, "currency"),
        ({"currency": "E1R"}, "currency"),
        ({"type": "cash"}, "type"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
    ],
)
def test_bad_input_is_refused_with_nothing_written(agent, changes, field):
    case = open_email_case().case
    arguments = {"case": case, "type": GestureType.REFUND, "amount": "10", "currency": "EUR", "reason": "Retard", "actor": agent, **changes}
    with pytest.raises(ValidationError) as refused:
        request_gesture(**arguments)
    assert list(refused.value.message_dict) == [field]
    assert Gesture.objects.count() == 0
    assert gesture_audits() == []


def test_amounts_are_decimals_and_french_commas_are_read(agent):
    gesture = ask(agent, "12,50")
    gesture.refresh_from_db()
    assert gesture.amount == Decimal("12.50")
    assert ask(agent, 7).amount == Decimal("7.00")
    # French thousands: a space, or the no-break spaces a number format writes
    assert [ask(agent, typed).amount for typed in ("1 500", "1\u00a0500,50", "1\u202f000")] == [
        Decimal("1500.00"), Decimal("1500.50"), Decimal("1000.00")]
    for odd in ("15 00", "0 500"):
        with pytest.raises(ValidationError):
            ask(agent, odd)


def test_an_amount_with_a_thousands_comma_is_refused_as_ambiguous(agent):
    # "1,500" is 1,500 EUR to an English reader and 1.50 EUR to a French one: neither is guessed.
    for typed in ("1,500", "12,000", "1,000,000", "+1,500"):
        with pytest.raises(ValidationError) as refused:
            ask(agent, typed)
        assert refused.value.error_dict["amount"][0].code == "ambiguous_amount"
    assert Gesture.objects.count() == 0
    assert ask(agent, "1,5").amount == Decimal("1.50")
    assert ask(agent, "1500").amount == Decimal("1500.00")


def test_an_amount_with_a_thousands_dot_is_refused_as_ambiguous(agent):
    # "10.000" is ten thousand to a French reader who groups with a dot and 10.00 to an English
    # one: it was read as 10.00 (the trailing zeros are no extra cents) and granted at once.
    for typed in ("1.500", "10.000", "2.000.000", "+1.500"):
        with pytest.raises(ValidationError) as refused:
            ask(agent, typed)
        assert refused.value.error_dict["amount"][0].code == "ambiguous_amount"
    assert Gesture.objects.count() == 0
    assert ask(agent, "1.5").amount == Decimal("1.50")
    assert ask(agent, "1500.00").amount == Decimal("1500.00")


def refusal(agent, typed, currency="EUR"):
    with pytest.raises(ValidationError) as refused:
        ask(agent, typed, currency=currency)
    [error] = refused.value.error_dict["amount"]
    return error.code, error.messages[0]


def test_an_ambiguous_amount_is_refused_with_both_readings_of_what_was_typed(agent):
    # The refusal once gave "write 1500 or 1500.00 (or 1,50 for one euro fifty)" whatever was
    # typed, with a decimal comma on an English page: the agent is shown what they typed, read both
    # ways, as what to type (no thousands mark) for which amount (written as the pages write it).
    with translation.override("en"):
        assert refusal(agent, "1,500") == (
            "ambiguous_amount", "“1,500” is ambiguous: type 1500 for 1,500.00 EUR, or 1.50 for 1.50 EUR.")
        # 12.345 EUR cannot be: only the thousands reading is offered.
        assert refusal(agent, "12.345") == ("ambiguous_amount", "“12.345” is ambiguous: type 12345 for 12,345.00 EUR.")
        assert refusal(agent, "2.000.000") == ("ambiguous_amount", "“2.000.000” is ambiguous: type 2000000 for 2,000,000.00 EUR.")
    with translation.override("fr"):
        # It once read « peut être 12345 EUR, ou 12,345 … pour dire 12345 EUR »: the amounts are now
        # grouped as the pages group them (the French wording is the translators', in the .po).
        code, message = refusal(agent, "12.345")
        assert code == "ambiguous_amount" and "12\u00a0345,00 EUR" in message and "12345 EUR" not in message
        code, message = refusal(agent, "1.500")
        assert code == "ambiguous_amount" and "1\u00a0500,00 EUR" in message and "1,50 EUR" in message  # a French decimal comma
        assert "1.50 " not in message  # no English decimal point to type
    assert Gesture.objects.count() == 0


def test_a_zero_before_the_mark_makes_the_digits_after_it_decimals(agent):
    # "0,001" cannot be thousands: it has too many decimals for euros, as "0.001" had.
    for typed in ("0,001", "0.001"):
        assert refusal(agent, typed) == ("currency_decimals", "At most two decimal places.")
    assert Gesture.objects.count() == 0
    assert ask(agent, "0,500").amount == Decimal("0.50")  # trailing zeros are no extra cents


def test_thousands_grouped_with_one_mark_and_decimals_after_the_other_are_read(agent):
    # "1.000,50" as French or German write it, "1,000.50" as English does: the two marks tell which is which.
    assert [ask(agent, typed).amount for typed in ("1.000,50", "1,000.50", "1.234.567,8", "+1,234,567.89")] == [
        Decimal("1000.50"), Decimal("1000.50"), Decimal("1234567.80"), Decimal("1234567.89")]
    assert refusal(agent, "1.000,505") == ("currency_decimals", "At most two decimal places.")
    for odd in ("1.00,50", "1.000,", "0.000,50", "1.000,000,50", "1,000.000.50"):
        with pytest.raises(ValidationError) as refused:
            ask(agent, odd)
        assert refused.value.message_dict == {"amount": [f"“{odd}” is not an amount."]}


def test_an_amount_in_another_notation_is_refused_not_guessed(agent):
    # Python's Decimal reads all of these; a person typing them meant something else, or nothing.
    for typed in ("1_000", "1e2", "\u0661\u0662", "12 EUR", "0x10", "1.2.3"):
        with pytest.raises(ValidationError) as refused:
            ask(agent, typed)
        assert refused.value.message_dict == {"amount": [f"“{typed}” is not an amount."]}
    with pytest.raises(ValidationError) as refused:
        ask(agent, "0.001")  # not a thousands group: too many cents
    assert refused.value.message_dict == {"amount": ["At most two decimal places."]}
    assert Gesture.objects.count() == 0
    assert ask(agent, "1 500,50").amount == Decimal("1500.50")
    assert ask(agent, ",5").amount == Decimal("0.50")


def test_no_gesture_for_an_erased_customer(agent, admin_user):
    case = open_email_case().case
    erase_customer(customer=case.customer, actor=admin_user)
    with pytest.raises(ValidationError) as refused:
        ask(agent, "10", case=case)
    assert refused.value.message_dict == {"case": ["This case's customer was erased: no gesture can be made."]}
    assert Gesture.objects.count() == 0


def test_a_waiting_gesture_is_not_granted_once_its_customer_is_erased(agent, supervisor, admin_user):
    waiting = ask(agent, "120")
    assert waiting.status == GestureStatus.REQUESTED
    erase_customer(customer=waiting.customer, actor=admin_user)
    with pytest.raises(ValidationError) as refused:
        approve_gesture(gesture=waiting, actor=supervisor)
    assert refused.value.error_dict["case"][0].code == "customer_erased"
    waiting.refresh_from_db()
    assert waiting.status == GestureStatus.REQUESTED
    refuse_gesture(gesture=waiting, actor=supervisor, reason="Client effacé")  # refusing gives nothing: still allowed


def test_a_gesture_on_a_merged_case_goes_to_the_survivor(agent, supervisor):
    survivor = open_email_case("same@example.com").case
    loser = open_email_case("same@example.com", subject="Re").case
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    assert ask(agent, "10", case=loser).case == survivor


def test_an_approval_follows_a_gesture_merged_twice_while_it_waited_for_the_lock(agent, supervisor, monkeypatch):
    # The gesture's case A is merged into B, then B into C (which was granted 1,500 EUR), each
    # merge committing just before the approval locks the case it last read: the limit must be
    # checked against C's total, not B's (empty once its gestures moved on).
    first, middle, last = (open_email_case("same@example.com", subject=subject).case for subject in ("A", "B", "C"))
    waiting = ask(agent, "1500", case=first)
    approve_gesture(gesture=ask(agent, "1500", case=last), actor=UserFactory(username="boss2", role="supervisor"))
    merges = iter([(middle, first), (last, middle)])
    real_lock_case = gesture_services.lock_case

    def merge_then_lock(case_id):
        if (pair := next(merges, None)) is not None:
            merge_cases(survivor=pair[0], loser=pair[1], actor=supervisor)
        return real_lock_case(case_id)

    monkeypatch.setattr(gesture_services, "lock_case", merge_then_lock)
    with pytest.raises(ValidationError) as refused:
        approve_gesture(gesture=waiting, actor=supervisor)
    assert refused.value.error_dict["actor"][0].code == "over_limit"
    waiting.refresh_from_db()  # the refusal rolled back with the merges made inside its transaction
    assert waiting.status == GestureStatus.REQUESTED


def test_a_delegation_limit_is_a_group_or_a_user_in_a_known_currency(agent):
    group = Group.objects.get(name="agent")
    for limit in (
        DelegationLimit(group=group, user=agent, currency="EUR", max_amount=Decimal("1")),
        DelegationLimit(currency="EUR", max_amount=Decimal("1")),
        DelegationLimit(user=agent, currency="eu", max_amount=Decimal("1")),
        DelegationLimit(user=agent, currency="EUR", max_amount=Decimal("-1")),
        DelegationLimit(group=group, currency="EUR", max_amount=Decimal("1")),  # the default exists
    ):
        with pytest.raises(ValidationError):
            limit.full_clean()


# --- GDPR ----------------------------------------------------------------------------------

def test_a_customer_merge_moves_the_gestures(agent, supervisor):
    gesture = ask(agent, "10", case=open_email_case("a@example.com").case)
    survivor = open_email_case("b@example.com").case.customer
    merge_customers(survivor=survivor, loser=gesture.customer, actor=supervisor)
    gesture.refresh_from_db()
    assert gesture.customer == survivor


def test_erasure_keeps_the_gesture_unlinked_without_its_words(agent, admin_user):
    gesture = ask(agent, "12.50", type=GestureType.VOUCHER, reason="Mme Dupont, colis perdu")
    exported = export_customer_data(customer=gesture.customer, actor=admin_user)
    assert [(row["amount"], row["reason"]) for row in exported["cases.gesture"]] == [("12.50", "Mme Dupont, colis perdu")]
    erase_customer(customer=gesture.customer, actor=admin_user)
    gesture.refresh_from_db()
    assert (gesture.customer, gesture.reason, gesture.amount, gesture.status) == (None, "", Decimal("12.50"), GestureStatus.GRANTED)
    assert VOUCHER.fullmatch(gesture.voucher_code)


def test_erasure_leaves_no_decision_words_in_the_audit_trail(agent, supervisor, admin_user):
    refused = ask(agent, "120")
    refuse_gesture(gesture=refused, actor=supervisor, reason="Mme Camille Dupont, 12 rue des Lilas")
    cancelled = ask(agent, "130", case=open_email_case().case)
    cancel_gesture(gesture=cancelled, actor=agent, reason="Mme Dupont a retrouvé le colis")
    erase_customer(customer=refused.customer, actor=admin_user)
    assert not [row for row in AuditEvent.objects.all() if "Lilas" in str(row.payload) or "retrouvé" in str(row.payload)]
    assert AuditEvent.objects.get(kind="gesture.refused").payload["with_reason"] is True


# --- concurrency ---------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_one_wins():
    ensure_default_limits()
    requester = UserFactory(username="requester", role="agent")
    deciders = [UserFactory(username=f"boss{n}", role="supervisor") for n in range(2)]
    gesture = ask(requester, "300", type=GestureType.VOUCHER)
    start = threading.Barrier(2)
    won, lost, errors = [], [], []

    def decide(user) -> None:
        try:
            start.wait()
            won.append(approve_gesture(gesture=gesture, actor=user).decided_by_id)
        except ValidationError as exc:
            lost.append(exc.message_dict)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(user,)) for user in deciders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(won) == 1
    # The loser either read the gesture before the winner committed (its UPDATE then matched
    # nothing) or after (the status check refused it): either way, told and nothing written.
    assert lost in (
        [{"status": ["Someone else decided on this gesture meanwhile."]}],
        [{"status": ["This gesture is already granted."]}],
    )
    gesture.refresh_from_db()
    assert (gesture.status, gesture.decided_by_id) == (GestureStatus.GRANTED, won[0])
    assert VOUCHER.fullmatch(gesture.voucher_code)
    assert gesture_audits(gesture) == ["gesture.requested", "gesture.granted"]


@pytest.mark.django_db(transaction=True)
def test_two_grants_on_one_case_at_once_cannot_both_fit_under_one_limit():
    # Two supervisors, two 1,500 EUR requests on one case: the grant locks the case, so the
    # second decider sees the first grant and is refused, whatever the timing.
    ensure_default_limits()
    requester = UserFactory(username="requester", role="agent")
    deciders = [UserFactory(username=f"boss{n}", role="supervisor") for n in range(2)]
    case = open_email_case().case
    gestures = [ask(requester, "1500", case=case) for _ in range(2)]
    start = threading.Barrier(2)
    won, lost, errors = [], [], []

    def decide(user, gesture) -> None:
        try:
            start.wait()
            won.append(approve_gesture(gesture=gesture, actor=user).pk)
        except ValidationError as exc:
            lost.append(exc.error_dict["actor"][0].code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=pair) for pair in zip(deciders, gestures, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (len(won), lost) == (1, ["over_limit"])
    assert list(Gesture.objects.filter(status=GestureStatus.GRANTED).values_list("pk", flat=True)) == won


# --- admin ---------------------------------------------------------------------------------

def test_limits_are_edited_in_the_admin_and_gestures_only_shown(agent):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    gesture = ask(agent, "10")
    limit = DelegationLimit.objects.get(group__name="agent")
    for url in (
        "/admin/cases/gesture/", f"/admin/cases/gesture/{gesture.pk}/change/",
        "/admin/cases/delegationlimit/", f"/admin/cases/delegationlimit/{limit.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    answer = client.post(
        f"/admin/cases/delegationlimit/{limit.pk}/change/",
        {"group": limit.group_id, "user": "", "currency": "eur", "max_amount": "75.00"},
    )
    assert answer.status_code == 302
    limit.refresh_from_db()
    assert (limit.currency, limit.max_amount) == ("EUR", Decimal("75.00"))
    refused = client.post(
        "/admin/cases/delegationlimit/add/", {"group": limit.group_id, "user": agent.pk, "currency": "EUR", "max_amount": "5"}
    )
    assert refused.status_code == 200
    assert DelegationLimit.objects.count() == 2
    assert client.post(f"/admin/cases/gesture/{gesture.pk}/change/", {"amount": "999"}).status_code == 403
    assert Gesture.objects.get().amount == Decimal("10.00")
