"""Business "today": the calendar date in the billing time zone.

Timestamps are UTC; business dates (period boundaries, due dates, notice deadlines) are calendar
dates where the business is. At 23:30 UTC on 31 Dec it is already 1 Jan in Paris, and invoices
dated that night belong to the new year.
"""

from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def billing_zone() -> ZoneInfo:
    return ZoneInfo(settings.BILLING_TIME_ZONE)


def today() -> date:
    return timezone.localdate(timezone=billing_zone())
