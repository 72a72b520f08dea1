"""End to end in a real Chromium: log in, find a customer by typing, open the 360 page.

Run: PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e
Save a screenshot of the 360 page: add PREVENANCE_SCREENSHOT_DIR=docs (screenshot.png)
"""

import datetime as dt
from decimal import Decimal

from chromium import BROWSER_TESTS, chromium_page, screenshot
from django.utils import timezone

from prevenance.core.choices import Channel
from prevenance.customers.choices import (
    ConsentMethod,
    ConsentPurpose,
    IdentityKind,
    LifecycleState,
    OrderStatus,
)
from prevenance.customers.services import ensure_consent_wording, grant_consent, withdraw_consent
from prevenance.customers.tests.factories import (
    CustomerFactory,
    IdentityFactory,
    OrderFactory,
    UserFactory,
)
from prevenance.interactions.choices import Direction, JourneyPhase, Nature
from prevenance.interactions.services import record_interaction

pytestmark = BROWSER_TESTS


def realistic_customer():
    """A customer as the demo company would have one: several channels, orders, consents."""
    now = timezone.now()
    customer = CustomerFactory(
        first_name="Hélène", last_name="Marchand", city="Nantes", postal_code="44000", country="FR",
        address="12 rue de la Fosse", birth_date=dt.date(1979, 6, 21), lifecycle_state=LifecycleState.ACTIVE,
    )
    IdentityFactory(customer=customer, kind=IdentityKind.EMAIL, value="helene.marchand@example.fr", verified=True,
                    source_channel=Channel.WEB, first_seen_at=now - dt.timedelta(days=400))
    IdentityFactory(customer=customer, kind=IdentityKind.PHONE, value="+33 6 12 34 56 78", normalized="+33612345678",
                    source_channel=Channel.STORE, first_seen_at=now - dt.timedelta(days=210))
    IdentityFactory(customer=customer, kind=IdentityKind.LOYALTY_CARD, value="FID-004417", normalized="FID004417",
                    source_channel=Channel.STORE, verified=True, first_seen_at=now - dt.timedelta(days=210))
    sms = ensure_consent_wording(purpose=ConsentPurpose.MARKETING_SMS, language="fr",
                                 text="J'accepte de recevoir les offres et nouveautés par SMS. Désinscription : STOP.")
    grant_consent(customer=customer, purpose=ConsentPurpose.MARKETING_SMS, channel=Channel.STORE, method=ConsentMethod.PAPER,
                  wording=sms, source="Magasin Nantes Centre", occurred_at=now - dt.timedelta(days=200))
    grant_consent(customer=customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.WEB, occurred_at=now - dt.timedelta(days=150))
    withdraw_consent(customer=customer, purpose=ConsentPurpose.SURVEYS, channel=Channel.EMAIL,
                     method=ConsentMethod.UNSUBSCRIBE_LINK, occurred_at=now - dt.timedelta(days=20))
    orders = [
        OrderFactory(customer=customer, reference="CMD-2024-10412", amount=Decimal("89.90"), channel=Channel.WEB,
                     ordered_at=now - dt.timedelta(days=95), status=OrderStatus.DELIVERED, items_count=2),
        OrderFactory(customer=customer, reference="CMD-2024-11877", amount=Decimal("1249.00"), channel=Channel.STORE,
                     store="Nantes Centre", ordered_at=now - dt.timedelta(days=12), status=OrderStatus.SHIPPED, items_count=1),
    ]
    touchpoints = [
        (Channel.WEB, Direction.INBOUND, JourneyPhase.BEFORE, "Compared two sofas on the website", 100),
        (Channel.EMAIL, Direction.OUTBOUND, JourneyPhase.AFTER, "Order confirmation sent", 95),
        (Channel.PHONE, Direction.INBOUND, JourneyPhase.AFTER, "Asked to move the delivery slot to Saturday", 11),
        (Channel.SMS, Direction.OUTBOUND, JourneyPhase.AFTER, "Delivery reminder for Saturday 9–12 am", 3),
        (Channel.CHAT, Direction.INBOUND, JourneyPhase.AFTER, "A cushion arrived damaged; photo sent", 1),
    ]
    for channel, direction, phase, summary, days in touchpoints:
        record_interaction(customer=customer, channel=channel, direction=direction, phase=phase, summary=summary,
                           nature=Nature.TRANSACTIONAL if channel == Channel.EMAIL else Nature.INFORMATIVE,
                           occurred_at=now - dt.timedelta(days=days, hours=2),
                           order=orders[1] if days < 12 else None)
    # A namesake, so that the search has to narrow down as one types.
    CustomerFactory(first_name="Hugo", last_name="Marchetti")
    return customer


def test_a_supervisor_finds_a_customer_by_typing_and_opens_the_360_page(live_server, monkeypatch):
    from playwright.sync_api import expect  # noqa: PLC0415 - only when Chromium is there

    customer = realistic_customer()
    UserFactory(username="claire", role="supervisor")

    with chromium_page(monkeypatch, width=1366, height=900, locale="en-GB") as page:
        page.goto(f"{live_server.url}/customers/")
        expect(page).to_have_url(f"{live_server.url}/login/?next=/customers/")
        page.fill("#id_username", "claire")
        page.fill("#id_password", "correct horse battery")
        page.click("button[type=submit].btn-primary")
        expect(page).to_have_url(f"{live_server.url}/customers/")

        page.locator("input[name=q]").press_sequentially("marc", delay=40)
        results = page.locator("#search-results tbody tr")
        expect(results).to_have_count(2)
        page.locator("input[name=q]").press_sequentially("han", delay=40)
        expect(results).to_have_count(1)
        expect(results.first).to_contain_text("Hélène Marchand")
        results.first.locator("a").click()

        expect(page).to_have_url(f"{live_server.url}/customers/{customer.pk}/")
        expect(page.locator("h1")).to_contain_text("Hélène Marchand")
        expect(page.locator(".badges")).to_contain_text("Opted in")
        expect(page.locator(".identities")).to_contain_text("helene.marchand@example.fr")
        expect(page.locator("#timeline-list .tl-entry")).to_have_count(7)
        expect(page.locator("#timeline-list .tl-entry").first).to_contain_text("A cushion arrived damaged")

        page.select_option("#channel-filter", "phone")
        expect(page.locator("#timeline-list .tl-entry")).to_have_count(1)
        expect(page.locator("#timeline-list")).to_contain_text("Asked to move the delivery slot")
        page.select_option("#channel-filter", "")
        expect(page.locator("#timeline-list .tl-entry")).to_have_count(7)

        screenshot(page, "screenshot.png")

