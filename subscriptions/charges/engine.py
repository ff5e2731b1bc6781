"""The charges due on a subscription, derived from its timeline (DESIGN.md, "Billing as a
function of the timeline"): the recurring charge of each billing period, the one-off charges of
its changes (prorated), its penalties. Pure over a `SubscriptionContext`: no database read but
the price book's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from django.utils import translation
from django.utils.translation import gettext as _

from core.periods import Interval, boundary, period_at, period_index, proration_fraction
from core.pricing import (
    ZERO,
    AppliedDiscount,
    PricedAmount,
    allocate_discounts,
    round_money,
    times,
)
from subscriptions import timeline
from subscriptions.charges import contracts as contract_charges
from subscriptions.charges import usage as metered
from subscriptions.charges.inputs import DiscountRule, SubscriptionContext
from subscriptions.charges.lines import NOT_PRICED, sheet_amount, state_key
from subscriptions.charges.wording import amount_in_formula, days_left_text, penalty_rule_of
from subscriptions.timeline import State

RECURRING = "recurring"
PRORATION = "proration"
PENALTY = "penalty"
ONE_OFF = "one_off"
USAGE = metered.USAGE  # in arrears, on the next period's invoice
ISSUES = contract_charges.ISSUES  # in advance, on the period's invoice
TOPUP = contract_charges.TOPUP  # at once, on its own invoice


@dataclass(frozen=True)
class Charge:
    key: str
    kind: str
    charge_date: date
    period: Interval
    description: str
    quantity: Decimal
    unit_amount: Decimal  # per billing period and unit, before proration and discounts
    fraction: Fraction
    priced: PricedAmount
    currency: str
    rule: str
    product_id: int | None = None
    bundle_id: int | None = None
    event_id: int | None = None
    tax_rate: Decimal = ZERO
    tax_rate_id: int | None = None
    # How the parties make it taxed (catalog/tax.py): EN 16931 category and, but for S, why.
    tax_category: str = "S"
    tax_exemption_code: str = ""
    tax_exemption_reason: str = ""
    ledger_account: str = ""
    invoice_item_type: str = ""

    @property
    def gross(self) -> Decimal:
        return self.priced.gross

    @property
    def discounts(self) -> tuple[AppliedDiscount, ...]:
        return self.priced.discounts

    @property
    def net(self) -> Decimal:
        return self.priced.net


def _taxed(tax, ledger: str, item_type: str) -> dict:
    """A charge's tax fields (catalog/tax.py's treatment), its ledger account and item type."""
    return {
        "tax_rate": tax.rate,
        "tax_rate_id": tax.rate_id,
        "tax_category": tax.category,
        "tax_exemption_code": tax.exemption_code,
        "tax_exemption_reason": tax.exemption_reason,
        "ledger_account": ledger,
        "invoice_item_type": item_type,
    }


def _price(
    specs: Sequence[tuple[Decimal, int | None, int | None]],
    rules: Sequence[DiscountRule],
    currency: str,
    scale: Fraction | int = 1,
    language: str | None = None,
) -> list[PricedAmount]:
    """Round and discount lines given as (gross, product id, bundle id), with the rules that
    apply to their charge, in their order (SubscriptionContext.rules_for_*); the discounts are
    labelled in `language` (default: the active one)."""
    applies = [
        [i for i, d in enumerate(rules) if d.targets(product, bundle)]
        for _g, product, bundle in specs
    ]
    return allocate_discounts(
        [gross for gross, _p, _b in specs],
        [d.step(language or translation.get_language()) for d in rules],
        applies,
        currency,
        scales=[scale] * len(specs),
    )


# Recurring charges --------------------------------------------------------------------------------


def recurring_charges(context: SubscriptionContext, period: Interval) -> list[Charge]:
    """The charges of one billing period, billed in advance on its start."""
    state = context.fold.state_for_period(period.start)
    if not state.is_running_on(period.start):
        return []
    rules = context.rules_for_period(period)
    # Subscriptions in the same state, period, currency, language and discounts owe the same
    # charges (their keys do not name the subscription): priced once per price book.
    key = (
        "recurring",
        state_key(state, ignore=NOT_PRICED),
        period,
        context.currency,
        context.language or translation.get_language(),
        tuple(rule.pricing_key() for rule in rules),  # in their order of application
        context.buyer,  # the tax follows the party invoiced
    )
    cached = context.book.memo.get(key)
    if cached is not None:
        return cached
    lines = context.lines(state, period.start)
    priced = _price(
        [(line.amount, line.product.pk, line.bundle.pk) for line in lines],
        rules,
        context.currency,
        language=context.language,
    )
    charges = []
    for line, amount in zip(lines, priced, strict=True):
        tax, ledger, item_type = context.tax_for(line.product, state)
        charges.append(
            Charge(
                key=f"rec:{period.start.isoformat()}:{line.code}",
                kind=RECURRING,
                charge_date=period.start,
                period=period,
                description=line.product.display_name,
                quantity=Decimal(line.quantity),
                unit_amount=line.unit_amount,
                fraction=Fraction(1),
                priced=amount,
                currency=context.currency,
                rule=line.rule,
                product_id=line.product.pk,
                bundle_id=line.bundle.pk,
                **_taxed(tax, ledger, item_type),
            )
        )
    context.book.memo[key] = charges
    return charges


# Charges of a change -------------------------------------------------------------------------------


def event_charges(context: SubscriptionContext, event) -> list[Charge]:
    """The one-off charges a timeline entry causes (none for most kinds)."""
    if event.revoked_by_id is not None:
        return []
    if event.kind == timeline.CANCELLATION:
        return _penalty(context, event)
    if event.kind == "credits_topped_up":
        return _topup(context, event)
    if not timeline.is_immediate(event) or context.anchor is None:
        return []
    after = timeline.apply(context.fold.state_before(event), event)
    if event.effective_date < context.anchor or not after.is_running_on(event.effective_date):
        return []  # before the first period (scheduled start, trial): nothing to prorate
    before = context.fold.state_before(event)
    period = context.period_of(event.effective_date)
    fraction = proration_fraction(event.effective_date, period)
    if event.kind == timeline.PLAN_CHANGED:
        return [_upgrade(context, event, before, after, period, fraction)]
    old = {line.code: line for line in context.lines(before, period.start)}
    new = context.lines(after, period.start)
    changed = [
        (line, line.amount - (old[line.code].amount if line.code in old else ZERO)) for line in new
    ]
    changed = [(line, delta) for line, delta in changed if delta > 0]
    priced = _price(
        [(times(delta, fraction), line.product.pk, line.bundle.pk) for line, delta in changed],
        context.rules_for_change(period, event),
        context.currency,
        scale=fraction,
        language=context.language,
    )
    charges = []
    for (line, delta), amount in zip(changed, priced, strict=True):
        before_quantity = old[line.code].quantity if line.code in old else 0
        added = line.quantity - before_quantity
        tax, ledger, item_type = context.tax_for(line.product, after)
        if line.code not in old:
            base = line.rule
        elif line.sheet.pricing_model == "per_unit":
            base = sheet_amount(line.sheet, added, context.billing_period, period.start)[1]
        else:
            base = f"{line.rule} − {old[line.code].rule}"
        charges.append(
            Charge(
                key=f"pro:{event.id}:{line.code}",
                kind=PRORATION,
                charge_date=event.effective_date,
                period=Interval(event.effective_date, period.end),
                description=_("%(product)s: %(added)s added, %(start)s to %(end)s")
                % {
                    "product": line.product.display_name,
                    "added": added,
                    "start": event.effective_date.isoformat(),
                    "end": period.end.isoformat(),
                },
                quantity=Decimal(added),
                unit_amount=delta / added if added else delta,
                fraction=fraction,
                priced=amount,
                currency=context.currency,
                rule=f"({base}) × {days_left_text(event.effective_date, period)}",
                product_id=line.product.pk,
                bundle_id=line.bundle.pk,
                event_id=event.id,
                **_taxed(tax, ledger, item_type),
            )
        )
    return charges


def _upgrade(
    context: SubscriptionContext,
    event,
    before: State,
    after: State,
    period: Interval,
    fraction: Fraction,
) -> Charge:
    """billing-rules §6: (new − old) × proration fraction, one line.

    Both sides at their plan's list price, and the difference discounted by the discounts in
    force on the new plan from the change (billing-rules §7: the old plan's discounts end with it;
    the new plan's own, the service period, the partner's and the customer's vouchers apply). The
    period's invoice on the old plan is not revised: what its discount took off stays off, and the
    upgrade does not claw it back (docs/billing-rules.md, "Discounts follow the plan")."""
    old_plan = context.book.plan(before.plan_id)
    new_plan = context.book.plan(after.plan_id)
    old_total = sum(
        (line.amount for line in context.lines(before, period.start)),
        ZERO,
    )
    new_lines = context.lines(after, period.start)
    new_total = sum((line.amount for line in new_lines), ZERO)
    difference = max(new_total - old_total, ZERO)
    priced = _price(
        [(times(difference, fraction), None, None)],
        context.rules_for_change(period, event),
        context.currency,
        scale=fraction,
        language=context.language,
    )[0]
    # The difference is the new plan's: its products' account and item type when they agree
    # (never the term's, which belong to its penalty line).
    products = {line.product.pk: line.product for line in new_lines}
    only = next(iter(products.values())) if len(products) == 1 else None
    tax, ledger, item_type = context.tax_for(only, after)
    if only is None:
        accounts = {(p.ledger_account, p.invoice_item_type) for p in products.values()}
        if len(accounts) == 1:
            ledger, item_type = next(iter(accounts))
    return Charge(
        key=f"pro:{event.id}:plan",
        kind=PRORATION,
        charge_date=event.effective_date,
        period=Interval(event.effective_date, period.end),
        description=_("Upgrade from %(old)s to %(new)s, %(start)s to %(end)s")
        % {
            "old": old_plan.display_name,
            "new": new_plan.display_name,
            "start": event.effective_date.isoformat(),
            "end": period.end.isoformat(),
        },
        quantity=Decimal(1),
        unit_amount=difference,
        fraction=fraction,
        priced=priced,
        currency=context.currency,
        rule=f"({amount_in_formula(new_total, context.currency)} − {amount_in_formula(old_total, context.currency)}) × {days_left_text(event.effective_date, period)}",
        event_id=event.id,
        **_taxed(tax, ledger, item_type),
    )


def _product_charge(
    context: SubscriptionContext,
    *,
    key: str,
    kind: str,
    charge_date: date,
    period: Interval,
    description: str,
    quantity: Decimal,
    gross: Decimal,
    rule: str,
    product,
    rules: Sequence[DiscountRule],
    state: State,
    event_id: int | None = None,
) -> Charge:
    """A charge of one product's amount (usage, issues, credits), discounted and taxed like
    the others."""
    priced = _price(
        [(gross, product.pk if product else None, None)],
        rules,
        context.currency,
        language=context.language,
    )[0]
    tax, ledger, item_type = context.tax_for(product, state)
    return Charge(
        key=key,
        kind=kind,
        charge_date=charge_date,
        period=period,
        description=description,
        quantity=quantity,
        unit_amount=gross / quantity if quantity else gross,
        fraction=Fraction(1),
        priced=priced,
        currency=context.currency,
        rule=rule,
        product_id=product.pk if product else None,
        event_id=event_id,
        **_taxed(tax, ledger, item_type),
    )


def usage_charges(context: SubscriptionContext, *, since: date | None, up_to: date) -> list[Charge]:
    """The usage of the periods that ended in [since, up_to], in arrears (billing-rules §12):
    dated the period's end, so on the next period's invoice. A coupon (one purchase: a
    recurring invoice) does not discount it; the other discounts of the period do."""
    charges = []
    for period, line in metered.due_usage(context, since=since, up_to=up_to):
        sheet = line.charge.price_sheet
        state = context.fold.state_on(line.period.end - timedelta(days=1))
        charges.append(
            _product_charge(
                context,
                key=f"use:{period.start.isoformat()}:{line.metric.code}",
                kind=USAGE,
                charge_date=line.period.end,
                period=line.period,
                description=metered.usage_description(line),
                quantity=line.quantity,
                gross=line.amount,
                rule=line.rule,
                product=sheet.product,
                rules=[d for d in context.rules_for_period(period) if not d.recurring_only],
                state=state,
            )
        )
    return charges


def issue_charges(context: SubscriptionContext, period: Interval, state: State) -> list[Charge]:
    """The chargeable issues of the period's issue-based contracts, in advance."""
    charges = []
    for line in contract_charges.issue_lines(context, period.start):
        sheet = line.contract.price_sheet
        charges.append(
            _product_charge(
                context,
                key=f"iss:{line.held.id}:{period.start.isoformat()}",
                kind=ISSUES,
                charge_date=period.start,
                period=line.period,
                description=contract_charges.issue_description(line),
                quantity=Decimal(len(line.numbers) * line.held.quantity),
                gross=line.amount,
                rule=line.rule,
                product=sheet.product if sheet else line.contract.product,
                rules=[d for d in context.rules_for_period(period) if not d.recurring_only],
                state=state,
            )
        )
    return charges


def _topup(context: SubscriptionContext, event) -> list[Charge]:
    line = contract_charges.topup_line(context, event)
    if line is None:
        return []
    sheet = line.contract.price_sheet
    return [
        _product_charge(
            context,
            key=f"top:{event.id}",
            kind=TOPUP,
            charge_date=event.effective_date,
            period=Interval(event.effective_date, event.effective_date + timedelta(days=1)),
            description=contract_charges.topup_description(line),
            quantity=line.credits,
            gross=line.amount,
            rule=line.rule,
            product=sheet.product if sheet else line.contract.product,
            rules=(),
            state=context.fold.state_before(event),
            event_id=event.id,
        )
    ]


def _penalty(context: SubscriptionContext, event) -> list[Charge]:
    penalty = event.data.get("penalty")
    if not penalty:
        return []
    amount = Decimal(penalty)
    requested_on = date.fromisoformat(event.data["requested_on"])
    state = context.fold.state_before(event)
    tax, ledger, item_type = context.penalty_tax(state)
    return [
        Charge(
            key=f"pen:{event.id}",
            kind=PENALTY,
            charge_date=requested_on,
            period=Interval(event.effective_date, date.fromisoformat(event.data["commitment_end"])),
            description=_("Early termination penalty (effective %(date)s)")
            % {"date": event.effective_date.isoformat()},
            quantity=Decimal(1),
            unit_amount=amount,
            fraction=Fraction(1),
            priced=PricedAmount(round_money(amount, context.currency)),
            currency=context.currency,
            rule=penalty_rule_of(event, amount, context.currency),
            event_id=event.id,
            **_taxed(tax, ledger, item_type),
        )
    ]


# Everything due -------------------------------------------------------------------------------------


def billing_periods(
    context: SubscriptionContext, *, up_to: date, since: date | None = None
) -> list[Interval]:
    """The billing periods starting in [since or anchor, up_to], while the subscription runs."""
    if context.anchor is None:
        return []
    start = max(since or context.anchor, context.anchor)
    k = period_index(context.anchor, context.billing_period, start)
    if boundary(context.anchor, context.billing_period, k) < start:
        k += 1
    periods = []
    while (period := period_at(context.anchor, context.billing_period, k)).start <= up_to:
        periods.append(period)
        k += 1
    return periods


def period_charges(context: SubscriptionContext, period: Interval) -> list[Charge]:
    """What a billing period's invoice bills in advance: its recurring charges and the issues
    its contracts deliver in it (what the pages quote as the next invoice)."""
    charges = recurring_charges(context, period)
    if context.contracts:
        state = context.fold.state_for_period(period.start)
        if state.is_running_on(period.start):
            charges = [*charges, *issue_charges(context, period, state)]
    return charges


def due_charges(
    context: SubscriptionContext, *, up_to: date, since: date | None = None
) -> list[Charge]:
    """Every charge due in [since, up_to] (since defaults to the anchor): the recurring charges
    of the periods starting then, and the one-off charges of the changes dated then."""
    charges: list[Charge] = []
    for period in billing_periods(context, up_to=up_to, since=since):
        charges.extend(period_charges(context, period))
    charges.extend(usage_charges(context, since=since, up_to=up_to))
    for event in context.events:
        if since is not None and _charge_date(event) < since:
            continue  # charged before `since`: billing has it already (it keeps that promise)
        charges.extend(c for c in event_charges(context, event) if c.charge_date <= up_to)
    return charges


def _charge_date(event) -> date:
    """When a change's one-off charge falls due: a penalty when asked for, others when effective."""
    if event.kind == timeline.CANCELLATION and event.data.get("requested_on"):
        return date.fromisoformat(event.data["requested_on"])
    return event.effective_date
