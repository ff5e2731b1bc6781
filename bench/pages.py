"""Page timings at the benchmark's size: median and p95 over repeated requests, and the number
of queries each page makes. Prints one JSON line: the pages, and the subscriptions and invoice
lines present when they were measured (`make bench` measures them after bench.reports has padded
the database to a million invoice lines)."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import time

REPEAT = 20


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from demo.logins import seed_operator, seed_portal_logins
    from partners.models import Partner
    from subscriptions.models import Customer

    seed_operator()
    with contextlib.suppress(Exception):
        seed_portal_logins()
    users = get_user_model().objects
    operator = users.get(username="operator")
    partner_user = users.filter(partner_membership__partner__code="acme").first()
    acme = Partner.objects.get(code="acme")
    acme_customer = Customer.objects.filter(partner_link__partner=acme).order_by("pk").first()

    def url(name: str, *args) -> str | None:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            return None

    token = None
    try:
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=operator)
    except Exception:
        token = None

    pages = [
        ("admin: subscriptions", operator, url("admin:subscriptions_subscription_changelist"), {}),
        ("admin: invoices", operator, url("admin:billing_invoice_changelist"), {}),
        ("admin: invoice lines", operator, url("admin:billing_invoiceline_changelist"), {}),
        ("partner: customer list", partner_user, url("partners:customers"), {}),
        (
            "partner: customer page",
            partner_user,
            url("partners:customer", acme_customer.pk) if acme_customer else None,
            {},
        ),
        (
            "API: subscriptions",
            None,
            "/api/v1/subscriptions/",
            {"HTTP_AUTHORIZATION": f"Token {token.key}"} if token else None,
        ),
        (
            "API: invoices",
            None,
            "/api/v1/invoices/",
            {"HTTP_AUTHORIZATION": f"Token {token.key}"} if token else None,
        ),
    ]
    results = {}
    for title, user, path, headers in pages:
        if path is None or headers is None or (user is None and not title.startswith("API: ")):
            results[title] = {"status": "not available"}
            continue
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(path, **headers)
        if response.status_code != 200:
            results[title] = {"status": f"HTTP {response.status_code}", "path": path}
            continue
        client.get(path, **headers)  # warm
        timings = []
        with CaptureQueriesContext(connection) as queries:
            client.get(path, **headers)
        # Read now: the next request's request_started signal empties the connection's log.
        sql = [q["sql"].lower() for q in queries.captured_queries]
        for _ in range(REPEAT):
            started = time.perf_counter()
            client.get(path, **headers)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results[title] = {
            "path": path,
            "median_ms": statistics.median(timings),
            "p95_ms": timings[int(len(timings) * 0.95) - 1],
            "queries": len(sql),
            "count_queries": sum("count(" in q for q in sql),
        }
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM subscriptions_subscription")
        subscriptions = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM billing_invoiceline")
        invoice_lines = cursor.fetchone()[0]
    print(
        json.dumps(
            {"subscriptions": subscriptions, "invoice_lines": invoice_lines, "pages": results}
        )
    )


if __name__ == "__main__":
    main()
