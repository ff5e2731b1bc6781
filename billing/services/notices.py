"""Notice-period reminders: before a notice deadline, the customer (and its partner) are told
once per renewal that this is the last day to cancel for this renewal."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from billing.models import NoticeReminder
from subscriptions.models import Subscription
from subscriptions.services.renewals import before_renewal


def notice_reminders_due(*, day: date) -> list[NoticeReminder]:
    """Record (once each) the reminders due on `day`: subscriptions whose notice deadline falls
    within the next NOTICE_REMINDER_DAYS days. Returns the new ones, for emailing."""
    lead = timedelta(days=settings.NOTICE_REMINDER_DAYS)
    longest_notice = timedelta(
        days=366 * 2
    )  # bounds the scan: notices are counted in days to years
    candidates = (
        Subscription.objects.filter(
            status__in=[Subscription.Status.ACTIVE],
            auto_renew=True,
            term__notice_count__gt=0,
            renewal_date__gt=day,
            renewal_date__lte=day + lead + longest_notice,
        )
        .select_related("term")
        .exclude(notice_reminders__renewal_date=F("renewal_date"))
        .order_by("pk")
    )
    created = []
    for subscription in candidates.iterator(chunk_size=1000):
        term, renewal = subscription.term, subscription.renewal_date
        # The query's filters: a term with a notice period, a renewal date after `day`.
        assert term is not None and renewal is not None
        deadline = before_renewal(subscription, renewal, term.notice_count, term.notice_unit)
        if not day <= deadline <= day + lead:
            continue
        try:
            with transaction.atomic():
                created.append(
                    NoticeReminder.objects.create(
                        subscription=subscription,
                        renewal_date=renewal,
                        deadline=deadline,
                        sent_on=day,
                    )
                )
        except IntegrityError:
            continue  # another run recorded it first
    return created
