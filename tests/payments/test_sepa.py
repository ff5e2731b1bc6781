"""SEPA direct debit (issue 14, "Collecting"): the day's pain.008 batch, collections, returns and
the bank's pain.002, on the quarterly invoice of 129.60 (billing-rules example 6.1) issued on
2026-01-01 and due on 2026-01-31; pre-notification 14 days."""

from datetime import date
from decimal import Decimal

import pytest
import xmlschema
from defusedxml import ElementTree
from django.conf import settings as django_settings

from billing.models import InvoiceEvent, Payment
from core.errors import ApplicationError
from payments import sepa, services
from payments.models import SepaBatch, SepaDebit
from tests.concurrency import postgresql_only, run_together
from tests.payments.sepa_builders import IBAN, invoice_for, mandate_for, submitted_batch

pytestmark = pytest.mark.django_db

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


def parsed(batch: SepaBatch):
    return ElementTree.fromstring(batch.xml.encode())


# The batch -------------------------------------------------------------------------------------


def test_the_batch_debits_the_invoice_of_129_60_first_then_recurring(quarterly):
    mandate = mandate_for(quarterly.customer)
    assert quarterly.due_date == date(2026, 1, 31)
    # Given 14 days of pre-notification, on 2026-01-10 the due date is too far: nothing yet.
    assert services.sepa_batch_create(day=date(2026, 1, 10)) is None
    # On 2026-01-17 the collection date (2026-01-31) is the due date.
    batch = services.sepa_batch_create(day=date(2026, 1, 17))
    assert batch is not None
    assert (batch.status, batch.count, batch.total.amount) == ("draft", 1, Decimal("129.60"))
    assert batch.collection_date == date(2026, 1, 31)
    debit = batch.debits.get()
    assert (debit.invoice, debit.mandate, debit.amount.amount) == (
        quarterly,
        mandate,
        Decimal("129.60"),
    )
    assert (debit.sequence_type, debit.status) == ("FRST", "submitted")
    assert debit.end_to_end_id == f"{quarterly.number}-1"
    # The file says the same, and the creditor of the settings.
    root = parsed(batch)
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespaces=NS) == batch.message_id
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "1"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "129.60"
    info = root.find("p:CstmrDrctDbtInitn/p:PmtInf", namespaces=NS)
    assert info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) == "FRST"
    assert info.findtext("p:ReqdColltnDt", namespaces=NS) == "2026-01-31"
    assert (
        info.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == "FR72ZZZ123456"
    )
    assert info.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == "FR7630006000011234567890189"
    transaction = info.find("p:DrctDbtTxInf", namespaces=NS)
    assert transaction.findtext("p:InstdAmt", namespaces=NS) == "129.60"
    assert transaction.findtext(".//p:MndtId", namespaces=NS) == mandate.mandate_reference
    assert transaction.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == IBAN
    # Collected: the next debit of this mandate is recurring.
    services.sepa_batch_mark_submitted(batch=batch)
    services.sepa_debit_collect(debit=debit, today=date(2026, 1, 31))
    mandate.refresh_from_db()
    assert mandate.first_collected_on == date(2026, 1, 31)
    assert mandate.sequence_type == "RCUR"


def test_the_xml_validates_against_the_schema_and_a_broken_one_does_not(quarterly):
    mandate_for(quarterly.customer)
    batch = services.sepa_batch_create(day=date(2026, 1, 17))
    schema = xmlschema.XMLSchema(str(sepa.SCHEMA))
    assert sepa.SCHEMA.name == "pain.008.001.02.xsd"
    assert schema.is_valid(batch.xml)
    assert sepa.schema_errors(batch.xml) == []
    broken = batch.xml.replace("<SeqTp>FRST</SeqTp>", "<SeqTp>ONCE</SeqTp>")
    assert broken != batch.xml
    assert not schema.is_valid(broken)
    assert sepa.schema_errors(broken)


def test_an_invalid_file_is_refused_and_nothing_is_written(quarterly, monkeypatch):
    mandate_for(quarterly.customer)
    real = sepa.pain008

    def broken(**kwargs):
        message_id, xml = real(**kwargs)
        return message_id, xml.replace(b"<SeqTp>FRST</SeqTp>", b"<SeqTp>ONCE</SeqTp>")

    monkeypatch.setattr(sepa, "pain008", broken)
    with pytest.raises(ApplicationError, match="would not be valid"):
        services.sepa_batch_create(day=date(2026, 1, 17))
    assert not SepaBatch.objects.exists() and not SepaDebit.objects.exists()


