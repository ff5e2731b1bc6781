"""Property-based run against the OpenAPI schema (schemathesis 4): every operation, with the
demo data and an operator's token, must answer no 5xx and nothing that breaks the schema.

The schema is loaded from the WSGI application itself (no server). Each operation is one test
on the demo data (`seeded`), run through the schema's examples, boundary values (coverage) and
random inputs (fuzzing), valid and invalid. Random ids would only ever find 404s, so the hooks
below also draw ids and codes from the demo's real rows: the requests then reach the services.
Generation is deterministic (derandomized, no example database) and bounded: CI is stable and
the run takes about a minute.
"""

from datetime import date

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from billing.models import Invoice
from catalog.models import Bundle, Plan, ProductContract, Term
from partners.models import Partner
from subscriptions import services
from subscriptions.models import Customer, Subscription, SubscriptionContract

EXAMPLES_PER_OPERATION = 25
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
schema.config.generation.update(
    max_examples=EXAMPLES_PER_OPERATION, deterministic=True, database="none"
)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
schema.config.checks.update(included_check_names=CHECKS)

# Real ids and codes of the demo, filled by the fixture before any request is generated.
REAL: dict[str, list] = {}
RESOURCES = {
    "/api/v1/plans/": Plan,
    "/api/v1/bundles/": Bundle,
    "/api/v1/terms/": Term,
    "/api/v1/product-contracts/": ProductContract,
    "/api/v1/partners/": Partner,
    "/api/v1/customers/": Customer,
    "/api/v1/subscriptions/": Subscription,
    "/api/v1/invoices/": Invoice,
}
BODY_VALUES = {
    "customer": "customers",
    "plan": "plans",
    "seat_type": "seat_types",
    "code": "coupons",
    "start_date": "start_dates",
}


def _or_real(value, name: str):
    """The generated value, or one of the demo's (deterministic: part of the same draw)."""
    real = REAL.get(name)
    return st.one_of(st.just(value), st.sampled_from(real)) if real else st.just(value)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    path = context.operation.path
    resource = next((prefix for prefix in RESOURCES if path.startswith(prefix)), None)
    parts = {}
    if "id" in path_parameters and resource:
        parts["id"] = _or_real(path_parameters["id"], resource)
    if "contract_id" in path_parameters:
        parts["contract_id"] = _or_real(path_parameters["contract_id"], "contracts")
    if not parts:
        return st.just(path_parameters)
    return st.fixed_dictionaries(parts).map(lambda drawn: {**path_parameters, **drawn})


@schema.hook
def flatmap_body(context, body):
    if not isinstance(body, dict):
        return st.just(body)
    parts = {key: _or_real(body[key], name) for key, name in BODY_VALUES.items() if key in body}
    if isinstance(body.get("seats"), dict):
        parts["seats"] = st.one_of(
            st.just(body["seats"]),
            st.dictionaries(st.sampled_from(["gateway", "sensor"]), st.integers(0, 30)),
        )
    if not parts:
        return st.just(body)
    return st.fixed_dictionaries(parts).map(lambda drawn: {**body, **drawn})


@pytest.fixture
def in_process():
    """Requests go through the WSGI handler inside the test's transaction: keep its connection
    open between requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def operator_token(seeded, operator, in_process) -> str:
    office = Subscription.objects.get(plan__code="office-24m")
    services.subscription_contract_add(
        subscription=office,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
    )
    for prefix, model in RESOURCES.items():
        REAL[prefix] = sorted(model.objects.values_list("pk", flat=True))
    REAL["contracts"] = sorted(SubscriptionContract.objects.values_list("pk", flat=True))
    REAL["customers"] = REAL["/api/v1/customers/"]
    REAL["plans"] = sorted(Plan.objects.values_list("code", flat=True))
    REAL["seat_types"] = ["gateway", "sensor"]
    REAL["coupons"] = ["coupon_87", "coupon_88", "coupon_89"]
    REAL["start_dates"] = ["2026-01-01", "2026-11-22", "2026-12-01", "2027-02-28"]
    return Token.objects.get_or_create(user=operator)[0].key


@pytest.mark.django_db
@schema.parametrize()
# The demo data and the token are made once per operation and shared by its examples, on
# purpose: requests build on the rows earlier ones changed.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_keeps_its_schema_and_never_fails(case, operator_token):
    case.call_and_validate(headers={"Authorization": f"Token {operator_token}"})
