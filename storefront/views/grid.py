from django.http import Http404, HttpRequest, HttpResponse


def grid_index(request: HttpRequest) -> HttpResponse:
    raise Http404


def grid_page(request: HttpRequest, grid: str) -> HttpResponse:
    raise Http404


def grid_embed(request: HttpRequest, grid: str) -> HttpResponse:
    raise Http404
