"""Page-number pagination for every list of the API: ?page=2&page_size=100 (at most 200).

Both parameters are whole numbers within their range, or the request is a 400 that says so:
DRF's own pagination silently fell back to 50 rows for `page_size=false` and clamped 5000 to
200, so a client never learned its request was not what it meant (schemathesis found it). A
page past the last one stays DRF's 404.
"""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

MAX_PAGE = 2**31 - 1


def _whole_number(request, name: str, maximum: int, message: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise ValidationError({name: [message]})
    return int(raw)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    last_page_strings = ()  # `page=last` is not a page number

    def get_page_size(self, request) -> int:
        size = _whole_number(
            request,
            self.page_size_query_param,
            self.max_page_size,
            _("The page size is a whole number from 1 to %(max)s.") % {"max": self.max_page_size},
        )
        return size or self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        _whole_number(
            request,
            self.page_query_param,
            MAX_PAGE,
            _("The page is a whole number from 1 to %(max)s.") % {"max": MAX_PAGE},
        )
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: (1, MAX_PAGE),
            self.page_size_query_param: (1, self.max_page_size),
        }
        for parameter in parameters:
            if parameter["name"] in bounds:
                low, high = bounds[parameter["name"]]
                parameter["schema"].update(minimum=low, maximum=high)
        return parameters
