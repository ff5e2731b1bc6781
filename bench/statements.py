"""Importing a camt.053 bank statement at scale (issue 14: 10,000 entries "in seconds").

`N=10000 python -m bench.statements` makes a fresh database (BENCH_STATEMENTS_DB, default
cadence_bench_statements) with N customers and one open invoice of each, writes a camt.053
statement of N entries that exercises every way of matching — the RF reference (most), the
invoice number in the free text, amount and customer by the mandate's IBAN and by the name,
partial and over-payments, transfers that match nothing, debits — and times
payments.services.statement_import in its own process, on PostgreSQL, like `make bench`.
Prints one JSON line (seconds, entries per second, queries, what was matched).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import date, datetime
from datetime import time as day_time
from decimal import Decimal
from xml.sax.saxutils import escape

from bench.__main__ import fresh, python, step

DATABASE = os.environ.get("BENCH_STATEMENTS_DB", "cadence_bench_statements")
ISSUED = date(2026, 1, 1)
BOOKED = date(2026, 1, 20)
TOTAL = Decimal("129.60")
OUR_IBAN = "FR7630006000011234567890189"


def debtor_iban(i: int) -> str:
    """A German IBAN with valid check digits for customer i (what matters is its equality)."""
    bban = f"37040044{i:010d}"
    check = 98 - int(f"{bban}131400") % 97
    return f"DE{check:02d}{bban}"


def plan(n: int) -> list[dict]:
    """The N transfers, one per invoice i (0-based), in a fixed mix."""
    from core.remittance import creditor_reference

    transfers = []
    for i in range(n):
        number = f"F2026-{i + 1:06d}"
        name = f"Customer {i + 1:07d}"
        kind = i % 100
        tx = {"amount": TOTAL, "side": "CRDT", "ref": "", "text": "", "name": "Someone"}
        tx["iban"] = "FR1420041010050500013M02606"
        if kind < 55:  # the RF reference, paid in full
            tx["ref"] = creditor_reference(number)
        elif kind < 70:  # the invoice number in the free text
            tx["text"] = f"Facture {number} merci"
        elif kind < 80:  # no reference: the mandate's IBAN and the amount
            tx.update(text="Abonnement", iban=debtor_iban(i), name="J. Doe")
        elif kind < 85:  # no reference: the customer's name and the amount
            tx.update(text="Paiement", name=name.upper())
        elif kind < 90:  # partial payment
            tx.update(ref=creditor_reference(number), amount=Decimal("100.00"))
        elif kind < 95:  # over-payment
            tx.update(ref=creditor_reference(number), amount=Decimal("150.00"))
        elif kind < 98:  # nothing to match it with
            tx.update(text="Virement divers", amount=Decimal("42.00"))
        else:  # a debit (bank fees, a refund paid)
            tx.update(side="DBIT", text="Frais", amount=Decimal("12.50"))
        transfers.append(tx)
    return transfers


def camt053(transfers: list[dict], *, statement_id: str = "BENCH-2026-01", start: int = 1) -> bytes:
    """The statement of `transfers`, its entries numbered from `start` (the bank's references
    of two statements differ)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>{statement_id}-MSG</MsgId>"
        f"<CreDtTm>2026-01-31T20:00:00</CreDtTm></GrpHdr><Stmt><Id>{statement_id}</Id>"
        "<CreDtTm>2026-01-31T20:00:00</CreDtTm><FrToDt><FrDtTm>2026-01-01T00:00:00</FrDtTm>"
        "<ToDtTm>2026-01-31T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
    ]
    for position, tx in enumerate(transfers, start):
        remittance = (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{tx['ref']}</Ref></CdtrRefInf></Strd>"
            if tx["ref"]
            else f"<Ustrd>{escape(tx['text'])}</Ustrd>"
        )
        party = "Dbtr" if tx["side"] == "CRDT" else "Cdtr"
        parts.append(
            f'<Ntry><NtryRef>{position}</NtryRef><Amt Ccy="EUR">{tx["amount"]}</Amt>'
            f"<CdtDbtInd>{tx['side']}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{BOOKED.isoformat()}</Dt></BookgDt>"
            f"<ValDt><Dt>{BOOKED.isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>BENCH-{position:07d}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
            "</Domn></BkTxCd><NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>E2E-{position}</EndToEndId></Refs><RltdPties>"
            f"<{party}><Nm>{escape(tx['name'])}</Nm></{party}>"
            f"<{party}Acct><Id><IBAN>{tx['iban']}</IBAN></Id></{party}Acct></RltdPties>"
            f"<RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    parts.append("</Stmt></BkToCstmrStmt></Document>")
    return "".join(parts).encode()


def seed(n: int) -> None:
    """N customers, an issued invoice of 129.60 each (F2026-000001…), a mandate for the tenth
    that pay by IBAN; written in bulk, as the billing run would have left them."""
    from django.db import transaction
    from django.utils import timezone

    from billing.models import Invoice
    from payments.models import PaymentMethod
    from subscriptions.models import Customer

    issued_at = timezone.make_aware(datetime.combine(ISSUED, day_time(6)))
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    name=f"Customer {i + 1:07d}",
                    email=f"billing{i + 1}@customers.example",
                    address_line1="1 rue du Commerce",
                    postal_code="75001",
                    city="Paris",
                    country="FR",
                    currency="EUR",
                )
                for i in range(n)
            ],
            batch_size=5000,
        )
        Invoice.objects.bulk_create(
            [
                Invoice(
                    kind=Invoice.Kind.INVOICE,
                    status=Invoice.Status.ISSUED,
                    series="F",
                    year=2026,
                    sequence=i + 1,
                    number=f"F2026-{i + 1:06d}",
                    customer=customer,
                    currency="EUR",
                    customer_name=customer.name,
                    issue_date=ISSUED,
                    due_date=date(2026, 1, 31),
                    net_total=Decimal("108.00"),
                    tax_total=Decimal("21.60"),
                    total=TOTAL,
                    amount_paid=Decimal("0"),
                    issued_at=issued_at,
                )
                for i, customer in enumerate(customers)
            ],
            batch_size=5000,
        )
        PaymentMethod.objects.bulk_create(
            [
                PaymentMethod(
                    customer=customer,
                    kind=PaymentMethod.Kind.SEPA_DEBIT,
                    mandate_reference=f"BENCH-{i}",
                    mandate_signed_on=ISSUED,
                    account_holder="J. Doe",
                    iban=debtor_iban(i),
                )
                for i, customer in enumerate(customers)
                if 70 <= i % 100 < 80
            ],
            batch_size=5000,
        )


