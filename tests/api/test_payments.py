"""REST API, payments: payment methods (SEPA mandates), refunds (billing-rules example 13.1
through the API) and customer credit, for each role; another tenant's rows are 404s, refunding
is for operators (403 otherwise), bad input names its field, and an IBAN never goes out in full.

The users and rows are those of tests/api/conftest.py: the bakery's quarter of 129.60 (example
6.1) is invoiced to Acme's billing account and paid; Maple's and Dupont's invoices are open.
"""

from decimal import Decimal

import pytest

from billing.models import Invoice
from payments import services
from payments.models import CreditEntry, PaymentMethod, Refund
from tests.api.conftest import TODAY
from tests.support.api import results

pytestmark = pytest.mark.django_db

IBAN = "FR7630006000011234567890189"
IBAN_SPACED = "FR76 3000 6000 0112 3456 7890 189"
MASKED = "FR76 •••• 0189"
OTHER_IBAN = "DE89370400440532013000"


def _mandate(customer, iban=IBAN) -> PaymentMethod:
    return services.sepa_mandate_add(
        customer=customer, account_holder=customer.name, iban=iban, accepted=True, today=TODAY
    )


def _paid_invoice(tenants) -> Invoice:
    invoice = tenants.invoice_of(tenants.bakery)
    assert (invoice.total.amount, invoice.status) == (Decimal("129.60"), "paid")
    return invoice


def _no_full_iban(response, *ibans) -> None:
    body = response.content.decode()
    for iban in ibans or (IBAN, OTHER_IBAN):
        assert iban not in body
        assert iban[4:] not in body


# Payment methods ------------------------------------------------------------------------------


@pytest.fixture
def mandates(tenants):
    """One mandate each: Dupont's, and Acme's and Nordic's billing accounts' (a SEPA debit is in
    euros: Maple, invoiced in CAD, has none)."""
    return {
        "dupont": _mandate(tenants.dupont),
        "acme": _mandate(tenants.acme.account),
        "nordic": _mandate(tenants.nordic.account, OTHER_IBAN),
    }


@pytest.mark.parametrize(
    ("user", "seen"),
    [
        ("operator", {"dupont", "acme", "nordic"}),
        ("customer2", {"dupont"}),
        ("customer", set()),
        ("partner", {"acme"}),
        ("partner2", {"nordic"}),
    ],
)
def test_each_role_lists_its_own_payment_methods(api, mandates, user, seen):
    response = api(user).get("/api/v1/payment-methods/")
    assert response.status_code == 200
    assert {row["id"] for row in results(response)} == {mandates[name].pk for name in seen}
    _no_full_iban(response)
    for name, method in mandates.items():
        detail = api(user).get(f"/api/v1/payment-methods/{method.pk}/")
        assert detail.status_code == (200 if name in seen else 404)


def test_a_payment_method_as_the_api_gives_it(api, mandates):
    method = mandates["dupont"]
    response = api("customer2").get(f"/api/v1/payment-methods/{method.pk}/")
    body = response.json()
    assert body["iban_masked"] == MASKED
    assert "iban" not in body
    assert body["mandate_reference"] == method.mandate_reference
    assert body["mandate_signed_on"] == "2026-11-22"
    assert (body["kind"], body["status"], body["is_default"]) == ("sepa_debit", "active", True)
    assert body["sequence_type"] == "FRST"
    assert body["customer"] == {"id": mandates["dupont"].customer_id, "name": "Atelier Dupont"}
    _no_full_iban(response)


def test_operators_filter_payment_methods_by_customer(api, mandates, tenants):
    response = api("operator").get(f"/api/v1/payment-methods/?customer={tenants.dupont.pk}")
    assert [row["id"] for row in results(response)] == [mandates["dupont"].pk]
    assert api("operator").get("/api/v1/payment-methods/?custmer=1").status_code == 400


