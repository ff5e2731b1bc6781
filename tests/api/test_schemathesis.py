"""Property-based run against the OpenAPI schema (schemathesis 4): every operation, with the
API tests' tenants and an operator's token, must answer no 5xx and nothing that breaks the
schema, refuse every request the schema says is invalid (negative checks) and accept every
request it says is valid (positive checks) — unless a rule the schema cannot state refused it: a
row that does not exist, or a business rule (a 400 in the documented shape, never a format error;
see `refused_only_by_rules_the_schema_cannot_state`).

The schema is loaded from the WSGI application itself (no server). Each operation is one test
on the tenants of tests/api/conftest.py (partners, their customers and direct ones, their
subscriptions and invoices, built through the services), run through the schema's examples,
boundary values (coverage) and random inputs (fuzzing), valid and invalid. Random ids would only
ever find 404s, so the hooks below also draw ids and codes from those real rows: the requests
then reach the services. Generation is deterministic (derandomized, no example database) and
bounded: CI is stable and the run takes about a minute.
"""

import inspect
import re
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
from catalog.models import BillableMetric, Bundle, Plan, ProductContract, Term
from core.text import forbidden_character
from partners.models import Partner
from payments import services as payments_services
from payments.models import PaymentMethod, Refund
from subscriptions import services
from subscriptions.models import Customer, Subscription, SubscriptionContract

EXAMPLES_PER_OPERATION = 25
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "refused_only_by_rules_the_schema_cannot_state",
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
schema.config.generation.update(
    max_examples=EXAMPLES_PER_OPERATION, deterministic=True, database="none"
)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
schema.config.checks.update(included_check_names=CHECKS)
# A valid request may still be refused by a rule: a 400, checked below to be one.
# So may a valid Idempotency-Key: an earlier request of the run that succeeded with the same
# key (another id in the path, another body) holds it, a 422 the schema cannot state either
# (an operation that succeeds every time, such as making a payment method the default, meets it).
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "400",
    "422",
]


def _format_error_patterns() -> list[re.Pattern]:
    """Every message DRF's fields give for input of the wrong form (type, length, range,
    format, choice…), as patterns; "does not exist" is left out: the schema cannot know the
    rows. With the API's own: forbidden characters, Idempotency-Key, page, query parameters."""
    import rest_framework.fields
    import rest_framework.relations

    messages = {
        message
        for module in (rest_framework.fields, rest_framework.relations)
        for _name, field in inspect.getmembers(module, inspect.isclass)
        if issubclass(field, rest_framework.fields.Field)
        for klass in field.__mro__
        for key, message in vars(klass).get("default_error_messages", {}).items()
        if key != "does_not_exist"
    }
    messages |= {
        "Remove the invisible or control character {c}: it cannot be stored or printed.",
        "An Idempotency-Key is 1 to 255 visible ASCII characters.",
        "The page size is a whole number from 1 to {max}.",
        "The page is a whole number from 1 to {max}.",
        "This operation takes no parameter of this name.",
        "Give this parameter a value, or leave it out.",
        "JSON parse error - {error}",
    }
    patterns = []
    for message in messages:
        parts = re.split(r"\{[^}]*\}|%\([^)]*\)[sd]", str(message))
        patterns.append(re.compile(".*".join(re.escape(part) for part in parts), re.S))
    return patterns


FORMAT_ERRORS = _format_error_patterns()


def _messages(errors) -> list[str]:
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _messages(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _messages(value)]
    return []


@schemathesis.check
def refused_only_by_rules_the_schema_cannot_state(ctx, response, case):
    """A request the schema says is valid, answered 400: no message of the answer may be a
    format error (the schema would then be missing a constraint the API enforces)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code != 400:
        return None
    format_errors = [
        message
        for message in _messages(response.json())
        if any(pattern.fullmatch(message) for pattern in FORMAT_ERRORS)
    ]
    if format_errors:
        raise AssertionError(
            f"A schema-valid request was refused for its form, which the schema does not "
            f"say: {format_errors}"
        )
    return None


IBANS = ["FR7630006000011234567890189", "DE89 3704 0044 0532 0130 00"]
# Real ids and codes of the tenants, filled by the fixture before any request is generated.
REAL: dict[str, list] = {}
RESOURCES = {
    "/api/v1/plans/": Plan,
    "/api/v1/bundles/": Bundle,
    "/api/v1/terms/": Term,
    "/api/v1/product-contracts/": ProductContract,
    "/api/v1/billable-metrics/": BillableMetric,
    "/api/v1/partners/": Partner,
    "/api/v1/customers/": Customer,
    "/api/v1/subscriptions/": Subscription,
    "/api/v1/invoices/": Invoice,
    "/api/v1/payment-methods/": PaymentMethod,
    "/api/v1/refunds/": Refund,
}
BODY_VALUES = {
    "customer": "customers",
    "plan": "plans",
    "seat_type": "seat_types",
    "code": "coupons",
    "start_date": "start_dates",
    "iban": "ibans",
}


def _well_formed(value, like) -> bool:
    """Whether `value` has the form of the real `like`: only then may a real value replace it
    (a value drawn to break the schema stays, or the negative checks would test nothing)."""
    if type(value) is not type(like):
        return False
    if isinstance(value, int):
        return value >= 1
    if forbidden_character(value) is not None:
        return False
    if isinstance(like, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", like):
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
    return True


def _or_real(value, name: str):
    """The generated value, or a real one (deterministic: part of the same draw)."""
    real = REAL.get(name)
    if not real or not _well_formed(value, real[0]):
        return st.just(value)
    return st.one_of(st.just(value), st.sampled_from(real))


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
def operator_token(tenants, operator, in_process) -> str:
    office = Subscription.objects.get(plan__code="office-24m")
    services.subscription_contract_add(
        subscription=office,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
    )
    # A mandate and a refund (of the paid invoice, to credit), so that their operations reach
    # the services.
    payments_services.sepa_mandate_add(
        customer=Customer.objects.get(name="Atelier Dupont"),
        account_holder="Atelier Dupont",
        iban=IBANS[0],
        accepted=True,
        today=date(2026, 11, 22),
    )
    payments_services.refund_create(
        invoice=Invoice.objects.get(status="paid"),
        amount="10.00",
        reason="Goodwill",
        via="credit",
        day=date(2026, 11, 22),
    )
    for prefix, model in RESOURCES.items():
        REAL[prefix] = sorted(model.objects.values_list("pk", flat=True))
    REAL["contracts"] = sorted(SubscriptionContract.objects.values_list("pk", flat=True))
    REAL["customers"] = REAL["/api/v1/customers/"]
    REAL["plans"] = sorted(Plan.objects.values_list("code", flat=True))
    REAL["seat_types"] = ["gateway", "sensor"]
    REAL["coupons"] = ["coupon_87", "coupon_88", "coupon_89"]
    REAL["ibans"] = IBANS
    REAL["start_dates"] = ["2026-01-01", "2026-11-22", "2026-12-01", "2027-02-28"]
    return Token.objects.get_or_create(user=operator)[0].key


@pytest.mark.django_db
@schema.parametrize()
# The tenants and the token are made once per operation and shared by its examples, on
# purpose: requests build on the rows earlier ones changed.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_keeps_its_schema_and_never_fails(case, operator_token):
    # On the case itself, not at the call: the checks then see the request as sent.
    case.headers = {**(case.headers or {}), "Authorization": f"Token {operator_token}"}
    case.call_and_validate()
