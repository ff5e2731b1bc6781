"""`{% load reports_charts %}`: `{{ chart|chart_title }}`, the title a chart of reports/charts.py
carries (its SVG <title>, already escaped there), shown above it in the report pages."""

import re

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


@register.filter
def chart_title(svg: str) -> SafeString:
    match = TITLE.search(str(svg))
    # The text was escaped by reports/charts.py when it wrote the SVG: shown as it is.
    return mark_safe(match[1] if match else "")  # noqa: S308 - escaped by charts.py
