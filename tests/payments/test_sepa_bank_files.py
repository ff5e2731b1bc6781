"""Issue 14, the bank's side of SEPA direct debit: returned debits in a camt.054 notification
(recorded as a pain.002's are), the batch's collection and its returns seen in the camt.053
statement, and a draft batch cancelled before it reaches the bank. The quarterly invoice of
129.60 (billing-rules example 6.1) issued on 2026-01-01, due on 2026-01-31, debited in the
batch of 2026-01-17 for 2026-01-31."""

from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
import xmlschema
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

import bench.statements as bench
from billing.models import Invoice, Payment
from core.errors import ApplicationError
from payments import sepa, services
from payments.models import BankStatementEntry, PaymentMethod, SepaBatch, SepaDebit
from tests.payments.bankfiles import Entry, camt053, camt054, returned, schema_errors
from tests.payments.sepa_builders import invoice_for, mandate_for, submitted_batch

pytestmark = pytest.mark.django_db
D = Decimal
SAMPLE = Path(sepa.__file__).parent / "samples" / "camt.054.001.02-returns.xml"


def import_statement(content: bytes, day=date(2026, 2, 3)):
    return services.statement_import(
        file=ContentFile(content, name="statement.xml"), actor=None, day=day
    )


def returns(content: bytes, today=date(2026, 2, 5)):
    assert schema_errors(content, "camt.054.001.02") == []
    return services.sepa_returns_import(content=content, today=today)


def pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages).split()
    )


def collected(debit: SepaDebit) -> SepaDebit:
    services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    debit.refresh_from_db()
    return debit


# camt.054 ---------------------------------------------------------------------------------------


def test_the_shipped_sample_is_a_valid_camt_054_and_reads_as_three_returns():
    content = SAMPLE.read_bytes()
    assert schema_errors(content, "camt.054.001.02") == []
    schema = xmlschema.XMLSchema(str(sepa.SCHEMAS / "camt.054.001.02.xsd"))
    assert schema.is_valid(content.decode())
    report = sepa.returns_report(content)
    assert report.kind == "camt.054"
    assert [
        (r.end_to_end_id, r.mandate_reference, r.reason, r.amount, r.day) for r in report.rejections
    ] == [
        ("F2026-000001-1", "CAD-2025-000123", "AM04", D("129.60"), date(2026, 2, 4)),
        ("F2026-000002-1", "CAD-2025-000124", "MD01", D("54.00"), date(2026, 2, 4)),
        ("", "CAD-2025-000125", "MS02", D("155.60"), date(2026, 2, 5)),
    ]


def test_a_camt_054_returns_a_collected_debit_as_a_pain_002_does(quarterly):
    mandate_for(quarterly.customer)
    debit = collected(submitted_batch().debits.get())
    content = camt054(
        returned(debit.end_to_end_id, "129.60", "MD01", booked=date(2026, 2, 4)),
        returned("F1999-000001-1", "10.00", "AC04"),
    )
    result = returns(content)
    # The debit came back on the day the bank booked it; the invoice owes it again.
    assert [r.debit.end_to_end_id for r in result.returned] == [debit.end_to_end_id]
    assert result.unknown == ["F1999-000001-1"]
    debit.refresh_from_db()
    assert (debit.status, debit.return_reason, debit.returned_on) == (
        "returned",
        "MD01",
        date(2026, 2, 4),
    )
    quarterly.refresh_from_db()
    assert (quarterly.status, quarterly.amount_paid.amount) == ("overdue", D("0.00"))
    payment, reversal = Payment.objects.filter(invoice=quarterly).order_by("pk")
    assert (reversal.amount.amount, reversal.reverses) == (D("-129.60"), payment)
    # The same file again changes nothing.
    again = returns(content)
    assert (again.returned, again.already_returned) == ([], [debit.end_to_end_id])
    assert Payment.objects.filter(invoice=quarterly).count() == 2


