"""VAT determination: the tax of a line follows the parties (billing-rules §10).

The seller's country, the customer's country and whether the customer is a business with a VAT
number choose a rule; the rule gives the EN 16931 category (S, AE, O, G, E…) and where the rate
comes from: the product's own rate (domestic sales; a reduced or exempt product carries its
own), the standard rate of the customer's country (consumers elsewhere in the EU, One-Stop
Shop), or none (reverse charge, export, outside the scope). Rules are rows an operator edits
(catalog.TaxRule); where none matches, the built-in EU rules below apply, and the data migration
writes them as rows too. A line whose tax cannot be determined is refused with the setting to
fill in, never taxed at 0 % silently.

Loaded once per price book (two queries, a third for consumers of other member states), then
decided from memory: the billing run asks
this for every line of every subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.models import SellerProfile, TaxCategory, TaxRate, TaxRule
from core.errors import ApplicationError
from core.identifiers import in_eu
from core.pricing import ZERO

Zone = TaxRule.Zone
Kind = TaxRule.CustomerKind
Source = TaxRule.RateSource


class TaxUndetermined(ApplicationError):
    """No tax can be determined for a line: the message names the setting that is missing."""

    def __init__(self, message: str):
        super().__init__(message, code="tax_undetermined")


@dataclass(frozen=True, slots=True)
class Buyer:
    """The party invoiced, as tax sees it (part of the pricing memo's keys)."""

    country: str
    has_vat_number: bool

    @classmethod
    def of(cls, customer) -> Buyer:
        return cls.from_values(customer.country, customer.vat_number)

    @classmethod
    def from_values(cls, country: str | None, vat_number: str | None) -> Buyer:
        return cls((country or "").upper(), bool(vat_number))


@dataclass(frozen=True, slots=True)
class Treatment:
    """How one line is taxed: its category, rate and, for anything but S, the reason."""

    category: str
    rate: Decimal
    rate_id: int | None
    exemption_code: str = ""
    exemption_reason: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    customer_zone: str
    customer_country: str
    customer_kind: str
    category: str
    rate_source: str
    exemption_code: str = ""
    mention_en: str = ""
    mention_fr: str = ""

    @classmethod
    def of(cls, row: TaxRule) -> Rule:
        return cls(
            row.customer_zone,
            row.customer_country,
            row.customer_kind,
            row.category,
            row.rate_source,
            row.exemption_code,
            row.mention_en,
            row.mention_fr,
        )

    def mention(self, language: str | None) -> str:
        if (language or "en")[:2] == "fr" and self.mention_fr:
            return self.mention_fr
        return self.mention_en


# The EU's rules for electronically supplied services, whatever the seller's member state.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(Zone.DOMESTIC, "", Kind.ANY, TaxCategory.STANDARD, Source.PRODUCT),
    Rule(
        Zone.EU,
        "",
        Kind.BUSINESS,
        TaxCategory.REVERSE_CHARGE,
        Source.NONE,
        "VATEX-EU-AE",
        "Reverse charge: VAT to be paid by the customer (article 196 of Directive 2006/112/EC)",
        "Autoliquidation : TVA due par le preneur (article 196 de la directive 2006/112/CE)",
    ),
    Rule(Zone.EU, "", Kind.CONSUMER, TaxCategory.STANDARD, Source.CUSTOMER_COUNTRY),
    Rule(
        Zone.NON_EU,
        "",
        Kind.ANY,
        TaxCategory.OUTSIDE_SCOPE,
        Source.NONE,
        "VATEX-EU-O",
        "Not subject to VAT: services supplied outside the EU (article 44 of Directive "
        "2006/112/EC)",
        "TVA non applicable : prestation hors de l'UE (article 259-1 du CGI)",
    ),
)


# What an invoice says of a category other than S when neither the rule nor the rate says more
# (EN 16931 wants a reason, BT-120, or its code, BT-121, for each: BR-AE-10, BR-O-10…).
DEFAULT_MENTIONS: dict[str, str] = {
    TaxCategory.REVERSE_CHARGE: gettext_noop("Reverse charge: VAT to be paid by the customer"),
    TaxCategory.OUTSIDE_SCOPE: gettext_noop("Not subject to VAT"),
    TaxCategory.EXPORT: gettext_noop("Export outside the EU, exempt from VAT"),
    TaxCategory.INTRA_EU: gettext_noop("Intra-community supply, exempt from VAT"),
    TaxCategory.EXEMPT: gettext_noop("Exempt from VAT"),
    TaxCategory.ZERO: gettext_noop("Zero-rated"),
}


