"""The FEC (issue 16, "Exports"): the 18 columns of LPF art. A47 A-1, a hand-computed example
(an invoice at two rates over three revenue accounts, a credit note, a payment and its returned
debit) line by line, every entry and the whole file balanced, the demo's year, the encoding,
the file name, and its doors (the command and the operators' download)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.models import Invoice, InvoiceLine, Payment
from billing.services import (
    invoice_cancel_by_credit_note,
    invoice_issue,
    payment_from_credit,
    payment_record,
    payment_reverse,
)
from catalog.models import SellerProfile
from core.errors import ApplicationError
from payments import services as payment_services
from reports.fec import fec_chunks, fec_filename, fec_lines, fec_period_check
from tests.billing.builders import manual_draft
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

D = Decimal
PARIS = ZoneInfo("Europe/Paris")
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}
# Typed out, not imported: the norm's names, in its order.
HEADER = (
    "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\t"
    "CompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\t"
    "ValidDate\tMontantdevise\tIdevise"
)


@pytest.fixture(autouse=True)
def _end_of_march():
    # Payments are validated the day they are recorded (ValidDate).
    with time_machine.travel(datetime(2026, 3, 31, 10, tzinfo=PARIS), tick=False):
        yield


def rows(text_lines) -> list[list[str]]:
    lines = list(text_lines)
    assert all(line.endswith("\r\n") for line in lines)
    return [line.removesuffix("\r\n").split("\t") for line in lines]


def amount(text: str) -> Decimal:
    assert "." not in text
    return D(text.replace(",", "."))


def assert_balanced(body: list[list[str]]) -> tuple[Decimal, Decimal]:
    """Every entry (journal and number) balances, hence the file; returns the file's totals."""
    entries: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    for row in body:
        assert len(row) == 18, row
        debit, credit = amount(row[11]), amount(row[12])
        assert debit >= 0 and credit >= 0 and (debit == 0) != (credit == 0), row
        entries[(row[0], row[2])][0] += debit
        entries[(row[0], row[2])][1] += credit
    for key, (debit, credit) in entries.items():
        assert debit == credit, key
    total_debit = sum((amount(row[11]) for row in body), D(0))
    total_credit = sum((amount(row[12]) for row in body), D(0))
    assert total_debit == total_credit
    return total_debit, total_credit


def draft_with_lines(customer, lines: list[tuple[str, str, str]]) -> Invoice:
    """An operator's draft with (net, VAT rate, ledger account) lines."""
    invoice = Invoice.objects.create(
        customer=customer,
        currency="EUR",
        customer_name=customer.name,
        net_total=D(0),
        tax_total=D(0),
        total=D(0),
        amount_paid=D(0),
    )
    for position, (net, rate, account) in enumerate(lines):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            kind=InvoiceLine.Kind.ONE_OFF,
            description=f"Line {position + 1}",
            currency="EUR",
            quantity=D(1),
            unit_price=D(net),
            gross=D(net),
            discount_total=D(0),
            net=D(net),
            tax_rate=D(rate),
            ledger_account=account,
        )
    return invoice


@pytest.fixture
def march():
    """The hand-computed month: F2026-000001 of 184.75 (100.00 at 20 % on 706100, 50.00 at
    5.5 % on 706200, 10.00 at 20 % on no account: 706000; VAT 22.00 + 2.75), paid by direct
    debit on 10 March and returned on 12 March (AM04); F2026-000002 of 120.00 cancelled by the
    credit note AV2026-000001 on 5 March."""
    customer = CustomerFactory(name="Boulangerie Martin")
    first = invoice_issue(
        invoice=draft_with_lines(
            customer, [("100.00", "20", "706100"), ("50.00", "5.5", "706200"), ("10.00", "20", "")]
        ),
        day=date(2026, 3, 2),
    )
    assert first.total.amount == D("184.75")
    second = invoice_issue(invoice=manual_draft(customer), day=date(2026, 3, 3))
    credit = invoice_cancel_by_credit_note(invoice=second, reason="wrong PO", day=date(2026, 3, 5))
    paid = payment_record(
        invoice=first,
        amount="184.75",
        method="sepa_debit",
        received_on=date(2026, 3, 10),
        reference="E2E-0001",
    )
    returned = payment_reverse(payment=paid, day=date(2026, 3, 12), reason="AM04")
    return customer, first, second, credit, paid, returned


