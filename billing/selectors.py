"""Reads of invoices for the portals and the API, tenant-scoped."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from billing.models import Invoice
from subscriptions.models import Customer


def customer_invoices(customer: Customer) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(customer=customer)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("customer", "credited_invoice")
        .order_by("-issue_date", "-id")
    )


def get_invoice_for_customer(customer: Customer, pk: int) -> Invoice:
    invoice = customer_invoices(customer).filter(pk=pk).first()
    if invoice is None:
        raise Http404
    return invoice
