"""The portal and the self-service pages speak French and English, every string of them."""

import re

import polib
import pytest
from django.urls import reverse

from tests.account.conftest import maple, maple_client  # noqa: F401 - fixtures
from tests.catalog.test_i18n import PO

pytestmark = pytest.mark.django_db


def test_the_partner_portal_answers_in_french(partner_client, bakery):
    page = partner_client.get(reverse("partners:customers"), HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode()
    assert '<html lang="fr">' in html
    assert "Vos clients" in html and "Se déconnecter" in html and "Your customers" not in html
    english = partner_client.get(reverse("partners:customers"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Your customers" in english.content.decode()


def test_the_self_service_pages_answer_in_french(maple_client):  # noqa: F811
    html = maple_client.get(reverse("account:subscriptions"), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Vos abonnements" in html.content.decode()


def test_every_template_string_is_in_the_french_catalogue():
    # makemessages is a developer's step: this catches a template changed without it.
    catalogue = {e.msgid for e in polib.pofile(str(PO)) if e.translated()}
    root = PO.parents[3] / "templates"
    tag = re.compile(r"""\{%\s*translate\s+"([^"]+)"[^%]*%\}""")
    missing = {
        (path.relative_to(root).as_posix(), msgid)
        for path in root.rglob("*.html")
        for msgid in tag.findall(path.read_text())
        if msgid not in catalogue
    }
    assert missing == set()