def test_the_header_names_the_18_columns_of_the_norm_in_order(march):
    lines = list(fec_lines(**MARCH))
    assert lines[0] == HEADER + "\r\n"
    assert len(HEADER.split("\t")) == 18


def test_the_hand_computed_month_line_by_line(march):
    customer, _first, _second, _credit, paid, returned = march
    aux = f"C{customer.pk:06d}"
    name = "Boulangerie Martin"

    def ve(number, day, account, label, aux_num, aux_lib, text, debit, credit_):
        return [
            "VE", "Ventes", number, day, account, label, aux_num, aux_lib, number, day, text,
            debit, credit_, "", "", day, "", "",
        ]  # fmt: skip

    def bq(number, account, label, aux_num, aux_lib, piece, text, debit, credit_, day):
        return [
            "BQ", "Banque", number, day, account, label, aux_num, aux_lib, piece, day, text,
            debit, credit_, "", "", "20260331", "", "",
        ]  # fmt: skip

    f1, f2 = "Facture F2026-000001 " + name, "Facture F2026-000002 " + name
    av = f"Avoir AV2026-000001 sur F2026-000002 {name}"
    expected = [
        # The invoice: the customer debited with the total, each revenue account and each VAT
        # rate credited.
        ve("F2026-000001", "20260302", "411000", "Clients", aux, name, f1, "184,75", "0,00"),
        ve("F2026-000001", "20260302", "706000", "Prestations de services", "", "", f1, "0,00", "10,00"),
        ve("F2026-000001", "20260302", "706100", "Prestations de services", "", "", f1, "0,00", "100,00"),
        ve("F2026-000001", "20260302", "706200", "Prestations de services", "", "", f1, "0,00", "50,00"),
        ve("F2026-000001", "20260302", "445710550", "TVA collectée 5,50 %", "", "", f1, "0,00", "2,75"),
        ve("F2026-000001", "20260302", "445712000", "TVA collectée 20,00 %", "", "", f1, "0,00", "22,00"),
        ve("F2026-000002", "20260303", "411000", "Clients", aux, name, f2, "120,00", "0,00"),
        ve("F2026-000002", "20260303", "706000", "Prestations de services", "", "", f2, "0,00", "100,00"),
        ve("F2026-000002", "20260303", "445712000", "TVA collectée 20,00 %", "", "", f2, "0,00", "20,00"),
        # The credit note: the reverse.
        ve("AV2026-000001", "20260305", "411000", "Clients", aux, name, av, "0,00", "120,00"),
        ve("AV2026-000001", "20260305", "706000", "Prestations de services", "", "", av, "100,00", "0,00"),
        ve("AV2026-000001", "20260305", "445712000", "TVA collectée 20,00 %", "", "", av, "20,00", "0,00"),
        # The direct debit collected: the bank debited, the customer credited.
        bq(f"P{paid.pk}", "512000", "Banque", "", "", "E2E-0001",
           f"Règlement F2026-000001 prélèvement {name}", "184,75", "0,00", "20260310"),
        bq(f"P{paid.pk}", "411000", "Clients", aux, name, "E2E-0001",
           f"Règlement F2026-000001 prélèvement {name}", "0,00", "184,75", "20260310"),
        # It came back: the reverse.
        bq(f"P{returned.pk}", "512000", "Banque", "", "", "AM04",
           f"Rejet du règlement F2026-000001 prélèvement {name}", "0,00", "184,75", "20260312"),
        bq(f"P{returned.pk}", "411000", "Clients", aux, name, "AM04",
           f"Rejet du règlement F2026-000001 prélèvement {name}", "184,75", "0,00", "20260312"),
    ]  # fmt: skip
    body = rows(fec_lines(**MARCH))[1:]
    assert body == expected
    assert assert_balanced(body) == (D("794.25"), D("794.25"))


