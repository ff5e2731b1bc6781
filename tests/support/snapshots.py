"""One snapshot of everything a refused change could touch, for every test that asserts a refusal
changes nothing.

Before, six test modules each kept their own `snapshot()`, and they drifted: one compared only
three row counts, another forgot devices, items, contracts and issues. A refusal that wrote to a
table a snapshot left out went unnoticed. This one takes every row, field by field, of every table
of the apps a sale, a change or an invoice writes to, so a table added to those apps is covered
without anyone remembering to list it here.
"""

import pytest
from django.apps import apps

from core.errors import ApplicationError

# The apps whose tables a refused change could touch: customers, devices, subscriptions and their
# seats, items, events, discounts, contracts, issues and credit entries (subscriptions); invoices,
# lines, taxes, payments, reminders and their events (billing); coupon codes and their times
# redeemed (catalog); partners and their customers (partners); idempotency keys and webhook
# deliveries (integrations). Auth and sessions are left out: a refused request may log a user in.
APPS = ("subscriptions", "billing", "catalog", "partners", "integrations")


def models():
    """Every model of APPS, the many-to-many tables included (a plan's bundles, a campaign's
    plans), in a fixed order."""
    found = []
    for label in APPS:
        found.extend(apps.get_app_config(label).get_models(include_auto_created=True))
    return sorted(found, key=lambda model: model._meta.label)


def snapshot() -> dict[str, list[dict]]:
    """Every row of every table of APPS, field by field: compare one taken before a refused change
    with one taken after, and any row written, changed or deleted shows in the difference."""
    # The base manager: a default manager that hides some rows (archived, say) would hide them
    # from the comparison too.
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values()) for model in models()
    }


def refused(call, message: str, field: str | None = None):
    """Call `call`, which must raise an ApplicationError whose message holds `message` (and names
    `field`, if given), and change nothing: a refusal that wrote a row before raising would leave
    it behind. Returns the error, for the checks a test adds."""
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        call()
    assert message in error.value.message, error.value.message
    if field is not None:
        assert error.value.field == field
    assert snapshot() == before, "a refusal changed something"
    return error.value
