from django.http import Http404, HttpRequest, HttpResponse


def open_link(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404