def test_a_return_without_end_to_end_id_is_found_by_its_mandate_and_amount(quarterly):
    mandate = mandate_for(quarterly.customer)
    debit = submitted_batch().debits.get()
    content = camt054(
        returned("NOTPROVIDED", "129.60", "MS02", mandate=mandate.mandate_reference),
        returned("NOTPROVIDED", "129.60", "MS02", mandate="NOT-OUR-MANDATE"),
    )
    result = returns(content)
    assert [r.debit for r in result.returned] == [debit]
    assert result.unknown == ["mandate NOT-OUR-MANDATE (129.60)"]
    debit.refresh_from_db()
    assert (debit.status, debit.return_reason) == ("returned", "MS02")
    # Not collected yet: nothing to reverse, the invoice stays open.
    assert not Payment.objects.filter(invoice=quarterly).exists()
    again = returns(content)
    assert again.returned == [] and again.already_returned == [debit.end_to_end_id]


def test_a_camt_054_that_cannot_be_applied_writes_nothing(quarterly):
    mandate_for(quarterly.customer)
    mandate_for(invoice_for("Second SARL").customer)
    first, second = submitted_batch().debits.order_by("pk")
    # The second return is dated before the batch was written: the whole file is refused.
    content = camt054(
        returned(first.end_to_end_id, "129.60", "AM04"),
        returned(second.end_to_end_id, "129.60", "AM04", booked=date(2026, 1, 2)),
    )
    with pytest.raises(ApplicationError, match="before its batch was written"):
        returns(content)
    assert not SepaDebit.objects.filter(status="returned").exists()


def test_the_operator_imports_a_camt_054_next_to_the_pain_002(operator_client, quarterly):
    mandate_for(quarterly.customer)
    debit = submitted_batch().debits.get()
    changelist = operator_client.get(reverse("admin:payments_sepabatch_changelist"))
    assert "Import returned debits (camt.054)" in changelist.content.decode()
    content = camt054(returned(debit.end_to_end_id, "129.60", "AM04"))
    done = operator_client.post(
        reverse("admin:payments_sepabatch_returns"),
        {"file": SimpleUploadedFile("camt054.xml", content)},
        follow=True,
    )
    assert "1 debit(s) marked returned" in done.content.decode()
    debit.refresh_from_db()
    assert (debit.status, debit.return_reason) == ("returned", "AM04")


# camt.053: the batch collected, and its returns ---------------------------------------------


@pytest.fixture
def batch_of_two(quarterly):
    """The batch of 2026-01-17: the quarterly invoice and another of 129.60, both FRST."""
    mandate_for(quarterly.customer)
    mandate_for(invoice_for("Second SARL").customer)
    return submitted_batch()


def test_the_statement_books_the_batch_as_one_credit_and_its_debits_are_collected(
    batch_of_two,
):
    (info_id,) = sepa.payment_groups(batch_of_two.xml)
    debits = list(batch_of_two.debits.order_by("pk"))
    content = camt053(Entry(amount=D("259.20"), payment_info_id=info_id))
    assert schema_errors(content, "camt.053.001.02") == []

    statement = import_statement(content)

    entry = statement.entries.get()
    assert (entry.status, entry.sepa_batch, entry.payment) == ("collected", batch_of_two, None)
    assert "Collected 2 SEPA debit(s)" in entry.note
    for debit in debits:
        debit.refresh_from_db()
        assert (debit.status, debit.collected_on) == ("collected", date(2026, 1, 31))
        payment = debit.payment
        assert (payment.method, payment.amount.amount, payment.reference) == (
            "sepa_debit",
            D("129.60"),
            debit.end_to_end_id,
        )
        assert (payment.invoice.status, payment.invoice.paid_on) == ("paid", date(2026, 1, 31))
        assert PaymentMethod.objects.get(pk=debit.mandate_id).first_collected_on == date(
            2026, 1, 31
        )
    # Not in the unmatched queue; and the same credit in a later statement pays nothing twice.
    assert not BankStatementEntry.objects.filter(status="unmatched").exists()
    later = import_statement(
        camt053(
            Entry(amount=D("259.20"), batch_message_id=batch_of_two.message_id),
            statement_id="STMT-2026-02-B",
        )
    )
    assert later.entries.get().status == "ignored"
    assert Payment.objects.filter(method="sepa_debit").count() == 2


