"""Sharing an amount over tax rates and finding the net of a tax-included amount (a refund's
credit note, billing-rules §13)."""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from core.pricing import invoice_totals, net_of_gross, split_in_proportion

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: D(c) / 100)
rates = st.sampled_from([D("0"), D("2.10"), D("5.50"), D("10"), D("20")])


def test_a_refund_of_40_of_an_invoice_at_20_percent_is_33_33_and_6_67():
    net = net_of_gross(D("40.00"), D("20"), "EUR")
    assert net == D("33.33")
    assert invoice_totals([(D("20"), net)], "EUR").gross == D("40.00")


def test_an_amount_no_net_makes_is_said():
    assert net_of_gross(D("9.99"), D("20"), "EUR") is None
    assert net_of_gross(D("9.98"), D("20"), "EUR") == D("8.32")
    assert net_of_gross(D("10.00"), D("20"), "EUR") == D("8.33")


@given(cents, rates)
def test_a_net_found_makes_the_gross_exactly(gross, rate):
    net = net_of_gross(gross, rate, "EUR")
    if net is not None:
        assert invoice_totals([(rate, net)], "EUR").gross == gross
    else:
        assert rate > 0  # at 0 % every amount is its own net


def test_shares_follow_the_weights_and_sum_to_the_amount():
    assert split_in_proportion(D("40.00"), [D("129.60")], "EUR") == [D("40.00")]
    assert split_in_proportion(D("10.00"), [D("1"), D("1"), D("1")], "EUR") == [
        D("3.34"),
        D("3.33"),
        D("3.33"),
    ]


@given(cents, st.lists(cents, min_size=1, max_size=5))
def test_shares_always_sum_to_the_amount(amount, weights):
    shares = split_in_proportion(amount, weights, "EUR")
    assert sum(shares) == amount
    assert all(s >= 0 for s in shares)
