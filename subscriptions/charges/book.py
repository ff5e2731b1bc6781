"""The price book: the catalog rows that pricing reads, loaded once per page, service or
billing chunk, and the memo of what was priced with them."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Prefetch

from catalog.models import Bundle, BundleItem, Plan, ProductContract, Term, UsageCharge
from catalog.tax import TaxPolicy
from core.memo import BoundedMemo


class PriceBook:
    """The catalog rows that pricing needs, loaded once (for a page, a service or a billing
    chunk) in a fixed number of queries, whatever the number of subscriptions priced."""

    def __init__(self, plans: Iterable[Plan] | None = None) -> None:
        self._plans: dict[int, Plan] = {}
        self._bundles: dict[int, Bundle] = {}
        self._terms: dict[int, Term] = {}
        self._contracts: dict[int, ProductContract] = {}
        # The product items of each plan and bundle, in their order: read from the prefetched
        # rows once, not through a related manager for every state priced.
        self._plan_products: dict[int, list[tuple[Bundle, BundleItem]]] = {}
        self._bundle_products: dict[int, list[BundleItem]] = {}
        self._usage_charges: dict[int, list[UsageCharge]] = {}
        # Lines priced for a state and period: thousands of subscriptions share a few states.
        # Bounded: a worker keeps its book for the whole run, and honest data has many states.
        self.memo: BoundedMemo = BoundedMemo(settings.PRICE_MEMO_SIZE)
        self._tax: TaxPolicy | None = None
        if plans is not None:
            for plan in plans:
                self._remember(plan)

    @staticmethod
    def _items() -> Prefetch:
        return Prefetch(
            "items",
            queryset=BundleItem.objects.select_related(
                "product__seat_type", "product__tax_rate", "price_sheet", "discount"
            ).prefetch_related("price_sheet__tiers"),
        )

    @staticmethod
    def _usage_charges() -> Prefetch:
        return Prefetch(
            "usage_charges",
            queryset=UsageCharge.objects.select_related(
                "metric", "price_sheet__product__tax_rate"
            ).prefetch_related("price_sheet__tiers"),
        )

    @classmethod
    def _plan_rows(cls):
        return Plan.objects.select_related("term__tax_rate").prefetch_related(
            Prefetch("bundles", queryset=Bundle.objects.prefetch_related(cls._items())),
            Prefetch("addon_bundles", queryset=Bundle.objects.prefetch_related(cls._items())),
            cls._usage_charges(),
        )

    @classmethod
    def load_all(cls) -> PriceBook:
        book = cls(cls._plan_rows())
        for term in Term.objects.select_related("tax_rate"):
            book._terms[term.pk] = term
        return book

    def _remember(self, plan: Plan) -> None:
        self._plans[plan.pk] = plan
        for bundle in list(plan.bundles.all()) + list(plan.addon_bundles.all()):
            self._bundles[bundle.pk] = bundle
        if plan.term_id:
            self._terms[plan.term_id] = plan.term

    def plan(self, plan_id: int) -> Plan:
        if plan_id not in self._plans:
            plan = self._plan_rows().get(pk=plan_id)
            self._remember(plan)
        return self._plans[plan_id]

    def bundle(self, bundle_id: int) -> Bundle:
        if bundle_id not in self._bundles:
            self._bundles[bundle_id] = Bundle.objects.prefetch_related(self._items()).get(
                pk=bundle_id
            )
        return self._bundles[bundle_id]

    def plan_products(self, plan_id: int) -> list[tuple[Bundle, BundleItem]]:
        """The plan's product items with their bundle, in the bundles' and items' order."""
        if plan_id not in self._plan_products:
            self._plan_products[plan_id] = [
                (bundle, item)
                for bundle in self.plan(plan_id).bundles.all()
                for item in self.bundle_products(bundle.pk, bundle)
            ]
        return self._plan_products[plan_id]

    def bundle_products(self, bundle_id: int, bundle: Bundle | None = None) -> list[BundleItem]:
        """The bundle's product items (not its discounts), in their order."""
        if bundle_id not in self._bundle_products:
            rows = (bundle or self.bundle(bundle_id)).items.all()
            self._bundle_products[bundle_id] = [
                item for item in rows if item.kind == BundleItem.Kind.PRODUCT
            ]
        return self._bundle_products[bundle_id]

    def usage_charges(self, plan_id: int) -> list[UsageCharge]:
        """The plan's usage charges (most plans have none)."""
        if plan_id not in self._usage_charges:
            self._usage_charges[plan_id] = list(self.plan(plan_id).usage_charges.all())
        return self._usage_charges[plan_id]

    @property
    def tax(self) -> TaxPolicy:
        """The seller's tax rules, loaded the first time a line is taxed."""
        if self._tax is None:
            self._tax = TaxPolicy.load()
        return self._tax

    def term(self, term_id: int | None) -> Term | None:
        if term_id is None:
            return None
        if term_id not in self._terms:
            self._terms[term_id] = Term.objects.select_related("tax_rate").get(pk=term_id)
        return self._terms[term_id]

    def contract(self, contract_id: int) -> ProductContract:
        """A product contract with what its charges price (its sheet, product and tax rate)."""
        if contract_id not in self._contracts:
            self._contracts[contract_id] = (
                ProductContract.objects.select_related("price_sheet__product__tax_rate")
                .prefetch_related("price_sheet__tiers")
                .get(pk=contract_id)
            )
        return self._contracts[contract_id]
