"""The admin and the catalog speak English and French."""

import os
import re
import shutil
import subprocess
import sys
from datetime import date

import polib
import pytest
from django.utils import translation

from billing.models import Invoice
from billing.services import billing_run, payment_record
from catalog.models import Plan
from core.errors import ApplicationError
from core.periods import Period, Unit, check_whole_multiple
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory
from tests.support.paths import PO


def test_the_admin_answers_in_french(operator_client, demo_catalog):
    response = operator_client.get("/admin/catalog/plan/", HTTP_ACCEPT_LANGUAGE="fr")
    html = response.content.decode()
    assert "Catalogue" in html and "Offres" in html
    assert "Hébergement A" in html  # the offer texts in French too


def test_the_admin_answers_in_english(operator_client, demo_catalog):
    html = operator_client.get("/admin/catalog/plan/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Catalog" in html and "Plans" in html and "Hosting A" in html


def test_the_language_selector_switches_the_admin(operator_client, demo_catalog):
    operator_client.post("/i18n/setlang/", {"language": "fr", "next": "/admin/"})
    assert "Grilles tarifaires" in operator_client.get("/admin/").content.decode()


def test_refusals_from_the_pure_core_are_translated():
    with translation.override("fr"), pytest.raises(ApplicationError) as refused:
        check_whole_multiple(
            Period(3, Unit.MONTH), Period(2, Unit.MONTH), outer_label="x", inner_label="y"
        )
    assert "3 mois" in refused.value.message and "multiple" in refused.value.message


def test_every_message_has_its_french_translation():
    catalogue = polib.pofile(str(PO))
    missing = [
        e.msgid
        for e in catalogue
        if e.msgid and not e.obsolete and (not e.translated() or "fuzzy" in e.flags)
    ]
    assert missing == []


def test_the_compiled_catalogue_is_up_to_date():
    catalogue = polib.pofile(str(PO))
    compiled = polib.mofile(str(PO.with_suffix(".mo")))
    expected = {
        (e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0)
        for e in catalogue
        if e.translated() and not e.obsolete
    }
    actual = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in compiled if e.msgid}
    assert actual == expected, "run `make messages` to compile locale/fr/LC_MESSAGES/django.mo"


def _columns(html: str) -> list[str]:
    """The changelist's column titles."""
    heads = re.findall(r'<th scope="col" class="[^"]*column-[^"]*"[^>]*>(.*?)</th>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", head).split()) for head in heads]


@pytest.fixture
def listed(demo_catalog, operator):
    """A row in each list below (the admin titles its columns only above rows): the demo
    catalog's plans and price sheets, a customer, and a payment on its first invoice."""
    services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="office-24m"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    billing_run(day=date(2026, 1, 1))
    payment_record(
        invoice=Invoice.objects.get(),
        amount="10.00",
        method="bank_transfer",
        received_on=date(2026, 1, 10),
        actor=operator,
    )


@pytest.mark.parametrize(
    ("url", "french", "english"),
    [
        ("/admin/catalog/plan/", {"Devise", "Période de facturation"}, {"Currency"}),
        ("/admin/catalog/pricesheet/", {"Devise"}, {"Currency"}),
        ("/admin/subscriptions/customer/", {"Devise", "Langue"}, {"Currency"}),
        ("/admin/billing/payment/", {"Enregistré par"}, {"Recorded by"}),
    ],
)
def test_the_admin_lists_title_their_columns_in_french(
    operator_client, listed, url, french, english
):
    columns = set(_columns(operator_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()))
    assert french <= columns and not english & columns
    columns = set(_columns(operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()))
    assert english <= columns


def test_the_plans_billing_periods_read_in_french(operator_client, demo_catalog):
    html = operator_client.get("/admin/catalog/plan/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'class="field-billing_period_display">mensuelle<' in html
    assert 'class="field-billing_period_display">trimestrielle<' in html
    assert ">monthly<" not in html and ">quarterly<" not in html
    english = operator_client.get("/admin/catalog/plan/", HTTP_ACCEPT_LANGUAGE="en")
    assert 'class="field-billing_period_display">quarterly<' in english.content.decode()


def test_every_translatable_string_of_the_code_has_its_french_translation(tmp_path):
    # The catalogue is only as complete as the last `make messages`: run it on a copy of the
    # sources, so that a message added to the code (Python or template) without its French
    # translation fails here rather than reaches a French page in English.
    root = PO.parents[3]
    source = tmp_path / "src"
    shutil.copytree(
        root,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", "var", ".git", "__pycache__", "*.pyc", ".*_cache", ".hypothesis", "*.egg-info"
        ),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-location", "--ignore=var"],
        cwd=source,
        env={
            **{k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ},
            "DEBUG": "true",
            "CADENCE_VAR_DIR": str(tmp_path / "var"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    regenerated = polib.pofile(str(source / PO.relative_to(root)))
    missing = [
        e.msgid
        for e in regenerated
        if e.msgid and not e.obsolete and (not e.translated() or "fuzzy" in e.flags)
    ]
    assert missing == [], "run `make messages` and translate these in " + str(PO)
