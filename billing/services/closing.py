"""The monthly close: the operator closes the books up to the end of a month.

Rules (docs: "Monthly close"):
- Closing month M closes every month up to the end of M: the books are closed *through* a day.
  Closing a month already closed changes nothing (idempotent).
- Only a month that is over can be closed (its last day before today).
- Drafts do not hold a close: a draft is not in the books; it takes its date when issued, in an
  open month. Except the billing run's, committed dated and waiting for their numbers (a
  number claim): the close waits until they are issued, and the numbers are set on them under
  the same lock as any issue.
- Once closed, no invoice or credit note is issued, and no payment, reversal or refund recorded,
  with a date in a closed month. A person entering one is refused, told the first open day;
  an automated flow that learns today of something dated in a closed month (a bank statement
  line booked on 31 March imported on 3 April, a SEPA return) books it on the first open day
  and keeps the original date in its reference ("corrections go to the open month").
- Reopening (the last closes, back to a month) is allowed to an operator with a reason, kept on
  the close row with who and when.

Concurrency: every writer of a dated entry takes a SHARE lock on the close table before it reads
the closed date, and holds it to its commit; a close takes SHARE ROW EXCLUSIVE, which waits for
those writers to commit and makes new ones wait for it. So an invoice issued while a close runs
is either committed before the close reads what is open, or sees the close. Writers do not wait
for each other (SHARE does not conflict with SHARE), unlike a row locked FOR UPDATE, which would
serialise every billing thread and payment import; and the lock exists before the first close,
when there is no row to lock. SQLite (development) runs one writer at a time: nothing to lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from billing.models import ClosedMonth, NumberClaim
from core import clock
from core.errors import ApplicationError

_TABLE = ClosedMonth._meta.db_table


def _lock(mode: str) -> None:
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_TABLE} IN {mode} MODE")  # constants: no input


def books_lock() -> None:
    """Hold the close off until the caller's transaction ends (module docstring)."""
    _lock("SHARE")


def closed_through() -> date | None:
    """The last day of the books' last closed month (None: nothing closed)."""
    month = ClosedMonth.objects.filter(reopened_at__isnull=True).aggregate(last=Max("month"))[
        "last"
    ]
    return _month_end(month) if month is not None else None


def first_open_day() -> date | None:
    through = closed_through()
    return through + timedelta(days=1) if through is not None else None


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _month_name(day: date) -> str:
    return formats.date_format(day, "F Y")


@dataclass(frozen=True)
class OpenBooks:
    """The books as a writer holding the lock sees them until its commit: no close can happen
    meanwhile, so one read serves every entry of a bank file or a billing chunk."""

    first_open: date | None

    def refusal(self, day: date, *, field: str | None = None) -> ApplicationError | None:
        """Why nothing can be dated `day` (None when its month is open)."""
        if self.first_open is None or day >= self.first_open:
            return None
        return ApplicationError(
            _("%(month)s is closed; record it on or after %(open)s.")
            % {"month": _month_name(day), "open": self.first_open.isoformat()},
            field=field,
        )

    def open_day(self, day: date) -> date:
        """The day an automated flow books what happened on `day`: that day, or the first open
        day when its month is closed."""
        return self.first_open if self.first_open is not None and day < self.first_open else day


def books_open() -> OpenBooks:
    """Take the lock (to the caller's commit) and read what is closed."""
    books_lock()
    return OpenBooks(first_open_day())


def closed_refusal(day: date, *, field: str | None = None) -> ApplicationError | None:
    """Why nothing can be dated `day` (None when its month is open). Takes the lock: call it in
    the transaction that writes."""
    return books_open().refusal(day, field=field)


def books_refuse_closed(day: date, *, field: str | None = None) -> None:
    """Refuse (ApplicationError) what a person dates in a closed month."""
    refusal = closed_refusal(day, field=field)
    if refusal is not None:
        raise refusal


def books_open_day(day: date) -> date:
    """The day an automated flow books what happened on `day`: that day, or the first open day
    when its month is closed. Takes the lock: call it in the transaction that writes."""
    return books_open().open_day(day)


def moved_note(original: date, booked: date) -> str:
    """What a moved entry says of its real date (appended to its reference)."""
    if original == booked:
        return ""
    return _("dated %(date)s, booked in the open month") % {"date": original.isoformat()}


def month_close(*, month: date, user: AbstractBaseUser | None) -> ClosedMonth:
    """Close the books through the end of `month` (any day of it). Returns the close (the one
    already covering it, when it is closed)."""
    month = month.replace(day=1)
    today = clock.today()
    if _month_end(month) >= today:
        raise ApplicationError(
            _("%(month)s is not over: it can be closed from %(day)s.")
            % {
                "month": _month_name(month),
                "day": (_month_end(month) + timedelta(days=1)).isoformat(),
            },
            field="month",
        )
    with transaction.atomic():
        # Waits for every issue or payment in flight to commit (module docstring).
        _lock("SHARE ROW EXCLUSIVE")
        covering = (
            ClosedMonth.objects.filter(reopened_at__isnull=True, month__gte=month)
            .order_by("-month")
            .first()
        )
        if covering is not None:
            return covering
        # The billing run's documents committed as drafts and waiting for their numbers are
        # issued on their date: the month holds until they are (billing/services/numbering.py).
        if NumberClaim.objects.filter(applied_at__isnull=True, day__lte=_month_end(month)).exists():
            raise ApplicationError(
                _(
                    "The billing run is still issuing documents dated in %(month)s: close it"
                    " once the run has finished."
                )
                % {"month": _month_name(month)},
                field="month",
            )
        return ClosedMonth.objects.create(
            month=month,
            # django-stubs types a foreign key to AUTH_USER_MODEL as the concrete User.
            closed_by=user if getattr(user, "pk", None) else None,  # type: ignore[misc]
        )


def month_reopen(*, month: date, user: AbstractBaseUser | None, reason: str) -> list[ClosedMonth]:
    """Reopen the books from `month` on: every close of that month or later is marked reopened
    (who, when, why) and no longer counts; the months before stay closed. Returns the closes
    reopened."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError(
            _("Say why the month is reopened: the reason is kept with the close."),
            field="reason",
        )
    month = month.replace(day=1)
    with transaction.atomic():
        _lock("SHARE ROW EXCLUSIVE")
        closes = list(
            ClosedMonth.objects.select_for_update().filter(
                reopened_at__isnull=True, month__gte=month
            )
        )
        if not closes:
            raise ApplicationError(
                _("%(month)s is not closed.") % {"month": _month_name(month)}, field="month"
            )
        earlier = (
            ClosedMonth.objects.filter(reopened_at__isnull=True, month__lt=month)
            .order_by("-month")
            .first()
        )
        now = timezone.now()
        for close in closes:
            close.reopened_at = now
            close.reopened_by = user if getattr(user, "pk", None) else None  # type: ignore[assignment]
            close.reopen_reason = reason[:300]
            close.save(update_fields=["reopened_at", "reopened_by", "reopen_reason"])
        # Closing M closed every month before it: those stay closed, now by a close of the
        # month just before `month`, so that reopening March leaves February closed.
        previous = _previous_month(month)
        if earlier is None or earlier.month < previous:
            ClosedMonth.objects.create(month=previous, closed_by=closes[0].closed_by)
        return closes


def _previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)
