"""The reports' month arithmetic (reports/months.py), across year ends and month ends."""

from datetime import date

from reports.months import month_end, month_start, months_back, months_between, next_month


def test_months_across_a_year_end():
    assert month_start(date(2026, 12, 31)) == date(2026, 12, 1)
    assert next_month(date(2026, 12, 31)) == date(2027, 1, 1)
    assert month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    assert months_between(date(2026, 11, 30), date(2027, 2, 1)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]
    assert months_back(date(2027, 1, 31), 3) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert months_between(date(2027, 2, 1), date(2027, 1, 31)) == []
