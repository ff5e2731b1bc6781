"""Sidebar filters for the admin's big lists that never read the table to build their options.

Django's defaults do: `date_hierarchy` asks for the MIN and MAX of the date over the whole table,
then for its DISTINCT days, months or years, and a filter on a column without choices
(AllValuesFieldListFilter) runs SELECT DISTINCT over every row — on each page view, before a
single row is shown. On a million invoice lines each of those reads the whole table. The
filters here take their options from what the code knows (the current date, the document
series, the catalog, the ISO countries), so a list's queries stay those of its one page.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable, Iterable
from typing import Any

from babel import Locale
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

Choices = Iterable[tuple[Any, str]]


class YearMonthFieldListFilter(admin.FieldListFilter):
    """A date column by year, then by month of the year chosen: what `date_hierarchy` offers,
    with the years counted from today rather than read from the rows.

    It keeps the date hierarchy's parameters (`<field>__year`, `<field>__month`), so its links
    and bookmarks still work, and filters by a range of the column (its index serves it).
    """

    years_before = 10  # ten years back: how long French accounting records are kept
    years_after = 0

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        self.field_generic = f"{field_path}__"
        self.lookup_kwarg_year = f"{field_path}__year"
        self.lookup_kwarg_month = f"{field_path}__month"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = _("%(field)s: year and month") % {"field": self.title}
        self.year = self._number(self.lookup_kwarg_year, 1, 9998)  # 9999 has no year after it
        self.month = self._number(self.lookup_kwarg_month, 1, 12)

    def _number(self, name: str, low: int, high: int) -> int | None:
        values = self.used_parameters.get(name)
        if not values:
            return None
        value = str(values[-1] if isinstance(values, list) else values)
        if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
            raise IncorrectLookupParameters(f"{name}={value}")
        return int(value)

    def expected_parameters(self) -> list[str | None]:
        return [self.lookup_kwarg_year, self.lookup_kwarg_month]

    def years(self) -> list[int]:
        this_year = timezone.localdate().year
        years = list(range(this_year + self.years_after, this_year - self.years_before - 1, -1))
        if self.year is not None and self.year not in years:
            years.append(self.year)  # a year further away, from a link or a bookmark
        return years

    def _bound(self, day: datetime.date) -> datetime.date | datetime.datetime:
        if isinstance(self.field, models.DateTimeField):
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        return day

    def condition(self, year: int, month: int | None = None) -> Q:
        """The rows of that year (or month) as a range of the column."""
        if month is None:
            start, end = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
        else:
            start = datetime.date(year, month, 1)
            end = start + datetime.timedelta(days=calendar.monthrange(year, month)[1])
        return Q(
            **{
                f"{self.field_path}__gte": self._bound(start),
                f"{self.field_path}__lt": self._bound(end),
            }
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.year is not None:
            return queryset.filter(self.condition(self.year, self.month))
        if self.month is not None:  # a month of every year, as the date hierarchy allows
            return queryset.filter(**{self.lookup_kwarg_month: self.month})
        return queryset

    def links(self) -> list[tuple[str, dict[str, str], Q]]:
        links = [
            (str(year), {self.lookup_kwarg_year: str(year)}, self.condition(year))
            for year in self.years()
        ]
        if self.year is not None:
            for month in range(1, 13):
                label = date_format(datetime.date(self.year, month, 1), "YEAR_MONTH_FORMAT")
                params = {
                    self.lookup_kwarg_year: str(self.year),
                    self.lookup_kwarg_month: str(month),
                }
                links.append((label, params, self.condition(self.year, month)))
        return links

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet) -> dict[str, Any]:
        return {
            f"{i}__c": Count(pk_attname, filter=condition)
            for i, (_label, _params, condition) in enumerate(self.links())
        }

    def choices(self, changelist):
        facets = self.get_facet_queryset(changelist) if changelist.add_facets else None
        yield {
            "selected": self.year is None and self.month is None,
            # Clears the other date filters of the column too: one way of choosing dates at once.
            "query_string": changelist.get_query_string(remove=[self.field_generic]),
            "display": _("All"),
        }
        for i, (label, params, _condition) in enumerate(self.links()):
            chosen = {self.lookup_kwarg_year: str(self.year)} if self.year else {}
            if self.month is not None:
                chosen[self.lookup_kwarg_month] = str(self.month)
            yield {
                "selected": chosen == params,
                "query_string": changelist.get_query_string(params, [self.field_generic]),
                "display": f"{label} ({facets[f'{i}__c']})" if facets else label,
            }


def year_month_filter(
    *, years_before: int = 10, years_after: int = 0
) -> type[YearMonthFieldListFilter]:
    """The filter for a column whose dates also lie ahead (renewals), or go back less far."""
    return type(
        "YearMonthFieldListFilter",
        (YearMonthFieldListFilter,),
        {"years_before": years_before, "years_after": years_after},
    )


class KnownValuesFieldListFilter(admin.FieldListFilter):
    """A column's values as the code knows them, instead of a SELECT DISTINCT over the table.

    `values` returns (value, label) pairs: constants, or a read of a small table (the catalog).
    A value outside them can still be asked for by its link, and then filters as usual.
    """

    values: Callable[[], Choices] = staticmethod(list)

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        self.lookup_kwarg = f"{field_path}__exact"
        super().__init__(field, request, params, model, model_admin, field_path)
        chosen = self.used_parameters.get(self.lookup_kwarg)
        self.lookup_val = (chosen[-1] if isinstance(chosen, list) else chosen) if chosen else None
        self.options = [(str(value), str(label)) for value, label in type(self).values()]

    def expected_parameters(self) -> list[str | None]:
        return [self.lookup_kwarg]

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet) -> dict[str, Any]:
        return {
            f"{i}__c": Count(pk_attname, filter=Q(**{self.lookup_kwarg: value}))
            for i, (value, _label) in enumerate(self.options)
        }

    def choices(self, changelist):
        facets = self.get_facet_queryset(changelist) if changelist.add_facets else None
        yield {
            "selected": self.lookup_val is None,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg]),
            "display": _("All"),
        }
        for i, (value, label) in enumerate(self.options):
            yield {
                "selected": self.lookup_val == value,
                "query_string": changelist.get_query_string({self.lookup_kwarg: value}),
                "display": f"{label} ({facets[f'{i}__c']})" if facets else label,
            }


def known_values_filter(values: Callable[[], Choices]) -> type[KnownValuesFieldListFilter]:
    """`list_filter = [("series", known_values_filter(lambda: ...))]`."""
    return type(
        "KnownValuesFieldListFilter",
        (KnownValuesFieldListFilter,),
        {"values": staticmethod(values)},
    )


# Codes of babel's territories that are no country (regions, groupings, "unknown").
_NOT_COUNTRIES = {"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"}


def country_options() -> list[tuple[str, str]]:
    """Every ISO 3166 country by its two-letter code, named and sorted in the current language."""
    language = (translation.get_language() or "en").replace("-", "_")
    try:
        names = Locale.parse(language).territories
    except (ValueError, TypeError):
        names = Locale.parse("en").territories
    countries = [
        (code, f"{name} ({code})")
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ]
    return sorted(countries, key=lambda country: country[1].casefold())
