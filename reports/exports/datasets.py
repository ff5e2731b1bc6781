"""The six datasets an operator exports, and the columns of each.

A dataset reads its rows with one query, `values_list(...)` over the joins it names, streamed
by `.iterator(chunk_size=…)`: no model instance is built and no row is read twice, so an
export of a million lines holds one chunk in memory and makes one query whatever its size
(a server-side cursor on PostgreSQL).

The header of a file is the columns' keys: machine names that stay the same across releases
and languages (`number,issue_date,customer,…`), so that an accountant's spreadsheet or an
integrator's import keeps working. Amounts are the decimals stored (two places), with the
currency in its own column; dates are ISO (`2026-12-06`); timestamps are UTC. Choices are their
stored values (`issued`, `credit_note`), as the API gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Case, DecimalField, Expression, F, Model, QuerySet, When
from django.db.models.functions import Coalesce, Round

from billing.models import Invoice, InvoiceLine, Payment
from core.pricing import minor_unit_exponent
from subscriptions.models import Customer, Subscription

# Rows fetched per round trip. Large enough that the round trips cost little next to the rows
# (2,000 rows of ~30 columns is a few hundred kB), small enough that memory stays flat.
CHUNK_SIZE = 2000


class Kind(StrEnum):
    """How a column's value is written: CSV as text, XLSX as a typed cell."""

    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOL = "bool"


@dataclass(frozen=True)
class Column:
    key: str  # the header: a stable machine name
    source: str | Expression  # a values_list() path or expression
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Dataset:
    key: str  # the URL slug and the file's name: `invoice-lines` → invoice-lines-2026-12-06.csv
    model: type[Model]
    columns: tuple[Column, ...]
    # What the dataset is within its table (invoices and credit notes share billing_invoice).
    kind_filter: dict[str, Any] = field(default_factory=dict)

    @property
    def header(self) -> list[str]:
        return [column.key for column in self.columns]

    def queryset(self) -> QuerySet:
        """Every row of the dataset, oldest first (the API's export; the admin brings its
        changelist's queryset instead)."""
        return self.model._default_manager.filter(**self.kind_filter).order_by("pk")

    def rows(self, queryset: QuerySet, *, chunk_size: int = CHUNK_SIZE) -> Iterator[tuple]:
        """The rows of `queryset` (of this dataset's model), as tuples in the columns' order.

        One query: `values_list` drops the queryset's `select_related` and builds no model;
        its ordering and filters are kept.
        """
        return queryset.values_list(*(column.source for column in self.columns)).iterator(
            chunk_size=chunk_size
        )


def _money(key: str) -> Column:
    """An amount of the document, rounded half-up to its currency's minor unit as the API and
    the PDF show it (the database keeps four places: `108.0000` is written `108.00`). Rounded
    by the database, so that a million rows cost no Python arithmetic."""
    return Column(key, _rounded(key), Kind.DECIMAL)


class _Round(Round):
    """Round, its value taken as the database driver gives it: psycopg reads a numeric as a
    Decimal already, and Django's generic converter would build each one a second time (a
    tenth of the export's time over a million lines). SQLite rounds to a float, which its
    converter turns into a Decimal of 15 digits ("129.600000000000"): quantized here to the
    places asked for (the embedded default's exports read as PostgreSQL's)."""

    def __init__(self, expression, digits: int, **extra) -> None:
        super().__init__(expression, digits, **extra)
        self.quantum = Decimal(1).scaleb(-digits)

    @property
    def convert_value(self):
        return self._convert_value_noop

    def get_db_converters(self, connection):
        converters = super().get_db_converters(connection)
        if connection.vendor == "sqlite":
            converters.append(self._quantize)
        return converters

    def _quantize(self, value, expression, connection):
        return None if value is None else Decimal(value).quantize(self.quantum)


def _rounded(field_name: str) -> Expression:
    places = {code: -minor_unit_exponent(code).as_tuple().exponent for code in settings.CURRENCIES}
    output = DecimalField(max_digits=settings.MONEY_MAX_DIGITS, decimal_places=max(places.values()))
    if len(set(places.values())) == 1:
        return _Round(F(field_name), next(iter(places.values())), output_field=output)
    return Case(
        *(
            When(currency=code, then=_Round(F(field_name), digits, output_field=output))
            for code, digits in places.items()
        ),
        default=F(field_name),
        output_field=output,
    )


def _date(key: str, source: str | None = None) -> Column:
    return Column(key, source or key, Kind.DATE)


def _id(key: str, source: str | None = None) -> Column:
    return Column(key, source or key, Kind.INT)


# A document's partner: the partner it is addressed to (its billing account, billing-rules §9),
# or the partner of the customer it was addressed to before partners were invoiced.
_INVOICE_PARTNER = Coalesce(
    F("customer__partner_account__name"), F("customer__partner_link__partner__name")
)