def default_mention(category: str, language: str | None) -> str:
    message = DEFAULT_MENTIONS.get(category)
    if message is None:
        return ""
    with translation.override(language):
        return _(message)


def _zone(seller_country: str, country: str) -> str:
    if country == seller_country:
        return Zone.DOMESTIC
    return Zone.EU if in_eu(country) else Zone.NON_EU


class TaxPolicy:
    """The seller's country, its rules and the countries' standard rates, loaded once."""

    def __init__(
        self,
        seller_country: str,
        rules: list[Rule] | None = None,
        standard_rates: dict[str, TaxRate] | None = None,
    ) -> None:
        self.seller_country = seller_country.upper()
        self.rules = list(rules or [])
        # Read the first time a consumer of another member state is taxed (most pages never).
        self._standard_rates = None if standard_rates is None else dict(standard_rates)
        self._chosen: dict[Buyer, Rule | None] = {}

    @property
    def standard_rates(self) -> dict[str, TaxRate]:
        if self._standard_rates is None:
            self._standard_rates = {
                r.country.upper(): r
                for r in TaxRate.objects.filter(is_standard=True, is_active=True).exclude(
                    country=""
                )
            }
        return self._standard_rates

    @classmethod
    def load(cls) -> TaxPolicy:
        seller = SellerProfile.current()
        country = (seller.country or "").upper()
        return cls(country, [Rule.of(r) for r in TaxRule.objects.filter(seller_country=country)])

    def rule_for(self, buyer: Buyer) -> Rule | None:
        """The most specific rule: a named country before its zone, a kind before "any"; the
        operator's rules before the built-in ones."""
        if buyer in self._chosen:
            return self._chosen[buyer]
        zone = _zone(self.seller_country, buyer.country)
        kind = Kind.BUSINESS if buyer.has_vat_number else Kind.CONSUMER
        chosen = None
        for rules in (self.rules, DEFAULT_RULES):
            matching = [
                r
                for r in rules
                if r.customer_zone == zone
                and r.customer_country in ("", buyer.country)
                and r.customer_kind in (Kind.ANY, kind)
            ]
            if matching:
                chosen = max(
                    matching, key=lambda r: (bool(r.customer_country), r.customer_kind != Kind.ANY)
                )
                break
        self._chosen[buyer] = chosen
        return chosen

    def treatment(
        self, *, rate: TaxRate | None, buyer: Buyer, what: str, language: str | None = None
    ) -> Treatment:
        """The tax of a line of `what` (a product's or a term's name, for the refusal) whose
        own rate is `rate` (the product's, else the plan's term's), sold to `buyer`."""
        if not self.seller_country:
            raise TaxUndetermined(
                _(
                    "The seller profile has no country: fill it in (admin, Catalog › Seller profile)."
                )
            )
        if not buyer.country:
            raise TaxUndetermined(_("The customer has no country: the tax cannot be determined."))
        rule = self.rule_for(buyer)
        if rule is None:
            raise TaxUndetermined(
                _(
                    "No tax rule covers a sale from %(seller)s to %(country)s: add one in the "
                    "admin (Catalog › Tax rules)."
                )
                % {"seller": self.seller_country, "country": buyer.country}
            )
        if rule.rate_source == Source.NONE:
            mention = rule.mention(language) or default_mention(rule.category, language)
            return Treatment(rule.category, ZERO, None, rule.exemption_code, mention)
        if rule.rate_source == Source.CUSTOMER_COUNTRY and not (
            rate is not None and rate.category != TaxCategory.STANDARD
        ):
            rate = self.standard_rates.get(buyer.country)
            if rate is None:
                raise TaxUndetermined(
                    _(
                        "No standard VAT rate is set for %(country)s, where this customer is "
                        "taxed: add it in the admin (Catalog › Tax rates, country "
                        "%(country)s, standard rate)."
                    )
                    % {"country": buyer.country}
                )
        if rate is None:
            raise TaxUndetermined(
                _(
                    "%(what)s has no tax rate: set its tax rate in the admin (Catalog › "
                    "Products), or its plan's term's."
                )
                % {"what": what}
            )
        if rate.category != TaxCategory.STANDARD:
            reason = rate.exemption_reason or default_mention(rate.category, language)
            return Treatment(rate.category, ZERO, rate.pk, rate.exemption_code, reason)
        return Treatment(TaxCategory.STANDARD, rate.rate, rate.pk)
