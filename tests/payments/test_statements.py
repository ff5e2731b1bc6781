"""Bank statements (issue 14): a camt.053 statement imported once, its incoming transfers
matched to open invoices by the RF reference, the invoice number in the free text, or amount
and customer; partial and over-payments; the unmatched queue and its doors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from stdnum import iso11649

from billing.documents import invoice_html
from billing.models import Invoice, Payment
from billing.services import billing_run
from catalog.models import Plan, SeatType
from core.errors import ApplicationError
from core.remittance import creditor_reference, keys_in_text, number_from_key, reference_key
from payments import services
from payments.models import BankStatement, BankStatementEntry, CreditEntry
from subscriptions import services as subscription_services
from subscriptions.models import CustomerUser
from tests.subscriptions.factories import CustomerFactory
from tests.support.payments import Tx, camt053

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 31)
MARTIN_IBAN = "FR7610107001011234567890129"


def upload(content: bytes, name: str = "statement.xml") -> ContentFile:
    return ContentFile(content, name=name)


def import_(content: bytes, actor=None) -> BankStatement:
    return services.statement_import(file=upload(content), actor=actor, day=DAY)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(DAY, tick=False):
        yield


@pytest.fixture
def invoices(demo_catalog):
    """billing-rules example 6.1 for three customers: three invoices of 129.60 issued on
    2026-01-01 (Boulangerie Martin, Atelier Dupont, Maple Hosting)."""
    found = {}
    for name in ("Boulangerie Martin", "Atelier Dupont", "Maple Hosting"):
        subscription = subscription_services.subscription_create(
            customer=CustomerFactory(name=name, locale="fr"),
            plan=Plan.objects.get(code="device-seats"),
            start_date=date(2026, 1, 1),
            today=date(2026, 1, 1),
            seats={SeatType.objects.get(code="gateway"): 10},
            service_period_years=3,
            partner_discount_percent=Decimal("20"),
        ).subscription
        found[name] = subscription
    billing_run(day=date(2026, 1, 1))
    result = {name: Invoice.objects.get(subscription=sub) for name, sub in found.items()}
    assert {invoice.total.amount for invoice in result.values()} == {Decimal("129.60")}
    return result


def fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


# The reference --------------------------------------------------------------------------------


def test_the_rf_reference_is_a_valid_iso_11649_reference_made_from_the_invoice_number():
    reference = creditor_reference("F2026-000001")
    assert iso11649.validate(reference) == reference == "RF82F2026000001"
    assert number_from_key(reference_key("F2026-000001")) == "F2026-000001"
    assert keys_in_text("Paiement RF82 F202 6000 001 du 15/01") == ["F2026000001"]
    # A wrong check digit is a typing error: it finds nothing rather than another invoice.
    assert keys_in_text("RF83 F202 6000 001") == []
    assert keys_in_text("facture f2026-000012 merci") == ["F2026000012"]


def test_the_reference_is_printed_on_the_invoice_and_shown_in_self_service(
    invoices, client, django_user_model
):
    invoice = invoices["Boulangerie Martin"]
    assert invoice.payment_reference == iso11649.format(creditor_reference(invoice.number))
    html = invoice_html(invoice)
    # The invoice is in French (the customer's language), the reference beside the bank details.
    assert f"votre virement\u00a0: <strong>{invoice.payment_reference}</strong>" in html
    assert "IBAN FR76" in html
    user = django_user_model.objects.create_user("martin", password="x")
    CustomerUser.objects.create(user=user, customer=invoice.customer)
    client.force_login(user)
    page = client.get(reverse("account:invoices"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Reference to quote with your transfer: {invoice.payment_reference}" in page
    assert "Pay by bank transfer to IBAN FR76" in page
    # Paid, an invoice asks for nothing more.
    import_(camt053(Tx("129.60", reference=invoice.payment_reference)))
    page = client.get(reverse("account:invoices"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reference to quote" not in page


# Matching -------------------------------------------------------------------------------------


def test_a_transfer_quoting_the_rf_reference_pays_its_invoice(invoices):
    invoice = invoices["Atelier Dupont"]
    statement = import_(camt053(Tx("129.60", reference=invoice.payment_reference.replace(" ", ""))))
    entry = statement.entries.get()
    assert entry.status == BankStatementEntry.Status.MATCHED
    assert entry.invoice == invoice
    assert fresh(invoice).status == Invoice.Status.PAID
    payment = entry.payment
    assert (payment.method, payment.amount.amount, payment.reference, payment.received_on) == (
        Payment.Method.BANK_TRANSFER,
        Decimal("129.60"),
        "STMT-2026-01-00001",
        date(2026, 1, 15),
    )
    assert "structured reference" in entry.note


def test_a_transfer_naming_the_invoice_number_in_its_text_pays_it(invoices):
    invoice = invoices["Maple Hosting"]
    text = f"Reglement facture {invoice.number.lower()} merci"
    statement = import_(camt053(Tx("129.60", text=text)))
    entry = statement.entries.get()
    assert (entry.status, entry.invoice) == (BankStatementEntry.Status.MATCHED, invoice)
    assert fresh(invoice).status == Invoice.Status.PAID


def test_a_transfer_without_reference_is_matched_by_amount_and_customer(invoices):
    martin, dupont = invoices["Boulangerie Martin"], invoices["Atelier Dupont"]
    services.sepa_mandate_add(
        customer=martin.customer,
        account_holder="Jean Martin",
        iban=MARTIN_IBAN,
        accepted=True,
        today=date(2026, 1, 2),
    )
    statement = import_(
        camt053(
            # The debtor's IBAN is Martin's mandate's; the name is the account holder's.
            Tx("129.60", text="Janvier", debtor="JEAN MARTIN", iban=MARTIN_IBAN),
            # The debtor's name is Dupont's customer name (case and spaces aside).
            Tx("129.60", text="abonnement", debtor="atelier  DUPONT"),
            # A right customer, a wrong amount: not guessed.
            Tx("99.00", text="acompte", debtor="Maple Hosting"),
        )
    )
    first, second, third = statement.entries.order_by("position")
    assert (first.status, first.invoice) == ("matched", martin)
    assert (second.status, second.invoice) == ("matched", dupont)
    assert third.status == "unmatched" and third.invoice is None
    assert "no open invoice of this amount" in third.note
    assert fresh(invoices["Maple Hosting"]).status == Invoice.Status.ISSUED


def test_a_partial_payment_leaves_the_invoice_open_with_its_balance(invoices):
    invoice = invoices["Boulangerie Martin"]
    import_(camt053(Tx("100.00", reference=invoice.payment_reference)))
    invoice = fresh(invoice)
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.balance.amount == Decimal("29.60")
    assert not CreditEntry.objects.exists()


def test_an_over_payment_pays_the_invoice_and_the_surplus_becomes_credit(invoices):
    invoice = invoices["Boulangerie Martin"]
    statement = import_(camt053(Tx("150.00", reference=invoice.payment_reference)))
    invoice = fresh(invoice)
    assert invoice.status == Invoice.Status.PAID
    assert invoice.amount_paid.amount == Decimal("129.60")
    credit = CreditEntry.objects.get()
    assert (credit.kind, credit.amount.amount, credit.invoice, credit.customer) == (
        CreditEntry.Kind.OVERPAYMENT,
        Decimal("20.40"),
        invoice,
        invoice.customer,
    )
    assert statement.entries.get().credit == credit
    assert services.credit_balance(customer=invoice.customer, currency="EUR") == Decimal("20.40")


def test_two_transfers_for_one_invoice_in_one_statement(invoices):
    invoice = invoices["Atelier Dupont"]
    reference = invoice.payment_reference
    statement = import_(
        camt053(Tx("100.00", reference=reference), Tx("29.60", text=invoice.number))
    )
    assert list(statement.entries.values_list("status", flat=True)) == ["matched", "matched"]
    assert fresh(invoice).status == Invoice.Status.PAID


def test_an_unmatched_transfer_waits_then_is_matched_by_hand(invoices, operator):
    invoice = invoices["Maple Hosting"]
    statement = import_(camt053(Tx("150.00", text="virement", debtor="M. Inconnu")))
    entry = statement.entries.get()
    assert entry.status == BankStatementEntry.Status.UNMATCHED
    assert fresh(invoice).status == Invoice.Status.ISSUED
    entry = services.statement_entry_match(entry=entry, invoice=invoice, actor=operator)
    assert (entry.status, entry.invoice, entry.matched_by) == ("matched", invoice, operator)
    assert fresh(invoice).status == Invoice.Status.PAID
    assert entry.credit.amount.amount == Decimal("20.40")
    # Matched once: a second match is refused and changes nothing.
    with pytest.raises(ApplicationError, match="not waiting to be matched"):
        services.statement_entry_match(entry=entry, invoice=invoice, actor=operator)
    assert Payment.objects.count() == 1


def test_a_transfer_for_a_paid_invoice_stays_in_the_queue(invoices):
    invoice = invoices["Maple Hosting"]
    reference = invoice.payment_reference
    import_(camt053(Tx("129.60", reference=reference)))
    second = import_(camt053(Tx("129.60", reference=reference), statement_id="STMT-2026-02"))
    entry = second.entries.get()
    assert entry.status == "unmatched" and "not open" in entry.note
    assert Payment.objects.count() == 1


def test_debits_are_ignored_and_an_entry_can_be_ignored_with_a_reason(invoices, operator):
    statement = import_(
        camt053(Tx("35.00", side="DBIT", debtor="Bank fees"), Tx("12.00", text="interne"))
    )
    debit, credit = statement.entries.order_by("position")
    assert debit.status == "ignored" and debit.payment is None
    with pytest.raises(ApplicationError, match="Say why"):
        services.statement_entry_ignore(entry=credit, reason=" ", actor=operator)
    credit = services.statement_entry_ignore(
        entry=credit, reason="Transfer between our accounts", actor=operator
    )
    assert (credit.status, credit.note) == ("ignored", "Transfer between our accounts")


# Refusals -------------------------------------------------------------------------------------


def test_the_same_file_twice_is_refused(invoices):
    invoice = invoices["Atelier Dupont"]
    content = camt053(Tx("129.60", reference=invoice.payment_reference))
    import_(content)
    with pytest.raises(ApplicationError, match="already imported"):
        import_(content)
    # The same statement of the account, exported again (another creation time): refused too.
    with pytest.raises(ApplicationError, match="already imported"):
        import_(content.replace(b"20:00:00</CreDtTm>", b"21:00:00</CreDtTm>"))
    assert BankStatement.objects.count() == 1
    assert Payment.objects.count() == 1


def test_an_entity_expansion_is_refused_without_expanding_it(db):
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>"""
    with pytest.raises(ApplicationError, match="refused for safety"):
        import_(bomb)
    external = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>"""
    with pytest.raises(ApplicationError, match="refused for safety"):
        import_(external)
    assert not BankStatement.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Date;Amount\n2026-01-15;129.60\n", "not XML"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"/>',
            "not a camt.053 bank statement",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><Other/></Document>',
            "no bank-to-customer statement",
        ),
    ],
)
def test_a_file_that_is_not_a_camt_053_statement_is_refused(db, content, message):
    with pytest.raises(ApplicationError, match=message):
        import_(content)
    assert not BankStatement.objects.exists()


def test_a_statement_in_a_currency_cadence_does_not_invoice_in_is_refused(db):
    with pytest.raises(ApplicationError, match="in JPY"):
        import_(camt053(Tx("1000", currency="JPY"), currency="JPY"))
    with pytest.raises(ApplicationError, match="Entry 1 is in USD"):
        import_(camt053(Tx("10.00", currency="USD")))
    assert not BankStatement.objects.exists()


def test_an_entry_booked_after_today_is_refused(db):
    with pytest.raises(ApplicationError, match="after today"):
        import_(camt053(Tx("10.00", booked="2026-02-15")))


# Admin doors ----------------------------------------------------------------------------------


def test_an_operator_imports_a_statement_and_works_the_unmatched_queue(invoices, operator_client):
    dupont, maple = invoices["Atelier Dupont"], invoices["Maple Hosting"]
    invoice_page = operator_client.get(reverse("admin:billing_invoice_change", args=[dupont.pk]))
    assert dupont.payment_reference in invoice_page.content.decode()
    url = reverse("admin:payments_bankstatement_import")
    assert operator_client.get(reverse("admin:payments_bankstatement_add")).url == url
    page = operator_client.get(url)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    refused = operator_client.post(url, {"file": SimpleUploadedFile("x.csv", b"a;b\n")})
    assert refused.status_code == 200 and "This file is not XML" in refused.content.decode()
    content = camt053(
        Tx("129.60", reference=dupont.payment_reference),
        Tx("129.60", text="virement janvier", debtor="Quelqu'un"),
    )
    done = operator_client.post(url, {"file": SimpleUploadedFile("janvier.xml", content)})
    assert done.status_code == 302
    statement = BankStatement.objects.get()
    assert statement.file_name == "janvier.xml" and statement.imported_by.username == "operator"
    detail = operator_client.get(done.url).content.decode()
    assert "virement janvier" in detail and dupont.number in detail
    again = operator_client.post(url, {"file": SimpleUploadedFile("janvier.xml", content)})
    assert "already imported" in again.content.decode()

    queue = operator_client.get(reverse("admin:payments_bankstatemententry_changelist"))
    html = queue.content.decode()
    assert queue.status_code == 200
    assert "virement janvier" in html and dupont.payment_reference not in html  # only unmatched
    entry = BankStatementEntry.objects.get(status="unmatched")
    match_url = reverse("admin:payments_bankstatemententry_match", args=[entry.pk])
    assert match_url in html
    wrong = operator_client.post(match_url, {"invoice": "F1999-000001"})
    assert "No invoice has this number" in wrong.content.decode()
    matched = operator_client.post(match_url, {"invoice": f" {maple.number.lower()} "})
    assert matched.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.invoice) == ("matched", maple)
    assert fresh(maple).status == Invoice.Status.PAID
    everything = operator_client.get(
        reverse("admin:payments_bankstatemententry_changelist") + "?status=all"
    )
    assert everything.content.decode().count("virement janvier") >= 1


def test_an_operator_ignores_a_transfer_with_a_reason(invoices, operator_client):
    entry = import_(camt053(Tx("12.00", text="interne"))).entries.get()
    url = reverse("admin:payments_bankstatemententry_ignore", args=[entry.pk])
    refused = operator_client.post(url, {"reason": ""})
    assert refused.status_code == 200
    assert operator_client.post(url, {"reason": "Our own savings account"}).status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.note) == ("ignored", "Our own savings account")


def test_staff_without_the_payments_permissions_get_403(invoices, client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    entry = import_(camt053(Tx("12.00", text="interne"))).entries.get()
    for url in (
        reverse("admin:payments_bankstatement_import"),
        reverse("admin:payments_bankstatemententry_changelist"),
        reverse("admin:payments_bankstatemententry_match", args=[entry.pk]),
        reverse("admin:payments_bankstatemententry_ignore", args=[entry.pk]),
    ):
        assert client.get(url).status_code == 403, url
    post = client.post(
        reverse("admin:payments_bankstatemententry_match", args=[entry.pk]), {"invoice": "x"}
    )
    assert post.status_code == 403
    entry.refresh_from_db()
    assert entry.status == "unmatched"


def test_an_oversized_file_is_refused_before_it_is_read(db, monkeypatch):
    monkeypatch.setattr("payments.camt.MAX_BYTES", 1024)
    with pytest.raises(ApplicationError, match="larger than"):
        import_(camt053(*(Tx("10.00", text=f"x{i}") for i in range(20))))
    assert not BankStatement.objects.exists()


def test_a_long_statement_links_to_its_entries_instead_of_listing_them(
    invoices, operator_client, monkeypatch
):
    statement = import_(camt053(Tx("12.00", text="alpha"), Tx("13.00", text="beta")))
    url = reverse("admin:payments_bankstatement_change", args=[statement.pk])
    assert "alpha" in operator_client.get(url).content.decode()
    monkeypatch.setattr("payments.admin.BankStatementAdmin.inline_limit", 1)
    html = operator_client.get(url).content.decode()
    assert "alpha" not in html
    assert f"status=all&statement__id__exact={statement.pk}" in html