def test_the_collection_date_leaves_the_pre_notification_days(quarterly, settings):
    mandate_for(quarterly.customer)
    settings.SEPA_PRENOTIFICATION_DAYS = 5
    # Overdue since 2026-01-31: collected 5 days after the batch, not on the past due date.
    batch = services.sepa_batch_create(day=date(2026, 2, 10))
    assert batch.collection_date == date(2026, 2, 15)
    assert parsed(batch).findtext(".//p:ReqdColltnDt", namespaces=NS) == "2026-02-15"


def test_a_second_run_the_same_day_writes_nothing(quarterly):
    mandate_for(quarterly.customer)
    assert services.sepa_batch_create(day=date(2026, 1, 17)) is not None
    assert services.sepa_batch_create(day=date(2026, 1, 17)) is None
    assert services.sepa_batch_create(day=date(2026, 1, 18)) is None
    assert SepaBatch.objects.count() == 1 and SepaDebit.objects.count() == 1


def test_only_customers_paying_by_an_active_default_mandate_are_debited(quarterly):
    mandate_for(quarterly.customer)
    invoice_for("No mandate SARL")  # pays by bank transfer, the default
    revoked = invoice_for("Revoked SARL")
    services.payment_method_revoke(method=mandate_for(revoked.customer), today=date(2026, 1, 5))
    transfer = invoice_for("Transfer by choice SARL")
    mandate_for(transfer.customer, default=False)
    batch = services.sepa_batch_create(day=date(2026, 1, 17))
    assert [debit.invoice for debit in batch.debits.all()] == [quarterly]


def test_a_paid_invoice_or_the_rest_of_a_partly_paid_one(quarterly):
    from billing.services import payment_record

    mandate_for(quarterly.customer)
    payment_record(
        invoice=quarterly, amount="29.60", method="bank_transfer", received_on=date(2026, 1, 5)
    )
    batch = services.sepa_batch_create(day=date(2026, 1, 17))
    assert batch.debits.get().amount.amount == Decimal("100.00")


# Collected, returned -------------------------------------------------------------------------------


def test_collected_the_invoice_is_paid_by_direct_debit(quarterly):
    mandate_for(quarterly.customer)
    debit = submitted_batch().debits.get()
    with pytest.raises(ApplicationError, match="cannot have been collected yet"):
        services.sepa_debit_collect(debit=debit, today=date(2026, 1, 30))
    services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    quarterly.refresh_from_db()
    assert (quarterly.status, quarterly.paid_on) == ("paid", date(2026, 1, 31))
    payment = Payment.objects.get(invoice=quarterly)
    assert (payment.method, payment.amount.amount, payment.reference) == (
        "sepa_debit",
        Decimal("129.60"),
        f"{quarterly.number}-1",
    )
    with pytest.raises(ApplicationError, match="already collected"):
        services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))


def test_a_draft_batch_is_neither_collected_nor_returned(quarterly):
    mandate_for(quarterly.customer)
    debit = services.sepa_batch_create(day=date(2026, 1, 17)).debits.get()
    with pytest.raises(ApplicationError, match="not been submitted"):
        services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    with pytest.raises(ApplicationError, match="not been submitted"):
        services.sepa_debit_return(debit=debit, reason="AM04", day=date(2026, 2, 2))
    assert SepaDebit.objects.get().status == "submitted"


