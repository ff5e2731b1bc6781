"""Pricing arithmetic, billing-rules §2–3, with the golden examples 3.1–3.4."""

import itertools
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApplicationError
from core.periods import (
    MONTHLY,
    QUARTERLY,
    YEARLY,
    Interval,
    Period,
    Unit,
    proration_fraction,
)
from core.pricing import (
    DiscountStep,
    PricingModel,
    Tier,
    allocate_discounts,
    apply_discounts,
    invoice_totals,
    period_ratio,
    price_for_quantity,
    round_money,
    times,
    validate_tiers,
)

D = Decimal
TIERS = [Tier(1, 10, D("10.00")), Tier(11, 50, D("8.00")), Tier(51, None, D("6.00"))]


def test_example_3_1_graduated_tiers():
    # 10×10 + 40×8 + 10×6
    assert price_for_quantity(PricingModel.GRADUATED, 60, tiers=TIERS) == D("480.00")


def test_example_3_2_volume_tiers():
    # every unit at the price of the tier reached: 60×6
    assert price_for_quantity(PricingModel.VOLUME, 60, tiers=TIERS) == D("360.00")


def test_example_3_3_stacked_discounts_apply_in_order_on_the_running_amount():
    priced = apply_discounts(
        D("100.00"),
        [DiscountStep("10 %", percentage=D("10")), DiscountStep("5.00", amount=D("5.00"))],
        "EUR",
    )
    assert [d.amount for d in priced.discounts] == [D("10.00"), D("5.00")]
    assert priced.net == D("85.00")


def test_example_3_4_coupon_on_an_add_on():
    # "Service supplémentaire" 10.00 with a coupon bundle giving 20 % on that product
    priced = apply_discounts(D("10.00"), [DiscountStep("coupon", percentage=D("20"))], "EUR")
    assert priced.net == D("8.00")


def test_flat_and_per_unit():
    assert price_for_quantity(PricingModel.FLAT, 3, amount=D("150.00")) == D("150.00")
    assert price_for_quantity(PricingModel.FLAT, 0, amount=D("150.00")) == 0
    assert price_for_quantity(PricingModel.PER_UNIT, 10, amount=D("60.00")) == D("600.00")


def test_tier_boundaries():
    assert price_for_quantity(PricingModel.GRADUATED, 10, tiers=TIERS) == D("100.00")
    assert price_for_quantity(PricingModel.GRADUATED, 11, tiers=TIERS) == D("108.00")
    assert price_for_quantity(PricingModel.VOLUME, 10, tiers=TIERS) == D("100.00")
    assert price_for_quantity(PricingModel.VOLUME, 11, tiers=TIERS) == D("88.00")


def test_tier_flat_fees():
    tiers = [Tier(1, 5, D("1"), D("10")), Tier(6, None, D("0.5"), D("20"))]
    assert price_for_quantity(PricingModel.GRADUATED, 8, tiers=tiers) == D("5") + D("10") + D(
        "1.5"
    ) + D("20")
    assert price_for_quantity(PricingModel.VOLUME, 8, tiers=tiers) == D("4") + D("20")


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "at least one tier"),
        ([Tier(2, None, D("1"))], "should start at unit 1"),
        ([Tier(1, 10, D("1")), Tier(12, None, D("1"))], "should start at unit 11"),
        ([Tier(1, 10, D("1")), Tier(8, None, D("1"))], "should start at unit 11"),
        ([Tier(1, 10, D("1"))], "last tier must be open-ended"),
        ([Tier(1, None, D("1")), Tier(2, None, D("1"))], "Only the last tier"),
        ([Tier(1, None, D("-1"))], "cannot be negative"),
    ],
)
def test_bad_tiers_are_refused_with_a_reason(tiers, message):
    with pytest.raises(ApplicationError, match=message):
        validate_tiers(tiers)


def test_negative_quantities_are_refused():
    with pytest.raises(ApplicationError, match="negative"):
        price_for_quantity(PricingModel.PER_UNIT, -1, amount=D("1"))


def test_rounding_is_half_up_to_the_currency_minor_unit():
    assert round_money(D("0.125"), "EUR") == D("0.13")  # half-even would give 0.12
    assert round_money(D("2.5"), "JPY") == D("3")
    assert round_money(D("1.0005"), "BHD") == D("1.001")
    assert round_money(Fraction(100, 3), "CAD") == D("33.33")


def test_a_price_period_converts_by_months_for_month_based_periods():
    # 60.00 per seat per year, billed quarterly: 15.00 per seat
    assert times(D("60.00"), period_ratio(YEARLY, QUARTERLY, date(2026, 1, 1))) == D("15.00")
    assert period_ratio(MONTHLY, YEARLY, date(2026, 1, 1)) == 12


def test_a_price_period_converts_by_exact_days_otherwise():
    assert period_ratio(Period(1, Unit.WEEK), Period(14, Unit.DAY), date(2026, 1, 1)) == 2
    # A monthly price billed every 2 weeks, from 1 February 2026 (28 days): 14/28
    assert period_ratio(MONTHLY, Period(2, Unit.WEEK), date(2026, 2, 1)) == Fraction(1, 2)


def test_discounts_never_take_an_amount_below_zero():
    priced = apply_discounts(
        D("4.00"),
        [DiscountStep("big", amount=D("5.00")), DiscountStep("pct", percentage=D("50"))],
        "EUR",
    )
    assert priced.net == 0
    assert [d.amount for d in priced.discounts] == [D("4.00"), D("0.00")]