def test_only_the_period_is_exported(march):
    assert len(rows(fec_lines(start=date(2026, 3, 6), end=date(2026, 3, 11)))) == 1 + 2
    assert rows(fec_lines(start=date(2026, 4, 1), end=date(2026, 4, 30))) == [HEADER.split("\t")]


def test_customer_credit_moves_no_account_and_refunds_paid_back_move_the_bank(march):
    _customer, first, *_rest = march
    # The returned debit is paid again, partly by transfer, the rest from customer credit.
    payment_record(
        invoice=first, amount="100.00", method="bank_transfer", received_on=date(2026, 3, 20)
    )
    payment_from_credit(invoice=first, amount=D("84.75"), day=date(2026, 3, 21))
    refund = payment_services.refund_create(
        invoice=first, amount="40.00", reason="goodwill", via="transfer", day=date(2026, 3, 25),
        iban="FR7630006000011234567890189",
    )  # fmt: skip
    payment_services.refund_mark_paid(refund=refund, day=date(2026, 3, 26))
    body = rows(fec_lines(**MARCH))[1:]
    assert_balanced(body)
    numbers = {row[2] for row in body}
    credit_payment = Payment.objects.get(method="credit")
    assert f"P{credit_payment.pk}" not in numbers
    refund_lines = [row for row in body if row[2] == f"R{refund.pk}"]
    assert [(row[4], row[11], row[12]) for row in refund_lines] == [
        ("512000", "0,00", "40,00"),
        ("411000", "40,00", "0,00"),
    ]
    # Its credit note is in the sales journal (40.00 split into 33.33 net and 6.67 VAT at 20 %).
    assert refund.credit_note.number in numbers


def test_the_demo_year_balances_and_flags_its_canadian_dollars():
    # The demo as seeded on the last day of 2026 (its billing runs up to "today").
    with time_machine.travel(datetime(2026, 12, 31, 10, tzinfo=PARIS), tick=False):
        call_command("seed_demo", stdout=StringIO())
        body = rows(fec_lines(start=date(2026, 1, 1), end=date(2026, 12, 31)))[1:]
    debit, _credit = assert_balanced(body)
    assert debit > 0
    journals = {row[0] for row in body}
    assert journals == {"VE", "BQ"}
    # Every issued document of 2026 is an entry of the sales journal, its total on 411.
    documents = Invoice.objects.exclude(status="draft").filter(issue_date__year=2026)
    sales = {row[2]: row for row in body if row[0] == "VE" and row[4] == "411000"}
    assert set(sales) == {invoice.number for invoice in documents}
    for invoice in documents:
        row = sales[invoice.number]
        assert amount(row[11]) + amount(row[12]) == invoice.total.amount
    # Maple Hosting is billed in CAD: not converted, flagged with its currency.
    foreign = [row for row in body if row[17]]
    assert foreign and {row[17] for row in foreign} == {"CAD"}
    assert all(row[16] == row[11] if row[11] != "0,00" else row[16] == row[12] for row in foreign)
    # Dates are YYYYMMDD and in the period.
    assert all("20260101" <= row[3] <= "20261231" and len(row[3]) == 8 for row in body)


def test_the_file_is_latin_9_with_crlf_and_named_after_the_siren(march):
    customer, *_rest = march
    customer.name = "Œuvres Łódź & Cie — 5 €"
    customer.save()
    content = b"".join(fec_chunks(**MARCH))
    text = content.decode("iso-8859-15")
    assert text.startswith(HEADER + "\r\n")
    # Œ and € are Latin-9; Ł is not and becomes "?"; the em dash neither.
    assert "Œuvres ?ód? & Cie ? 5 €" in text
    assert content.count(b"\r\n") == 17
    profile = SellerProfile.current()
    assert fec_filename(end=date(2026, 12, 31)) == f"{profile.siren}FEC20261231.txt"


