"""Demo logins: an operator, partner users and customer users, all with one printed password."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from partners.models import Partner, PartnerUser
from subscriptions.models import Customer, CustomerUser

DEMO_PASSWORD = "cadence-demo"  # noqa: S105 - demo logins, printed on purpose
OPERATOR_APPS = [
    "catalog",
    "subscriptions",
    "billing",
    "payments",
    "partners",
    "integrations",  # webhook endpoints and deliveries, idempotency keys
    "authtoken",  # API tokens
    "django_celery_beat",
]
# Logins: operators create and edit users (not delete them); granting powers stays a
# superuser's (integrations.admin.OperatorUserAdmin).
OPERATOR_PERMISSIONS = [("auth", "add_user"), ("auth", "change_user"), ("auth", "view_user")]


def _user(username: str, email: str, first_name: str, last_name: str, *, staff: bool = False):
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model.objects.create_user(
            username,
            email=email,
            password=DEMO_PASSWORD,
            first_name=first_name,
            last_name=last_name,
            is_staff=staff,
        )
    return user


def seed_operator() -> list[tuple[str, str, str]]:
    group, _created = Group.objects.get_or_create(name="Operators")
    permissions = Permission.objects.filter(content_type__app_label__in=OPERATOR_APPS)
    for app_label, codename in OPERATOR_PERMISSIONS:
        permissions |= Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        )
    if set(group.permissions.all()) != set(permissions):
        group.permissions.set(permissions)
    operator = _user("operator", "operator@cadence.example", "Olivia", "Operator", staff=True)
    operator.groups.add(group)
    return [
        ("operator", "/admin/", "back office: catalog, subscriptions, invoices, webhooks, logins")
    ]


def seed_portal_logins() -> list[tuple[str, str, str]]:
    logins = []
    for username, code, first, last in (
        ("partner", "acme", "Paul", "Acme"),
        ("partner2", "nordic", "Nora", "Nordic"),
    ):
        partner = Partner.objects.get(code=code)
        user = _user(username, f"{username}@{code}.example", first, last)
        PartnerUser.objects.get_or_create(user=user, defaults={"partner": partner})
        logins.append((username, "/partners/", f"partner portal of {partner.name}"))
    for username, email, first, last in (
        ("customer", "billing@maple-hosting.example", "Mary", "Maple"),
        ("customer2", "compta@atelier-dupont.example", "Denis", "Dupont"),
        # Acme's customer: sees what Acme buys for it, read-only and without Acme's price.
        ("customer3", "factures@boulangerie-martin.example", "Bernard", "Martin"),
        # The paper by the issue, prepaid API credits and the metered API (issue 17's offers).
        ("customer4", "factures@studio-lumiere.example", "Lucie", "Lumière"),
    ):
        customer = Customer.objects.get(email=email)
        user = _user(username, f"{username}@{email.split('@')[1]}", first, last)
        CustomerUser.objects.get_or_create(user=user, defaults={"customer": customer})
        logins.append((username, "/account/", f"self-service of {customer.name}"))
    return logins


def served_url() -> str:
    """Where `make run` serves the pages: WEB_HOST and WEB_PORT, as the Procfile uses them (a
    server listening on every address is reached at 127.0.0.1)."""
    host = settings.WEB_HOST
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - read, not bound
        host = "127.0.0.1"
    return f"http://{host}:{settings.WEB_PORT}"
