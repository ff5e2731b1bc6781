"""The password reset of every portal's logins (Django's views, /accounts/password_reset/…, in the
portal's pages: templates/registration/password_reset_*.html).

- The email is written in the person's language: its customer's, or its partner's billing
  account's; anyone else (an operator) gets the language of the page that asked.
- Whether an address is known is never told: the same page follows every request (Django).
- A new password set through the emailed link lifts the account's lockout (django-axes): whoever
  holds the mailbox is the account's owner, and would otherwise wait out the lock.
"""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.utils import translation

from partners.selectors import partner_for_user
from subscriptions.selectors import customer_for_user


def user_language(user) -> str | None:
    """The language of the organisation the user belongs to (None: not known)."""
    customer = customer_for_user(user)
    if customer is None:
        partner = partner_for_user(user)
        customer = partner.account if partner is not None else None
    if customer is None or customer.locale[:2] not in dict(settings.LANGUAGES):
        return None
    return customer.locale[:2]


class PasswordResetForm(auth_forms.PasswordResetForm):
    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        language = user_language(context["user"]) or translation.get_language()
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response
