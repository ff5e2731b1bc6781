from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # billing writes the e-invoices but cannot read mandates and cards (they are above it):
        # payments tells it how each invoice is paid.
        from billing.einvoice.common import payment_means_source  # noqa: PLC0415
        from payments.einvoices import payment_means  # noqa: PLC0415

        payment_means_source(payment_means)
