"""The portal and the self-service pages speak French and English, every string of them."""

import re
from datetime import date

import polib
import pytest
from django.urls import reverse

from catalog.models import SeatType
from tests.partners import builders
from tests.support.paths import PO

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"  # French writes a no-break space before the currency: "140,05 €"


def test_the_partner_portal_answers_in_french(partner_client, bakery):
    page = partner_client.get(reverse("partners:customers"), HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode()
    assert '<html lang="fr">' in html
    assert "Vos clients" in html and "Se déconnecter" in html and "Your customers" not in html
    english = partner_client.get(reverse("partners:customers"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Your customers" in english.content.decode()


def test_the_self_service_pages_answer_in_french(maple_client):
    html = maple_client.get(reverse("account:subscriptions"), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Vos abonnements" in html.content.decode()


def test_every_template_string_is_in_the_french_catalogue():
    # makemessages is a developer's step: this catches a template changed without it.
    catalogue = {e.msgid for e in polib.pofile(str(PO)) if e.translated()}
    root = PO.parents[3] / "templates"
    tag = re.compile(r"""\{%\s*translate\s+"([^"]+)"[^%]*%\}""")
    missing = {
        (path.relative_to(root).as_posix(), msgid)
        for path in root.rglob("*.html")
        for msgid in tag.findall(path.read_text())
        if msgid not in catalogue
    }
    assert missing == set()


def test_the_self_service_pages_write_amounts_the_french_way(dupont_client, dupont, on):
    on(date(2026, 10, 1))  # billing-rules example 4.2
    subscription = dupont.subscriptions.get()
    url = reverse("account:cancel", args=[subscription.pk])
    page = dupont_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f"<strong>140,05{NBSP}€</strong>" in page  # the penalty
    assert f'data-amount="tax">28,01{NBSP}€' in page
    assert f'data-amount="total">168,06{NBSP}€' in page
    assert f"240,00 × 426 ÷ 730 = 140,05{NBSP}€" in page  # the rule
    assert "140.05" not in page and "EUR" not in page
    english = dupont_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "140.05 EUR" in english and "€" not in english  # English stays "140.05 EUR"

    done = dupont_client.post(url, HTTP_ACCEPT_LANGUAGE="fr")
    message = dupont_client.get(done.url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f"Une pénalité de 168,06{NBSP}€ est facturée dès maintenant." in message


def test_the_partner_portal_writes_amounts_the_french_way(partner_client, bakery, on):
    subscription = builders.sell_seats(bakery)
    builders.bill(date(2026, 1, 1))
    on(date(2026, 2, 15))  # billing-rules example 6.2
    customer = partner_client.get(
        reverse("partners:customer", args=[bakery.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert f"<strong>129,60{NBSP}€</strong>" in customer  # the next invoice, VAT included

    url = reverse("partners:seats_add", args=[bakery.pk])
    gateway = SeatType.objects.get(code="gateway")
    partner_client.post(
        url,
        {"subscription": subscription.pk, "seat_type": gateway.pk, "quantity": "4"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    review_url = reverse("partners:seats_add_review", args=[bakery.pk])
    review = partner_client.get(review_url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f'data-amount="total">25,92{NBSP}€' in review
    assert f"181,44{NBSP}€" in review  # the next invoice, billing dates unchanged
    assert "Remise partenaire (Acme Resellers) (−20 %)" in review
    assert " EUR" not in review

    done = partner_client.post(review_url, {"accept_terms": "on"}, HTTP_ACCEPT_LANGUAGE="fr")
    confirmed = partner_client.get(done.url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f"25,92{NBSP}€" in confirmed
