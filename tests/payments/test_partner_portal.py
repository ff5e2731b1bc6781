"""A partner's payment methods, for the invoices addressed to its billing account: the same page
as self-service, in the portal; another partner's method is a 404."""

from datetime import date

import pytest
from django.urls import reverse

from payments import services
from payments.models import PaymentMethod
from tests.partners import builders

pytestmark = pytest.mark.django_db
IBAN = "DE89 3704 0044 0532 0130 00"


@pytest.fixture
def acme(demo_catalog):
    return builders.partner("acme", "Acme Resellers", "20.00", "paul")


@pytest.fixture
def nordic(demo_catalog):
    return builders.partner("nordic", "Nordic Devices", "15.00", "nora")


@pytest.fixture
def acme_client(client, acme):
    client.force_login(acme.users.get().user)
    return client


def test_a_partner_signs_a_mandate_for_its_own_invoices(acme_client, acme, on):
    on(date(2026, 3, 1))
    url = reverse("partners:payment_methods")
    page = acme_client.get(url)
    assert page.status_code == 200
    assert "Acme Resellers" in page.content.decode()
    done = acme_client.post(
        url, {"account_holder": "Acme Resellers SAS", "iban": IBAN, "accepted": "on"}, follow=True
    )
    method = PaymentMethod.objects.get()
    assert (method.customer, method.bic) == (acme.account, "COBADEFFXXX")
    assert "DE89 •••• 3000" in done.content.decode()


def test_another_partners_method_is_a_404(acme_client, nordic, on):
    on(date(2026, 3, 1))
    theirs = services.sepa_mandate_add(
        customer=nordic.account,
        account_holder="Nordic",
        iban=IBAN,
        accepted=True,
        today=date(2026, 3, 1),
        make_default=False,
    )
    for name in ("partners:payment_method_default", "partners:payment_method_revoke"):
        assert acme_client.post(reverse(name, args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.is_default) == ("active", False)
