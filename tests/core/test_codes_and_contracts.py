"""Coupon code templates (billing-rules §7, example 7.1) and issue schedules
(billing-rules §8, example 8.2)."""

import itertools
from datetime import date

import pytest

from core.codes import (
    UNAMBIGUOUS_ALPHABET,
    CodeTemplate,
    check_alphanumeric_capacity,
    numeric_codes,
    random_codes,
)
from core.contracts import issue_schedule
from core.errors import ApplicationError
from core.periods import Interval


def test_example_7_1_numeric_codes_from_87():
    assert numeric_codes("coupon_##", range_start=87, quantity=5) == [
        "coupon_87",
        "coupon_88",
        "coupon_89",
        "coupon_90",
        "coupon_91",
    ]


def test_example_7_1_a_number_wider_than_the_run_is_refused_not_lengthened():
    with pytest.raises(ApplicationError) as refused:
        numeric_codes("coupon_##", range_start=98, quantity=5)
    assert "100 does not fit" in refused.value.message
    assert refused.value.field == "range_start"


def test_numeric_codes_are_zero_padded_to_the_run():
    assert numeric_codes("X-####-Y", range_start=7, quantity=2) == ["X-0007-Y", "X-0008-Y"]


@pytest.mark.parametrize("template", ["coupon", "a#b#", "##x##"])
def test_a_template_needs_exactly_one_run(template):
    with pytest.raises(ApplicationError, match="exactly one run"):
        CodeTemplate.parse(template)


def test_alphanumeric_codes_use_the_unambiguous_alphabet_and_are_distinct():
    codes = random_codes("GIFT-######", 200)
    assert len(codes) == 200
    for code in codes:
        assert code.startswith("GIFT-") and len(code) == 11
        assert set(code[5:]) <= set(UNAMBIGUOUS_ALPHABET)
    assert not set("01OIL") & set(UNAMBIGUOUS_ALPHABET)


def test_alphanumeric_capacity_is_checked():
    check_alphanumeric_capacity("#####", 1000)
    with pytest.raises(ApplicationError, match="widen"):
        check_alphanumeric_capacity("#", 20)


def test_example_8_2_free_issues_come_last():
    issues = issue_schedule(Interval(date(2026, 1, 1), date(2026, 7, 1)), issues=6, chargeable=5)
    assert [i.chargeable for i in issues] == [True, True, True, True, True, False]
    assert [i.number for i in issues if i.chargeable] == [1, 2, 3, 4, 5]
    assert issues[5].number == 6
    assert issues[0].day == date(2026, 1, 1)
    assert all(a.day < b.day for a, b in itertools.pairwise(issues))


def test_issue_schedule_refuses_more_chargeable_than_issues():
    with pytest.raises(ApplicationError):
        issue_schedule(Interval(date(2026, 1, 1), date(2026, 2, 1)), issues=2, chargeable=3)
