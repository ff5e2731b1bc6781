"""The operators' doors of the payments app: a SEPA mandate added for a customer, a refund of a
paid invoice, each refusal shown in the form with nothing written."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from billing.services import payment_record
from payments.models import PaymentMethod, Refund
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(date(2026, 1, 20), tick=False):
        yield


def test_an_operator_adds_a_sepa_mandate_for_a_customer(operator_client):
    customer = CustomerFactory()
    url = reverse("admin:payments_paymentmethod_mandate", args=[customer.pk])
    page = operator_client.get(url)
    assert page.status_code == 200
    assert "you authorise" in page.content.decode()
    # A wrong check digit: said on the IBAN field, nothing written.
    refused = operator_client.post(
        url,
        {
            "account_holder": "Jeanne Martin",
            "iban": "FR76 3000 6000 0112 3456 7890 188",
            "accepted": "on",
        },
    )
    assert refused.status_code == 200
    assert "This IBAN is not valid" in refused.content.decode()
    assert not PaymentMethod.objects.exists()
    # Not accepted: refused.
    refused = operator_client.post(
        url, {"account_holder": "Jeanne Martin", "iban": "FR76 3000 6000 0112 3456 7890 189"}
    )
    assert "Accept the mandate text" in refused.content.decode()
    done = operator_client.post(
        url,
        {
            "account_holder": "Jeanne Martin",
            "iban": "fr76 3000 6000 0112 3456 7890 189",
            "accepted": "on",
        },
    )
    assert done.status_code == 302
    method = PaymentMethod.objects.get()
    assert (method.kind, method.is_default, method.iban, method.bic) == (
        "sepa_debit",
        True,
        "FR7630006000011234567890189",
        "AGRIFRPPXXX",
    )
    assert method.mandate_signed_on == date(2026, 1, 20)
    assert len(method.mandate_reference) <= 35
    assert method.sequence_type == "FRST"
    # The change page shows the IBAN masked, never whole.
    page = operator_client.get(reverse("admin:payments_paymentmethod_change", args=[method.pk]))
    html = page.content.decode()
    assert "FR76 •••• 0189" in html and "FR7630006000011234567890189" not in html


def test_an_operator_refunds_part_of_a_paid_invoice(operator_client, quarterly):
    payment_record(
        invoice=quarterly, amount="129.60", method="bank_transfer", received_on=date(2026, 1, 10)
    )
    change = operator_client.get(reverse("admin:billing_invoice_change", args=[quarterly.pk]))
    url = reverse("admin:payments_refund_invoice", args=[quarterly.pk])
    assert f'<a class="button" href="{url}">Refund</a>' in change.content.decode()
    refused = operator_client.post(url, {"amount": "200.00", "via": "credit", "reason": "x"})
    assert refused.status_code == 200
    assert "129.60" in refused.content.decode()
    assert not Refund.objects.exists()
    done = operator_client.post(url, {"amount": "40.00", "via": "credit", "reason": "Returned"})
    assert done.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount.amount, refund.credit_note.total.amount) == (40, 40)


def test_a_viewer_cannot_run_the_payment_actions(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_paymentmethod", "view_refund"])
    )
    client.force_login(viewer)
    for model in ("paymentmethod", "refund"):
        page = client.get(reverse(f"admin:payments_{model}_changelist"))
        assert page.status_code == 200
        assert page.context["action_form"] is None or not [
            name for name, _label in page.context["action_form"].fields["action"].choices if name
        ]