def test_a_batch_credit_of_another_amount_waits_for_the_operator(batch_of_two):
    content = camt053(Entry(amount=D("129.60"), batch_message_id=batch_of_two.message_id))
    entry = import_statement(content).entries.get()
    assert entry.status == "unmatched"
    assert "come to 259.20" in entry.note
    assert not Payment.objects.exists()
    assert set(batch_of_two.debits.values_list("status", flat=True)) == {"submitted"}


def test_the_statement_books_each_debit_and_one_comes_back_later(batch_of_two, quarterly):
    first, second = batch_of_two.debits.order_by("pk")
    # Debit by debit, each entry naming its end-to-end id.
    statement = import_statement(
        camt053(
            Entry(amount=D("129.60"), end_to_end_ids=(first.end_to_end_id,)),
            Entry(amount=D("129.60"), end_to_end_ids=(second.end_to_end_id,)),
        )
    )
    assert [(e.status, e.sepa_debit) for e in statement.entries.order_by("position")] == [
        ("collected", first),
        ("collected", second),
    ]
    quarterly.refresh_from_db()
    assert quarterly.status == "paid"
    # Then the first one comes back on the next statement (AM04), booked as a debit.
    content = camt053(
        returned(first.end_to_end_id, "129.60", "AM04", booked=date(2026, 2, 4)),
        statement_id="STMT-2026-02-C",
    )
    assert schema_errors(content, "camt.053.001.02") == []
    entry = import_statement(content, day=date(2026, 2, 5)).entries.get()
    assert (entry.status, entry.sepa_debit, entry.invoice) == ("returned", first, quarterly)
    first.refresh_from_db()
    assert (first.status, first.return_reason, first.returned_on) == (
        "returned",
        "AM04",
        date(2026, 2, 4),
    )
    quarterly.refresh_from_db()
    assert (quarterly.status, quarterly.amount_paid.amount) == ("overdue", D("0.00"))
    # The same return in a camt.054 afterwards changes nothing.
    again = returns(camt054(returned(first.end_to_end_id, "129.60", "AM04")))
    assert again.already_returned == [first.end_to_end_id]
    assert Payment.objects.filter(invoice=quarterly).count() == 2


# A draft batch cancelled --------------------------------------------------------------------


def test_a_draft_batch_is_cancelled_and_the_next_batch_takes_its_invoices(quarterly, operator):
    mandate_for(quarterly.customer)
    batch = services.sepa_batch_create(day=date(2026, 1, 17))
    services.sepa_batch_cancel(batch=batch, actor=operator)
    batch.refresh_from_db()
    assert (batch.status, batch.cancelled_by) == ("cancelled", operator)
    assert batch.debits.get().status == "cancelled"
    with pytest.raises(ApplicationError, match="already cancelled"):
        services.sepa_batch_cancel(batch=batch)
    with pytest.raises(ApplicationError, match="was cancelled"):
        services.sepa_batch_mark_submitted(batch=batch)
    # The next batch debits the invoice again, under a new end-to-end id, still FRST.
    again = services.sepa_batch_create(day=date(2026, 1, 18))
    debit = again.debits.get()
    assert (debit.invoice, debit.end_to_end_id, debit.sequence_type) == (
        quarterly,
        f"{quarterly.number}-2",
        "FRST",
    )
    # Once submitted, a batch is at the bank: it cannot be cancelled.
    services.sepa_batch_mark_submitted(batch=again)
    with pytest.raises(ApplicationError, match="cannot be cancelled any more"):
        services.sepa_batch_cancel(batch=again)
    assert SepaBatch.objects.get(pk=again.pk).status == "submitted"


