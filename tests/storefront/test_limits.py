"""The storefront's rate limits: per key, over a sliding hour, saying when to try again."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.errors import ApplicationError
from storefront.services.limits import attempt_record, attempts_check

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_the_oldest_attempt_says_when_to_try_again():
    with time_machine.travel(T0, tick=False):
        attempt_record(kind="signup", keys=["Ada@Example.com", "203.0.113.9"])
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        attempt_record(kind="signup", keys=["ada@example.com"])
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        # The address (case aside) has 2 attempts within the hour, the IP address 1
        with pytest.raises(ApplicationError, match="try again in 30 minutes"):
            attempts_check(kind="signup", keys=["ada@example.com"], limit=2)
        attempts_check(kind="signup", keys=["203.0.113.9"], limit=2)
        attempts_check(kind="coupon", keys=["ada@example.com"], limit=2)  # another kind
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False):
        attempts_check(kind="signup", keys=["ada@example.com"], limit=2)  # one left in the hour