_DOCUMENT_COLUMNS = (
    _id("id"),
    Column("number", "number"),
    Column("kind", "kind"),
    Column("status", "status"),
    _date("issue_date"),
    _date("due_date"),
    _date("period_start"),
    _date("period_end"),
    _id("customer_id"),
    Column("customer", "customer__name"),
    Column("billed_to", "customer_name"),
    Column("vat_number", "customer_vat_number"),
    Column("partner", _INVOICE_PARTNER),
    Column("end_customer", "end_customer_name"),
    _id("subscription_id"),
    Column("plan", "subscription__plan__code"),
    Column("po_reference", "po_reference"),
    Column("currency", "currency"),
    _money("net_total"),
    _money("tax_total"),
    _money("total"),
    _money("amount_paid"),
    _date("paid_on"),
    Column("corrects_invoice", "credited_invoice__number"),
    Column("issued_at", "issued_at", Kind.DATETIME),
)

INVOICES = Dataset(
    key="invoices",
    model=Invoice,
    columns=_DOCUMENT_COLUMNS,
    kind_filter={"kind": Invoice.Kind.INVOICE},
)

CREDIT_NOTES = Dataset(
    key="credit-notes",
    model=Invoice,
    columns=_DOCUMENT_COLUMNS,
    kind_filter={"kind": Invoice.Kind.CREDIT_NOTE},
)

INVOICE_LINES = Dataset(
    key="invoice-lines",
    model=InvoiceLine,
    columns=(
        _id("id"),
        _id("invoice_id"),
        Column("invoice_number", "invoice__number"),
        Column("invoice_kind", "invoice__kind"),
        Column("invoice_status", "invoice__status"),
        _date("issue_date", "invoice__issue_date"),
        _id("customer_id", "invoice__customer_id"),
        Column("customer", "invoice__customer__name"),
        _id("position"),
        Column("kind", "kind"),
        Column("description", "description"),
        Column("product", "product__code"),
        _id("subscription_id"),
        Column("charge", "charge"),
        _date("charge_date"),
        _date("period_start"),
        _date("period_end"),
        Column("quantity", "quantity", Kind.DECIMAL),
        Column("currency", "currency"),
        # The price as set, to its last place (a usage price may be 0.0020 a call).
        Column("unit_price", "unit_price", Kind.DECIMAL),
        _money("gross"),
        _money("discount_total"),
        _money("net"),
        Column("tax_rate", "tax_rate", Kind.DECIMAL),
        Column("tax_category", "tax_category"),
        Column("ledger_account", "ledger_account"),
        Column("invoice_item_type", "invoice_item_type"),
    ),
)

PAYMENTS = Dataset(
    key="payments",
    model=Payment,
    columns=(
        _id("id"),
        _id("invoice_id"),
        Column("invoice_number", "invoice__number"),
        _id("customer_id", "invoice__customer_id"),
        Column("customer", "invoice__customer__name"),
        _date("received_on"),
        Column("method", "method"),
        Column("currency", "currency"),
        # Negative on a reversal (money that came back), which names the payment it reverses.
        _money("amount"),
        Column("reference", "reference"),
        _id("reverses_id", "reverses"),
        Column("recorded_by", "recorded_by__username"),
        Column("recorded_at", "recorded_at", Kind.DATETIME),
    ),
)

CUSTOMERS = Dataset(
    key="customers",
    model=Customer,
    columns=(
        _id("id"),
        Column("name", "name"),
        Column("email", "email"),
        Column("phone", "phone"),
        Column("registration_number", "registration_number"),
        Column("vat_number", "vat_number"),
        Column("address_line1", "address_line1"),
        Column("address_line2", "address_line2"),
        Column("postal_code", "postal_code"),
        Column("city", "city"),
        Column("country", "country"),
        Column("language", "locale"),
        Column("currency", "currency"),
        Column("payment_type", "payment_type"),
        Column("partner", "partner_link__partner__name"),
        Column("partner_code", "partner_link__partner__code"),
        # Set on a partner's billing account: the customer is the partner itself.
        Column("billing_account_of", "partner_account__code"),
        Column("created_at", "created_at", Kind.DATETIME),
    ),
)

SUBSCRIPTIONS = Dataset(
    key="subscriptions",
    model=Subscription,
    columns=(
        _id("id"),
        _id("customer_id"),
        Column("customer", "customer__name"),
        Column("partner", "customer__partner_link__partner__name"),
        _id("bill_to_id", "bill_to"),
        Column("bill_to", "bill_to__name"),
        Column("plan", "plan__code"),
        Column("status", "status"),
        _date("suspended_since"),
        Column("currency", "currency"),
        _date("start_date"),
        _date("trial_end"),
        _date("current_period_start"),
        _date("current_period_end"),
        _date("commitment_end"),
        _date("renewal_date"),
        _date("end_date"),
        _date("next_billing_date"),
        Column("auto_renew", "auto_renew", Kind.BOOL),
        _id("service_period_years"),
        Column("po_reference", "po_reference"),
        Column("created_at", "created_at", Kind.DATETIME),
    ),
)

DATASETS: dict[str, Dataset] = {
    dataset.key: dataset
    for dataset in (INVOICES, CREDIT_NOTES, INVOICE_LINES, PAYMENTS, CUSTOMERS, SUBSCRIPTIONS)
}
