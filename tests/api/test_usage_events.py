"""POST /api/v1/usage-events/ and GET /api/v1/subscriptions/{id}/usage/ (billing-rules §12)."""

from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Feature
from subscriptions.models import CustomerUser, UsageEvent
from tests.api.conftest import NOW
from tests.support.api import token_client
from tests.support.ingest import event, events, limited_plan, metered_plan, subscribe

URL = "/api/v1/usage-events/"
WHEN = datetime(2026, 11, 20, 10, 0, tzinfo=NOW.tzinfo)


@pytest.fixture
def metered(logins):
    """Dupont (direct) and the bakery (Acme's) each on a plan charging API calls."""
    plan = metered_plan()
    return {
        "dupont": subscribe(plan, logins.dupont, start=date(2026, 11, 1)),
        "bakery": subscribe(plan, logins.bakery, start=date(2026, 11, 1)),
    }


def test_one_event_is_recorded_and_its_retry_is_a_duplicate(api, logins, metered):
    body = event(logins.dupont, 1, when=WHEN, properties={"endpoint": "/v1/x"})
    first = api("operator").post(URL, body, format="json")
    assert first.status_code == 201, first.content
    assert first.json() == {
        "recorded": 1,
        "duplicates": 0,
        "events": [
            {
                "index": 0,
                "transaction_id": "tx-1",
                "status": "recorded",
                "subscription": metered["dupont"].pk,
            }
        ],
    }
    again = api("operator").post(URL, body, format="json")
    assert again.json()["events"][0]["status"] == "duplicate"
    assert (again.json()["recorded"], again.json()["duplicates"]) == (0, 1)
    assert UsageEvent.objects.count() == 1


def test_a_batch_is_recorded_whole(api, logins, metered):
    batch = events(logins.dupont, 1000, when=WHEN)
    answer = api("operator").post(URL, {"events": batch}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["recorded"] == 1000
    assert UsageEvent.objects.filter(subscription=metered["dupont"]).count() == 1000


def test_a_batch_holds_at_most_1000_events(api, logins, metered):
    batch = events(logins.dupont, 1001, when=WHEN)
    answer = api("operator").post(URL, {"events": batch}, format="json")
    assert answer.status_code == 400
    assert "1 to 1000" in answer.json()["events"][0]
    assert not UsageEvent.objects.exists()


def test_one_bad_event_refuses_the_batch_with_its_errors_by_index(api, logins, metered):
    batch = events(logins.dupont, 5, when=WHEN)
    batch[3]["timestamp"] = (NOW + timedelta(hours=1)).isoformat()
    batch[4]["code"] = ""
    answer = api("operator").post(URL, {"events": batch}, format="json")
    assert answer.status_code == 400
    errors = answer.json()["events"]
    assert set(errors) == {"3", "4"}
    assert list(errors["3"]) == ["timestamp"]
    assert list(errors["4"]) == ["code"]
    assert not UsageEvent.objects.exists()


def test_one_bad_event_alone_answers_its_field_errors(api, logins, metered):
    body = event(logins.dupont, 1, when=WHEN)
    del body["timestamp"]
    answer = api("operator").post(URL, {**body, "extra": 1}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"timestamp", "extra"}


def test_a_partner_records_for_its_customers_only(api, logins, metered):
    mine = api("partner").post(URL, event(logins.bakery, 1, when=WHEN), format="json")
    assert mine.status_code == 201
    assert mine.json()["events"][0]["subscription"] == metered["bakery"].pk
    theirs = api("partner").post(URL, event(logins.fjord, 2, when=WHEN), format="json")
    assert theirs.status_code == 400
    assert theirs.json() == {"customer": ["No customer with this id."]}
    direct = api("partner").post(URL, event(logins.dupont, 3, when=WHEN), format="json")
    assert direct.status_code == 400
    assert UsageEvent.objects.count() == 1


def test_a_customer_records_for_itself_only(api, logins, metered):
    mine = api("customer2").post(URL, event(logins.dupont, 1, when=WHEN), format="json")
    assert mine.status_code == 201
    other = api("customer2").post(URL, event(logins.bakery, 2, when=WHEN), format="json")
    assert other.status_code == 400
    assert other.json() == {"customer": ["No customer with this id."]}


def test_another_customers_subscription_is_refused(api, logins, metered):
    body = event(logins.dupont, 1, when=WHEN, subscription=metered["bakery"].pk)
    answer = api("operator").post(URL, body, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"subscription": ["This customer has no subscription with this id."]}


def test_a_hard_limit_answers_422_with_the_feature_and_the_limit(api, logins):
    plan, _feature = limited_plan(5, Feature.Enforcement.HARD)
    subscribe(plan, logins.dupont, start=date(2026, 11, 1))
    client = api("customer2")
    assert client.post(URL, {"events": events(logins.dupont, 4, when=WHEN)}, format="json")
    answer = client.post(
        URL, {"events": events(logins.dupont, 2, when=WHEN, first=10)}, format="json"
    )
    assert answer.status_code == 422
    body = answer.json()
    assert (body["feature"], body["limit"], body["used"]) == ("calls-hard", "5", "4")
    assert "calls-hard" in body["detail"]
    assert UsageEvent.objects.count() == 4


def test_an_idempotency_key_replays_the_answer(api, logins, metered):
    client = api("operator", HTTP_IDEMPOTENCY_KEY="usage-1")
    body = {"events": events(logins.dupont, 2, when=WHEN)}
    first = client.post(URL, body, format="json")
    replay = client.post(URL, body, format="json")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()


def test_the_usage_so_far_and_its_estimate(api, logins, metered):
    api("operator").post(URL, {"events": events(logins.dupont, 12, when=WHEN)}, format="json")
    answer = api("customer2").get(f"/api/v1/subscriptions/{metered['dupont'].pk}/usage/")
    assert answer.status_code == 200
    (line,) = answer.json()["metrics"]
    assert (line["metric"], line["quantity"], line["amount"], line["currency"]) == (
        "api_calls",
        "12",
        "0.00",
        "EUR",
    )
    assert (line["period_start"], line["period_end"]) == ("2026-11-01", "2026-12-01")


def test_a_partners_customer_sees_its_usage_but_not_the_partners_price(api, logins):
    # Given a subscription Acme sold the bakery (invoiced to Acme), and a login of the bakery
    plan = metered_plan()
    subscription = subscribe(plan, logins.bakery, start=date(2026, 11, 1))
    subscription.bill_to = logins.acme.account
    subscription.save(update_fields=["bill_to"])
    UsageEvent.objects.create(
        customer=logins.bakery,
        subscription=subscription,
        transaction_id="a",
        code="api_call",
        timestamp=WHEN,
        counted_at=WHEN,
        received_at=WHEN,
    )
    user = get_user_model().objects.create_user("baker")
    CustomerUser.objects.create(customer=logins.bakery, user=user)
    url = f"/api/v1/subscriptions/{subscription.pk}/usage/"
    assert api("partner").get(url).json()["metrics"][0]["amount"] == "0.00"
    (line,) = token_client(user).get(url).json()["metrics"]
    assert (line["quantity"], line["amount"]) == ("1", None)


def test_another_tenants_usage_is_not_found(api, logins, metered):
    answer = api("partner2").get(f"/api/v1/subscriptions/{metered['dupont'].pk}/usage/")
    assert answer.status_code == 404
