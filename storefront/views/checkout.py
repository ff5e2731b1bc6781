from django.http import Http404, HttpRequest, HttpResponse


def checkout(request: HttpRequest, grid: str, plan: str) -> HttpResponse:
    raise Http404


def review(request: HttpRequest, grid: str, plan: str) -> HttpResponse:
    raise Http404


def welcome(request: HttpRequest) -> HttpResponse:
    raise Http404


def verify(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404
