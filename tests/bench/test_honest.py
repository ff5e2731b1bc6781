"""bench/honest.py at a small size: the run on D bills prorations, penalties and usage, and its
lines equal the services' own (the archetypes' previews, and copies played again through the
services)."""

import pytest
from django.db import connection

from bench import honest

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the copies are written in SQL")
def test_honest_data_bills_what_the_services_would():
    # given 60 subscriptions: 24 archetypes made through the services, copied to 60
    archetypes, ctx = honest.make_archetypes(24)
    mapping = honest.replicate(archetypes, 60, ctx)
    expected = honest.previews([a.subscription_id for a in archetypes])

    # when the nightly run bills D
    run = honest.run_day()

    # then every line kind the issue asks for is there, and nothing differs from the services
    report = honest.report()
    assert run.subscriptions == 60
    assert run.refused == {}
    assert {"recurring", "proration", "usage"} <= set(report["line_kinds_pct"])
    assert report["distinct_invoices_pct"] >= 40
    check = honest.verify(archetypes, ctx, mapping, expected, sample=12)
    assert check["copies_checked"] >= 9
    assert check["failures"] == []