def test_a_return_md01_reopens_the_invoice_with_its_reason(quarterly):
    mandate = mandate_for(quarterly.customer)
    debit = submitted_batch().debits.get()
    services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    with pytest.raises(ApplicationError, match="reason"):
        services.sepa_debit_return(debit=debit, reason="XX99", day=date(2026, 2, 4))
    # Given the debit came back on 2026-02-04 (MD01, no valid mandate),
    returned = services.sepa_debit_return(debit=debit, reason="MD01", day=date(2026, 2, 4))
    # then the invoice owes 129.60 again, overdue (due on 2026-01-31), the dunning's hook.
    assert returned.reopened and returned.invoice.status == "overdue"
    quarterly.refresh_from_db()
    assert (quarterly.status, quarterly.amount_paid.amount, quarterly.paid_on) == (
        "overdue",
        Decimal("0.00"),
        None,
    )
    assert InvoiceEvent.objects.filter(invoice=quarterly, kind="overdue").exists()
    debit.refresh_from_db()
    assert (debit.status, debit.return_reason, debit.returned_on) == (
        "returned",
        "MD01",
        date(2026, 2, 4),
    )
    assert debit.get_return_reason_display().startswith("MD01 — no valid mandate")
    # The payment is kept, and reversed by a row of the same amount, negative.
    payment, reversal = Payment.objects.filter(invoice=quarterly).order_by("pk")
    assert (reversal.amount.amount, reversal.reverses, reversal.received_on) == (
        Decimal("-129.60"),
        payment,
        date(2026, 2, 4),
    )
    assert returned.reversal == reversal
    # Its only collection came back: the mandate's next debit is a first one again.
    mandate.refresh_from_db()
    assert mandate.first_collected_on is None
    with pytest.raises(ApplicationError, match="already returned"):
        services.sepa_debit_return(debit=debit, reason="MD01", day=date(2026, 2, 4))
    # No valid mandate: it is not debited again, by itself or on request.
    assert services.sepa_batch_create(day=date(2026, 2, 5)) is None
    with pytest.raises(ApplicationError, match="new mandate"):
        services.sepa_debit_retry(debit=debit, day=date(2026, 2, 5))


def test_a_debit_returned_for_insufficient_funds_is_debited_again_on_request(quarterly):
    mandate_for(quarterly.customer)
    debit = submitted_batch().debits.get()
    services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    services.sepa_debit_return(debit=debit, reason="AM04", day=date(2026, 2, 4))
    # Not presented again by itself the next morning...
    assert services.sepa_batch_create(day=date(2026, 2, 5)) is None
    # ...but from the day a retry is set for it, as the second attempt, first again.
    services.sepa_debit_retry(debit=debit, day=date(2026, 2, 9))
    assert services.sepa_batch_create(day=date(2026, 2, 8)) is None
    again = services.sepa_batch_create(day=date(2026, 2, 9)).debits.get()
    assert (again.invoice, again.end_to_end_id, again.sequence_type) == (
        quarterly,
        f"{quarterly.number}-2",
        "FRST",
    )
    assert again.batch.collection_date == date(2026, 2, 23)
    with pytest.raises(ApplicationError, match="debited again after"):
        services.sepa_debit_retry(debit=debit, day=date(2026, 2, 9))
    with pytest.raises(ApplicationError, match="Only a returned debit"):
        services.sepa_debit_retry(debit=again, day=date(2026, 2, 9))


def test_a_debit_rejected_before_collection_leaves_the_invoice_open(quarterly):
    mandate_for(quarterly.customer)
    debit = submitted_batch().debits.get()
    returned = services.sepa_debit_return(debit=debit, reason="AC04", day=date(2026, 1, 20))
    assert returned.reversal is None and returned.reopened
    quarterly.refresh_from_db()
    assert quarterly.status == "issued" and not quarterly.payments.exists()


def test_one_live_debit_per_invoice_is_a_database_rule(quarterly):
    from django.db import IntegrityError, transaction

    mandate_for(quarterly.customer)
    debit = services.sepa_batch_create(day=date(2026, 1, 17)).debits.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        SepaDebit.objects.create(
            batch=debit.batch,
            invoice=quarterly,
            mandate=debit.mandate,
            currency="EUR",
            amount=Decimal("129.60"),
            sequence_type="RCUR",
            end_to_end_id="another",
        )


# pain.002 ---------------------------------------------------------------------------------------