def measure(n: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.db import connection

    from billing.models import Invoice
    from payments.models import CreditEntry
    from payments.services import statement_import

    call_command("migrate", verbosity=0)
    seed(n)
    content = camt053(plan(n))
    connection.cursor().execute("VACUUM ANALYZE")
    queries = {"n": 0}

    def count(execute, sql, params, many, context):
        queries["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        statement = statement_import(
            file=ContentFile(content, name="bench.xml"), actor=None, day=date(2026, 1, 31)
        )
        seconds = time.perf_counter() - started
    statuses = {
        status: statement.entries.filter(status=status).count()
        for status in ("matched", "unmatched", "ignored")
    }
    return {
        "entries": n,
        "file_mb": round(len(content) / 1024 / 1024, 2),
        "seconds": round(seconds, 2),
        "entries_per_second": round(n / seconds),
        "queries": queries["n"],
        **statuses,
        "invoices_paid": Invoice.objects.filter(status=Invoice.Status.PAID).count(),
        "overpayment_credits": CreditEntry.objects.filter(kind="overpayment").count(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    n = int(os.environ.get("N", "10000"))
    step(f"camt.053 import of {n} entries on {DATABASE}")
    fresh(DATABASE)
    result = python("bench.statements", "measure", str(n), database=DATABASE)
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1:2] == ["measure"]:
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        main()