def test_the_file_name_needs_the_sellers_siren(settings):
    settings.SELLER_SIREN = ""
    with pytest.raises(ApplicationError, match="SIREN"):
        fec_filename(end=date(2026, 12, 31))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 12, 31), date(2026, 1, 1), r"ends \(2026-01-01\) before it starts"),
        (date(2026, 1, 1), date(2028, 1, 1), "at most 24 months: from 2026-01-01, end it on 2027-12-31"),
    ],
)  # fmt: skip
def test_a_period_that_is_not_one_is_refused(start, end, message):
    with pytest.raises(ApplicationError, match=message):
        fec_period_check(start=start, end=end)
    fec_period_check(start=date(2026, 1, 1), end=date(2027, 12, 31))  # a long first fiscal year


def test_the_queries_do_not_grow_with_the_documents(django_assert_max_num_queries):
    customer = CustomerFactory()
    for day in range(2, 8):
        invoice = invoice_issue(invoice=manual_draft(customer), day=date(2026, 3, day))
        payment_record(
            invoice=invoice, amount="120.00", method="card", received_on=date(2026, 3, day)
        )
    # Documents and payments are read in batches (one query each, plus the lines and taxes of
    # each batch of documents): the same few queries for 6 documents or a million.
    with django_assert_max_num_queries(8):
        body = rows(fec_lines(**MARCH))[1:]
    assert len(body) == 6 * 3 + 6 * 2


def test_the_batches_do_not_change_the_file(march, monkeypatch):
    whole = list(fec_lines(**MARCH))
    # One document per batch: its lines and taxes still found, the order unchanged.
    monkeypatch.setattr("reports.fec.BATCH", 1)
    assert list(fec_lines(**MARCH)) == whole


# Doors -----------------------------------------------------------------------------------------


def test_the_command_writes_the_named_file(march, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = StringIO()
    call_command("export_fec", "--start", "2026-03-01", "--end", "2026-03-31", stderr=err)
    name = fec_filename(end=date(2026, 3, 31))
    content = (tmp_path / name).read_bytes().decode("iso-8859-15")
    assert content.splitlines()[0] == HEADER
    assert len(content.splitlines()) == 17
    assert name in err.getvalue()
    target = tmp_path / "march.txt"
    call_command(
        "export_fec", "--start", "2026-03-01", "--end", "2026-03-31", "--output", str(target)
    )
    assert target.read_bytes() == (tmp_path / name).read_bytes()


def test_the_command_refuses_bad_dates_with_a_message():
    with pytest.raises(CommandError, match="before it starts"):
        call_command("export_fec", "--start", "2026-12-31", "--end", "2026-01-01")
    with pytest.raises(CommandError, match="not a date"):
        call_command("export_fec", "--start", "2026-13-01", "--end", "2026-12-31")


def test_operators_download_it_streamed(march, operator_client):
    url = reverse("reports:fec")
    page = operator_client.get(url)
    assert page.status_code == 200
    assert 'value="2025-01-01"' in page.content.decode()  # the last calendar year
    response = operator_client.get(url, {"start": "2026-03-01", "end": "2026-03-31"})
    assert response.status_code == 200 and response.streaming
    name = fec_filename(end=date(2026, 3, 31))
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    content = b"".join(response.streaming_content).decode("iso-8859-15")
    assert content.startswith(HEADER) and len(content.splitlines()) == 17


def test_the_download_refuses_a_bad_period_on_the_form(operator_client):
    url = reverse("reports:fec")
    response = operator_client.get(url, {"start": "2026-03-01", "end": "2029-03-31"})
    assert response.status_code == 200 and not response.streaming
    assert "at most 24 months" in response.content.decode()
    response = operator_client.get(url, {"start": "2026-03-01", "end": "nonsense"})
    assert response.status_code == 200 and not response.streaming


def test_only_staff_allowed_to_see_invoices_download_it(client, django_user_model):
    url = reverse("reports:fec")
    assert client.get(url).status_code == 302  # to the admin's login
    staff = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403