def pain002(message_id: str, *rejected: tuple[str, str]) -> bytes:
    transactions = "".join(
        f"""<TxInfAndSts><StsId>S{n}</StsId><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf></TxInfAndSts>"""
        for n, (e2e, code) in enumerate(rejected)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>BANK-1</MsgId><CreDtTm>2026-02-03T08:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId>
      <OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>{transactions}</OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>""".encode()


def test_a_pain_002_marks_the_return_and_lists_unknown_references(quarterly):
    mandate_for(quarterly.customer)
    batch = submitted_batch()
    debit = batch.debits.get()
    services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    content = pain002(batch.message_id, (debit.end_to_end_id, "AM04"), ("NOT-OURS-1", "AC01"))
    result = services.sepa_returns_import(content=content, today=date(2026, 2, 5))
    assert [r.debit.end_to_end_id for r in result.returned] == [debit.end_to_end_id]
    assert result.unknown == ["NOT-OURS-1"]
    debit.refresh_from_db()
    assert (debit.status, debit.return_reason, debit.returned_on) == (
        "returned",
        "AM04",
        date(2026, 2, 3),
    )
    quarterly.refresh_from_db()
    assert quarterly.status == "overdue" and quarterly.amount_paid.amount == 0
    # The same file again: nothing more is written.
    again = services.sepa_returns_import(content=content, today=date(2026, 2, 5))
    assert again.returned == [] and again.already_returned == [debit.end_to_end_id]
    assert Payment.objects.filter(invoice=quarterly).count() == 2


def test_a_pain_002_that_cannot_be_applied_writes_nothing(quarterly):
    mandate_for(quarterly.customer)
    other = invoice_for("Second SARL")
    mandate_for(other.customer)
    batch = submitted_batch()
    first, second = batch.debits.order_by("pk")
    # The second debit cannot come back before its batch was written: the whole file is refused.
    content = pain002(batch.message_id, (first.end_to_end_id, "AM04")).replace(
        b"2026-02-03", b"2026-01-02"
    )
    with pytest.raises(ApplicationError):
        services.sepa_returns_import(content=content, today=date(2026, 2, 5))
    assert not SepaDebit.objects.filter(status="returned").exists()
    with pytest.raises(ApplicationError, match=r"pain\.002"):
        services.sepa_returns_import(content=b"<not xml", today=date(2026, 2, 5))
    assert second.status == "submitted"


def test_the_batch_job_is_scheduled_after_the_run_and_the_credit(quarterly):
    from payments.tasks import sepa_batch

    entry = django_settings.CELERY_BEAT_SCHEDULE["sepa-batch"]
    assert entry["task"] == "payments.sepa_batch"
    mandate_for(quarterly.customer)
    batch_id = sepa_batch("2026-01-17")
    assert SepaBatch.objects.get().pk == batch_id
    assert sepa_batch("2026-01-17") is None


# Two workers at once ------------------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_batch_jobs_at_once_take_each_invoice_once(demo_catalog):
    invoices = [invoice_for(f"Customer {n} SARL") for n in range(8)]
    for invoice in invoices:
        mandate_for(invoice.customer)
    for round_ in range(3):
        batches, errors = run_together(
            lambda: services.sepa_batch_create(day=date(2026, 1, 17)),
            lambda: services.sepa_batch_create(day=date(2026, 1, 17)),
        )
        assert errors == [None, None]
        if round_:  # everything was taken in the first round
            assert batches == [None, None]
    debited = list(SepaDebit.objects.values_list("invoice_id", flat=True))
    assert sorted(debited) == sorted(invoice.pk for invoice in invoices)
    assert sum(batch.count for batch in SepaBatch.objects.all()) == 8


# The admin ----------------------------------------------------------------------------------------


@pytest.fixture
def batch_of_quarterly(quarterly):
    mandate_for(quarterly.customer)
    return services.sepa_batch_create(day=date(2026, 1, 17))


def test_the_operator_downloads_the_batch_a_valid_pain_008(operator_client, batch_of_quarterly):
    from django.urls import reverse

    page = operator_client.get(reverse("admin:payments_sepabatch_changelist"))
    url = reverse("admin:payments_sepabatch_xml", args=[batch_of_quarterly.pk])
    assert page.status_code == 200 and url in page.content.decode()
    detail = operator_client.get(
        reverse("admin:payments_sepabatch_change", args=[batch_of_quarterly.pk])
    )
    assert f"{batch_of_quarterly.debits.get().invoice.number}-1" in detail.content.decode()
    download = operator_client.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"] == (
        f'attachment; filename="pain.008-{batch_of_quarterly.message_id}.xml"'
    )
    assert sepa.schema_errors(download.content) == []


def test_the_operator_submits_collects_and_records_a_return(
    operator_client, batch_of_quarterly, quarterly
):
    import time_machine
    from django.urls import reverse

    debit = batch_of_quarterly.debits.get()
    changelist = reverse("admin:payments_sepadebit_changelist")
    with time_machine.travel(date(2026, 2, 2), tick=False):
        # Not submitted yet: refused, with the reason shown.
        refused = operator_client.post(
            changelist,
            {"action": "mark_collected", "_selected_action": [debit.pk]},
            follow=True,
        )
        assert "has not been submitted to the bank" in refused.content.decode()
        operator_client.post(
            reverse("admin:payments_sepabatch_changelist"),
            {"action": "mark_submitted", "_selected_action": [batch_of_quarterly.pk]},
        )
        batch_of_quarterly.refresh_from_db()
        assert batch_of_quarterly.status == "submitted"
        operator_client.post(
            changelist, {"action": "mark_collected", "_selected_action": [debit.pk]}
        )
        quarterly.refresh_from_db()
        assert quarterly.status == "paid"
        # The invoice shows its debit.
        invoice_page = operator_client.get(
            reverse("admin:billing_invoice_change", args=[quarterly.pk])
        )
        assert debit.end_to_end_id in invoice_page.content.decode()
        url = reverse("admin:payments_sepadebit_return", args=[debit.pk])
        page = operator_client.get(url)
        assert "MS02" in page.content.decode()
        refused = operator_client.post(url, {"reason": "MD01", "day": "2026-01-02"})
        assert "before its batch was written" in refused.content.decode()
        done = operator_client.post(url, {"reason": "MD01", "day": "2026-02-02"})
        assert done.status_code == 302
        refused = operator_client.post(
            changelist, {"action": "retry", "_selected_action": [debit.pk]}, follow=True
        )
        assert "Ask the customer for a new mandate" in refused.content.decode()
    quarterly.refresh_from_db()
    debit.refresh_from_db()
    assert (quarterly.status, debit.status, debit.return_reason) == ("overdue", "returned", "MD01")


def test_the_operator_imports_a_pain_002(operator_client, batch_of_quarterly):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    services.sepa_batch_mark_submitted(batch=batch_of_quarterly)
    debit = batch_of_quarterly.debits.get()
    url = reverse("admin:payments_sepabatch_returns")
    assert (
        url in operator_client.get(reverse("admin:payments_sepabatch_changelist")).content.decode()
    )
    refused = operator_client.post(url, {"file": SimpleUploadedFile("r.xml", b"<html></html>")})
    assert "cannot be read as a pain.002" in refused.content.decode()
    content = pain002(
        batch_of_quarterly.message_id, (debit.end_to_end_id, "AM04"), ("ZZ-9", "AC01")
    )
    done = operator_client.post(url, {"file": SimpleUploadedFile("r.xml", content)}, follow=True)
    html = done.content.decode()
    assert "1 debit(s) marked returned" in html and "ZZ-9" in html
    debit.refresh_from_db()
    assert (debit.status, debit.return_reason) == ("returned", "AM04")


def test_a_non_operator_gets_403_at_every_sepa_door(client, django_user_model, batch_of_quarterly):
    from django.urls import reverse

    staff = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(staff)
    debit = batch_of_quarterly.debits.get()
    for url in (
        reverse("admin:payments_sepabatch_xml", args=[batch_of_quarterly.pk]),
        reverse("admin:payments_sepabatch_returns"),
        reverse("admin:payments_sepadebit_return", args=[debit.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            reverse("admin:payments_sepadebit_return", args=[debit.pk]),
            {"reason": "MD01", "day": "2026-02-02"},
        ).status_code
        == 403
    )
    debit.refresh_from_db()
    assert debit.status == "submitted"


# Settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SEPA_CREDITOR_ID", "FR73ZZZ123456"),  # a wrong check digit
        ("SEPA_CREDITOR_IBAN", "FR7630006000011234567890188"),
        ("SEPA_CREDITOR_BIC", "AGRI"),
        ("SEPA_PRENOTIFICATION_DAYS", "0"),
    ],
)
def test_a_bad_sepa_setting_stops_start_up_naming_it(variable, value):
    import os
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, variable: value, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"Environment variable {variable}={value!r} is invalid" in result.stderr


def test_the_demo_creditor_identifier_is_valid(settings):
    from stdnum.eu import at_02

    assert at_02.is_valid(django_settings.SEPA_CREDITOR_ID)
    assert services.sepa_creditor().identifier == "FR72ZZZ123456"
