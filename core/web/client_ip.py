"""The client's address, for the login lockout (django-axes: AXES_CLIENT_IP_CALLABLE).

Behind a reverse proxy every request comes from the proxy's address, so a lockout per account
and address would lock everyone out at once. With TRUSTED_PROXY_COUNT = N (the proxies in front
of the application that append to X-Forwarded-For), the client is the Nth address from the
right of that header — the one our own proxy saw; anything to its left is what the client
claims, and is never trusted. With 0 (the default), the header is ignored: REMOTE_ADDR.
"""

from __future__ import annotations

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote  # not through our proxies: the direct address
    candidate = forwarded[-proxies]
    try:
        return str(ip_address(candidate))
    except ValueError:
        return remote