def test_a_customer_adds_a_sepa_mandate(api, tenants):
    response = api("customer2").post(
        "/api/v1/payment-methods/",
        {"account_holder": "Atelier Dupont", "iban": IBAN_SPACED, "accepted": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["iban_masked"] == MASKED
    assert body["bic"]  # found from the IBAN
    assert body["is_default"] is True
    method = PaymentMethod.objects.get(pk=body["id"])
    assert (method.customer, method.iban) == (tenants.dupont, IBAN)
    _no_full_iban(response)


def test_a_partner_adds_a_mandate_for_its_billing_account(api, tenants):
    response = api("partner").post(
        "/api/v1/payment-methods/",
        {"account_holder": "Acme Resellers SARL", "iban": IBAN, "accepted": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert PaymentMethod.objects.get(pk=response.json()["id"]).customer == tenants.acme.account


def test_an_operator_names_the_customer_of_a_mandate(api, tenants):
    body = {"account_holder": "Fjord Logistics", "iban": OTHER_IBAN, "accepted": True}
    refused = api("operator").post("/api/v1/payment-methods/", body, format="json")
    assert refused.status_code == 400
    assert list(refused.json()) == ["customer"]
    response = api("operator").post(
        "/api/v1/payment-methods/", {**body, "customer": tenants.fjord.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["customer"]["id"] == tenants.fjord.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"account_holder": "A", "iban": IBAN, "accepted": False}, "accepted"),
        ({"account_holder": "A", "iban": "FR76 0000", "accepted": True}, "iban"),
        ({"account_holder": "A", "iban": "US12345678901234", "accepted": True}, "iban"),
        ({"account_holder": "A", "iban": IBAN, "bic": "XX", "accepted": True}, "bic"),
        ({"account_holder": " ", "iban": IBAN, "accepted": True}, "account_holder"),
        ({"account_holder": "A", "iban": IBAN}, "accepted"),
        ({"account_holder": "A", "iban": IBAN, "accepted": True, "ibna": "x"}, "ibna"),
    ],
)
def test_a_bad_mandate_is_refused_on_its_field(api, tenants, body, field):
    response = api("customer2").post("/api/v1/payment-methods/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not PaymentMethod.objects.exists()


def test_a_mandate_for_another_tenant_is_refused(api, tenants):
    response = api("customer2").post(
        "/api/v1/payment-methods/",
        {"customer": tenants.fjord.pk, "account_holder": "A", "iban": IBAN, "accepted": True},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["customer"]
    assert not PaymentMethod.objects.exists()


def test_make_default_and_revoke(api, tenants):
    first = _mandate(tenants.dupont)
    second = _mandate(tenants.dupont, OTHER_IBAN)
    client = api("customer2")
    response = client.post(f"/api/v1/payment-methods/{first.pk}/make-default/", format="json")
    assert response.status_code == 200, response.content
    assert response.json()["is_default"] is True
    second.refresh_from_db()
    assert second.is_default is False
    response = client.post(f"/api/v1/payment-methods/{first.pk}/revoke/", {}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["is_default"]) == ("revoked", False)
    assert response.json()["revoked_on"] == "2026-11-22"
    # Twice: refused, and a revoked method cannot be the default.
    again = client.post(f"/api/v1/payment-methods/{first.pk}/revoke/", format="json")
    assert again.status_code == 400
    assert "__all__" in again.json()
    default = client.post(f"/api/v1/payment-methods/{first.pk}/make-default/", format="json")
    assert default.status_code == 400
    assert client.post(
        f"/api/v1/payment-methods/{second.pk}/revoke/", {"now": True}, format="json"
    ).json() == {"now": ["This operation takes no field of this name."]}


def test_another_tenants_payment_method_cannot_be_changed(api, mandates):
    for action in ("make-default", "revoke"):
        response = api("customer2").post(
            f"/api/v1/payment-methods/{mandates['nordic'].pk}/{action}/", format="json"
        )
        assert response.status_code == 404
    mandates["nordic"].refresh_from_db()
    assert mandates["nordic"].status == "active"


def test_adding_a_mandate_honours_the_idempotency_key(api, tenants):
    client = api("customer2", HTTP_IDEMPOTENCY_KEY="mandate-1")
    body = {"account_holder": "Atelier Dupont", "iban": IBAN, "accepted": True}
    first = client.post("/api/v1/payment-methods/", body, format="json")
    second = client.post("/api/v1/payment-methods/", body, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert PaymentMethod.objects.count() == 1
    other = client.post("/api/v1/payment-methods/", {**body, "iban": OTHER_IBAN}, format="json")
    assert other.status_code == 422


# Refunds --------------------------------------------------------------------------------------


def test_example_13_1_through_the_api(api, tenants):
    invoice = _paid_invoice(tenants)
    client = api("operator")
    url = f"/api/v1/invoices/{invoice.pk}/refunds/"
    response = client.post(
        url,
        {"amount": "40.00", "via": "transfer", "iban": IBAN, "reason": "Two gateways returned"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    credit_note = Invoice.objects.get(kind="credit_note")
    assert body["credit_note"] == credit_note.pk
    assert body["credit_note_number"] == credit_note.number
    assert credit_note.number.startswith("AV")
    assert credit_note.total.amount == Decimal("40.00")
    assert (body["amount"], body["currency"], body["via"], body["status"]) == (
        "40.00",
        "EUR",
        "transfer",
        "pending",
    )
    assert (body["invoice"], body["invoice_number"]) == (invoice.pk, invoice.number)
    assert body["iban_masked"] == MASKED
    _no_full_iban(response)
    # The invoice is partly refunded.
    shown = client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert (shown["refund_state"], shown["refunded"]) == ("partly_refunded", "40.00")
    listed = {row["id"]: row for row in results(client.get("/api/v1/invoices/"))}
    assert (listed[invoice.pk]["refund_state"], listed[invoice.pk]["refunded"]) == (
        "partly_refunded",
        "40.00",
    )
    # 100.00 more is refused: only 89.60 is left, and nothing is written.
    refused = client.post(
        url, {"amount": "100.00", "via": "credit", "reason": "More"}, format="json"
    )
    assert refused.status_code == 400
    assert list(refused.json()) == ["amount"]
    assert "89.60" in refused.json()["amount"][0]
    assert Refund.objects.count() == 1
    assert Invoice.objects.filter(kind="credit_note").count() == 1
    # The rest: refunded in full.
    rest = client.post(url, {"amount": "89.60", "via": "credit", "reason": "All"}, format="json")
    assert rest.status_code == 201
    shown = client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert (shown["refund_state"], shown["refunded"]) == ("refunded", "129.60")


def test_an_invoice_never_refunded_says_so(api, tenants):
    shown = api("customer2").get(f"/api/v1/invoices/{tenants.invoice_of(tenants.dupont).pk}/")
    assert (shown.json()["refund_state"], shown.json()["refunded"]) == ("", "0.00")


@pytest.mark.parametrize("user", ["partner", "customer", "customer2", "partner2"])
def test_only_operators_refund(api, tenants, user):
    invoice = _paid_invoice(tenants)
    response = api(user).post(
        f"/api/v1/invoices/{invoice.pk}/refunds/",
        {"amount": "10.00", "via": "credit", "reason": "x"},
        format="json",
    )
    assert response.status_code == 403
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0.00", "via": "credit", "reason": "x"}, "amount"),
        ({"amount": "abc", "via": "credit", "reason": "x"}, "amount"),
        ({"amount": "10.001", "via": "credit", "reason": "x"}, "amount"),
        ({"amount": "10.00", "via": "gateway", "reason": "x"}, "via"),
        ({"amount": "10.00", "via": "credit", "reason": " "}, "reason"),
        ({"amount": "10.00", "via": "transfer", "reason": "x"}, "iban"),  # no account on file
        ({"amount": "10.00", "via": "transfer", "iban": "FR00", "reason": "x"}, "iban"),
        ({"amount": "10.00", "via": "credit", "reason": "x", "amout": "1"}, "amout"),
        ({"via": "credit", "reason": "x"}, "amount"),
    ],
)
def test_a_bad_refund_is_refused_on_its_field(api, tenants, body, field):
    invoice = _paid_invoice(tenants)
    response = api("operator").post(f"/api/v1/invoices/{invoice.pk}/refunds/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Refund.objects.exists()


def test_an_open_invoice_has_nothing_to_refund(api, tenants):
    invoice = tenants.invoice_of(tenants.dupont)
    response = api("operator").post(
        f"/api/v1/invoices/{invoice.pk}/refunds/",
        {"amount": "1.00", "via": "credit", "reason": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "amount" in response.json()


def test_a_refund_honours_the_idempotency_key(api, tenants):
    invoice = _paid_invoice(tenants)
    client = api("operator", HTTP_IDEMPOTENCY_KEY="refund-1")
    body = {"amount": "40.00", "via": "credit", "reason": "Goodwill"}
    url = f"/api/v1/invoices/{invoice.pk}/refunds/"
    first = client.post(url, body, format="json")
    second = client.post(url, body, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert Refund.objects.count() == 1


@pytest.fixture
def refunded(tenants):
    """A refund of 40.00 of the bakery's invoice (Acme's), to its customer credit."""
    return services.refund_create(
        invoice=_paid_invoice(tenants),
        amount="40.00",
        reason="Two gateways returned",
        via="credit",
        day=TODAY,
    )


@pytest.mark.parametrize(
    ("user", "sees"),
    [("operator", True), ("partner", True), ("partner2", False), ("customer", False)],
)
def test_each_role_lists_the_refunds_of_its_invoices(api, refunded, user, sees):
    response = api(user).get("/api/v1/refunds/")
    assert response.status_code == 200
    assert [row["id"] for row in results(response)] == ([refunded.pk] if sees else [])
    detail = api(user).get(f"/api/v1/refunds/{refunded.pk}/")
    assert detail.status_code == (200 if sees else 404)
    if sees:
        assert detail.json()["credit_note_number"] == refunded.credit_note.number


def test_refunds_filter_strictly(api, refunded):
    client = api("operator")
    rows = results(client.get(f"/api/v1/refunds/?invoice={refunded.invoice_id}&via=credit"))
    assert [row["id"] for row in rows] == [refunded.pk]
    assert results(client.get("/api/v1/refunds/?via=transfer")) == []
    assert client.get("/api/v1/refunds/?invoce=1").status_code == 400
    assert client.get("/api/v1/refunds/?invoice=0").status_code == 400


# Customer credit ---------------------------------------------------------------------------------


def test_the_credit_after_a_refund_to_credit(api, tenants, refunded):
    account = tenants.acme.account
    response = api("partner").get(f"/api/v1/customers/{account.pk}/credit/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"] == {"id": account.pk, "name": "Acme Resellers SARL"}
    assert body["balances"] == [{"currency": "EUR", "balance": "40.00"}]
    assert body["count"] == 1
    [entry] = body["results"]
    assert (entry["kind"], entry["amount"], entry["currency"], entry["day"]) == (
        "credit_note",
        "40.00",
        "EUR",
        "2026-11-22",
    )
    assert entry["document"]["number"] == refunded.credit_note.number
    assert CreditEntry.objects.get().pk == entry["id"]
    # The operator sees it too; pages are strict.
    assert api("operator").get(f"/api/v1/customers/{account.pk}/credit/").json() == body
    assert api("operator").get(f"/api/v1/customers/{account.pk}/credit/?page=2").status_code == 404
    assert (
        api("operator").get(f"/api/v1/customers/{account.pk}/credit/?currency=EUR").status_code
        == 400
    )


@pytest.mark.parametrize(
    ("user", "own", "other"),
    [
        ("customer2", "dupont", "maple"),
        ("customer", "maple", "dupont"),
        ("partner", "bakery", "fjord"),
        ("partner2", "fjord", "bakery"),
    ],
)
def test_credit_of_another_tenants_customer_is_not_found(api, tenants, user, own, other):
    client = api(user)
    mine = client.get(f"/api/v1/customers/{getattr(tenants, own).pk}/credit/")
    assert mine.status_code == 200
    assert (mine.json()["balances"], mine.json()["results"]) == ([], [])
    assert client.get(f"/api/v1/customers/{getattr(tenants, other).pk}/credit/").status_code == 404


def test_another_partners_billing_account_credit_is_not_found(api, tenants, refunded):
    account = tenants.acme.account
    assert api("partner2").get(f"/api/v1/customers/{account.pk}/credit/").status_code == 404
    assert api("customer2").get(f"/api/v1/customers/{account.pk}/credit/").status_code == 404