def test_the_operator_cancels_a_draft_batch(operator_client, quarterly):
    mandate_for(quarterly.customer)
    draft = services.sepa_batch_create(day=date(2026, 1, 17))
    url = reverse("admin:payments_sepabatch_changelist")
    done = operator_client.post(
        url, {"action": "cancel", "_selected_action": [draft.pk]}, follow=True
    )
    assert "1 batch(es) cancelled" in done.content.decode()
    assert SepaBatch.objects.get(pk=draft.pk).status == "cancelled"
    # Its debit was never sent: no return to record for it.
    page = operator_client.get(reverse("admin:payments_sepabatch_change", args=[draft.pk]))
    debit = draft.debits.get()
    assert debit.end_to_end_id in page.content.decode()
    assert reverse("admin:payments_sepadebit_return", args=[debit.pk]) not in page.content.decode()
    submitted = submitted_batch(day=date(2026, 1, 18))
    refused = operator_client.post(
        url, {"action": "cancel", "_selected_action": [submitted.pk]}, follow=True
    )
    assert "cannot be cancelled any more" in refused.content.decode()


# The import's queries do not grow with the statement ----------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite cuts bulk statements at 999 parameters: their count grows with the rows",
)
def test_the_statement_import_runs_a_fixed_number_of_queries(db):
    bench.seed(300)
    transfers = bench.plan(300)

    def queries(statement_id: str, start: int, stop: int) -> int:
        content = bench.camt053(transfers[start:stop], statement_id=statement_id, start=start + 1)
        with CaptureQueriesContext(connection) as captured:
            statement = services.statement_import(
                file=ContentFile(content, name=f"{statement_id}.xml"),
                actor=None,
                day=date(2026, 1, 31),
            )
        assert statement.entries.count() == stop - start
        return len(captured)

    # The same mix of transfers (every way of matching), 100 entries then 200.
    small, large = queries("S-100", 0, 100), queries("S-200", 100, 300)
    assert small == large
    assert Invoice.objects.filter(status="paid").count() == 270


# The invoice says how it will be paid -------------------------------------------------------


def test_the_pdf_of_a_mandate_customer_says_when_and_from_which_account_it_is_debited(
    quarterly,
):
    from billing.documents import invoice_pdf

    mandate = mandate_for(quarterly.customer)
    english = invoice_for("Second SARL")
    mandate_for(english.customer)
    # Due on 2026-01-31, issued on 2026-01-01: 14 days of pre-notification fit, the due date.
    french = pdf_text(invoice_pdf(quarterly))
    assert (
        "Cette facture sera prélevée le 2026-01-31 sur le compte DE89 •••• 3000 "
        f"(mandat {mandate.mandate_reference})."
    ) in french
    assert "virement" not in french
    text = pdf_text(invoice_pdf(english))
    assert "This invoice will be debited on 2026-01-31 from DE89 •••• 3000 (mandate " in text
    # Collected, it says so; a transfer customer is given our IBAN and the RF reference.
    services.sepa_debit_collect(debit=submitted_batch().debits.first(), today=date(2026, 2, 2))
    quarterly.refresh_from_db()
    french = pdf_text(invoice_pdf(quarterly))
    assert "Payée par prélèvement SEPA le 2026-01-31 sur le compte DE89 •••• 3000" in french
    transfer = pdf_text(invoice_pdf(invoice_for("Transfer SARL")))
    assert "IBAN FR76" in transfer and "Reference to quote with your transfer: RF" in transfer
    assert "debited" not in transfer


def test_the_debit_date_leaves_the_pre_notification_days(quarterly, settings):
    from payments.selectors import invoice_direct_debit

    mandate_for(quarterly.customer)
    settings.SEPA_PRENOTIFICATION_DAYS = 40
    terms = invoice_direct_debit(quarterly)
    assert (terms.day, terms.collected) == (date(2026, 2, 10), False)
    # The batch's own date once it is written.
    batch = services.sepa_batch_create(day=date(2026, 1, 2))
    assert invoice_direct_debit(quarterly).day == batch.collection_date == date(2026, 2, 11)