def test_fixed_discounts_scale_with_a_prorated_line():
    priced = apply_discounts(
        D("50.00"), [DiscountStep("fixed", amount=D("5.00"))], "EUR", scale=Fraction(1, 2)
    )
    assert priced.discounts[0].amount == D("2.50")
    assert priced.net == D("47.50")


def test_example_6_1_amounts_partner_quarter():
    # 10 seats × 60.00/year, quarterly; 3-year period −10 %, then partner −20 %
    gross = times(D("60.00") * 10, period_ratio(YEARLY, QUARTERLY, date(2026, 1, 1)))
    priced = apply_discounts(
        gross,
        [DiscountStep("3 years", percentage=D("10")), DiscountStep("partner", percentage=D("20"))],
        "EUR",
    )
    assert (priced.gross, [d.amount for d in priced.discounts], priced.net) == (
        D("150.00"),
        [D("15.00"), D("27.00")],
        D("108.00"),
    )
    totals = invoice_totals([(D("20"), priced.net)], "EUR")
    assert (totals.tax, totals.gross) == (D("21.60"), D("129.60"))


def test_tax_is_computed_once_per_rate_on_the_sum_of_net_amounts():
    # Three lines of 0.13 at 20 %: per line 0.026 → 0.03, three times 0.09; on the sum,
    # 0.39 × 20 % = 0.078 → 0.08. The norm wants the latter.
    totals = invoice_totals([(D("20"), D("0.13"))] * 3 + [(D("5.5"), D("10.00"))], "EUR")
    assert [(t.rate, t.base, t.tax) for t in totals.taxes] == [
        (D("5.5"), D("10.00"), D("0.55")),
        (D("20"), D("0.39"), D("0.08")),
    ]
    assert totals.net == D("10.39") and totals.gross == D("11.02")


def test_totals_refuse_unrounded_lines():
    with pytest.raises(ValueError):
        invoice_totals([(D("20"), D("0.125"))], "EUR")


# Properties -------------------------------------------------------------------------------------


@given(
    price=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)),
    period=st.sampled_from([MONTHLY, QUARTERLY, YEARLY, Period(2, Unit.WEEK)]),
    cuts=st.lists(st.integers(1, 400), max_size=6),
)
def test_prorated_pieces_add_up_to_the_whole_period_within_a_cent_per_piece(
    price, start, period, cuts
):
    interval = Interval(start, start + period.delta())
    # Split the period at arbitrary days; each piece is charged price × its fraction.
    days = sorted({c % interval.days for c in cuts} - {0})
    edges = [interval.start] + [interval.start + timedelta(days=d) for d in days] + [interval.end]
    pieces = []
    for piece_start, piece_end in itertools.pairwise(edges):
        # the charge from piece_start to the end, minus the charge from piece_end to the end
        fraction = proration_fraction(piece_start, interval) - (
            proration_fraction(piece_end, interval) if piece_end < interval.end else 0
        )
        pieces.append(round_money(times(price, fraction), "EUR"))
    whole = round_money(price, "EUR")
    assert abs(sum(pieces) - whole) <= D("0.01") * len(pieces)


@given(
    gross=st.decimals(min_value=D("0"), max_value=D("1000000"), places=4),
    steps=st.lists(
        st.one_of(
            st.builds(
                lambda p: DiscountStep("p", percentage=p),
                st.decimals(min_value=D("0"), max_value=D("100"), places=2),
            ),
            st.builds(
                lambda a: DiscountStep("a", amount=a),
                st.decimals(min_value=D("0"), max_value=D("10000"), places=2),
            ),
        ),
        max_size=5,
    ),
)
def test_discounts_keep_every_amount_rounded_and_never_negative(gross, steps):
    priced = apply_discounts(gross, steps, "EUR")
    assert priced.net >= 0
    assert priced.net == round_money(priced.net, "EUR")
    assert priced.gross - priced.discount_total == priced.net
    assert all(d.amount >= 0 for d in priced.discounts)


def test_a_fixed_subscription_discount_is_one_budget_over_several_lines():
    steps = [DiscountStep("10 %", percentage=D("10")), DiscountStep("5.00 off", amount=D("5.00"))]
    priced = allocate_discounts([D("3.00"), D("100.00")], steps, [[0, 1], [0, 1]], "EUR")
    # 10 % of each line, then 5.00 in all: 2.70 from the first line, 2.30 from the second.
    assert [p.net for p in priced] == [D("0.00"), D("87.70")]
    assert sum(p.discount_total for p in priced) == D("0.30") + D("10.00") + D("5.00")


def test_allocation_on_one_line_matches_apply_discounts():
    steps = [DiscountStep("10 %", percentage=D("10")), DiscountStep("5.00", amount=D("5.00"))]
    assert allocate_discounts([D("100.00")], steps, [[0, 1]], "EUR")[0] == apply_discounts(
        D("100.00"), steps, "EUR"
    )


def test_a_discount_only_touches_the_lines_it_targets():
    steps = [DiscountStep("coupon 20 % on the add-on", percentage=D("20"))]
    priced = allocate_discounts([D("150.00"), D("10.00")], steps, [[], [0]], "EUR")
    assert [p.net for p in priced] == [D("150.00"), D("8.00")]
